"""The state of a service the proxy keeps working without (the database for usage records, Redis).

An outage is logged when it starts and when it ends, however many requests meet it meanwhile: a
warning per request would bury everything else in the log exactly when an operator reads it. While
the service is down, callers ask ``should_try()`` before using it, so that a dead service costs a
request nothing until the next retry is due.
"""

from __future__ import annotations

import logging
import threading
import time


def first_line(exc: BaseException) -> str:
    """An exception's first line: drivers add hints on further lines ("Is the server running…")."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Outage:
    """Up or down, for one service; thread-safe (the usage writer is a thread, requests are on the loop)."""

    def __init__(self, service: str, logger: logging.Logger, *, retry_seconds: float = 0.0) -> None:
        self.service = service
        self.logger = logger
        self.retry_seconds = retry_seconds
        self.down_since: float | None = None
        self.failures = 0  # during the current outage
        self._next_try = 0.0
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def should_try(self) -> bool:
        """True while the service is up, and when down once ``retry_seconds`` have passed since the last try."""
        if self.down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_try:
                return False
            self._next_try = now + self.retry_seconds
            return True

    def failed(self, exc: BaseException, meanwhile: str) -> None:
        """The service failed a call; ``meanwhile`` says what the proxy does instead (logged once)."""
        with self._lock:
            self.failures += 1
            self._next_try = time.monotonic() + self.retry_seconds
            if self.down_since is not None:
                self.logger.debug("%s still unreachable (%s)", self.service, first_line(exc))
                return
            self.down_since = time.monotonic()
        self.logger.warning("%s unreachable (%s): %s", self.service, first_line(exc), meanwhile)

    def recovered(self, detail: str = "") -> None:
        """The service answered again (logged once, when it had been down)."""
        with self._lock:
            since, self.down_since = self.down_since, None
            failures, self.failures = self.failures, 0
        if since is not None:
            self.logger.warning("%s reachable again after %.1f s (%d failed attempt(s))%s", self.service,
                                time.monotonic() - since, failures, detail)


# How often an unreachable Redis is tried again (by one call; the others use local state meanwhile).
REDIS_RETRY_SECONDS = 2.0
_redis = Outage("Redis", logging.getLogger("llmproxy.redis"), retry_seconds=REDIS_RETRY_SECONDS)


def redis_outage() -> Outage:
    """The state of Redis for every user of it in this process (cache, key cooldowns): one outage,
    logged once, tried again by one call at a time."""
    return _redis
