"""Cooldown and invalid marks of backend keys, shared across processes when Redis is configured.

Keys are identified by a fingerprint (a SHA-256 prefix), never by their text. Each process
keeps a local view that answers availability checks without I/O; with ``REDIS_URL`` the
marks are also written to Redis and the local view re-reads a backend's marks at most once
per ``SHARED_REFRESH_SECONDS``. (Django's cache API would do the same job, but its Redis
backend runs every async call in a worker thread, which costs more than a request's routing.)

When Redis is unreachable the local view carries on alone: marks are kept and honoured in this
process, Redis is not waited on again until it is due for a retry (``core.outage``), and the
outage is logged once, its end too.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from proxy_app.core.outage import redis_outage

SHARED_REFRESH_SECONDS = 1.0
_PREFIX = "llmproxy:keystate"
MEANWHILE = "key cooldowns and invalid keys are tracked in each process until it is back"


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class _BackendMarks:
    cooling: dict[tuple[str, str], float] = field(default_factory=dict)  # (fingerprint, model) -> until
    invalid: set[str] = field(default_factory=set)
    refreshed_at: float = 0.0


class KeyStateStore:
    """Process-wide key marks; optionally mirrored in Redis."""

    def __init__(self, redis_url: str = "") -> None:
        self.redis_url = redis_url
        self._marks: dict[str, _BackendMarks] = {}
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object] = weakref.WeakKeyDictionary()

    def _redis(self) -> Any:
        """This loop's Redis client; None without Redis, or while it is down and not due for a retry."""
        if not self.redis_url or not redis_outage().should_try():
            return None
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import redis.asyncio as redis

            client = redis.Redis.from_url(self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._clients[loop] = client
        return client

    def marks(self, backend: str) -> _BackendMarks:
        found = self._marks.get(backend)
        if found is None:
            found = self._marks[backend] = _BackendMarks()
        return found

    # -- reads (no I/O) ---------------------------------------------------------

    def cooling_until(self, backend: str, fingerprint: str, model: str) -> float | None:
        until = self.marks(backend).cooling.get((fingerprint, model))
        return until if until is not None and until > time.time() else None

    def is_invalid(self, backend: str, fingerprint: str) -> bool:
        return fingerprint in self.marks(backend).invalid

    # -- writes ------------------------------------------------------------------

    async def cool_down(self, backend: str, fingerprint: str, model: str, seconds: float) -> None:
        until = time.time() + seconds
        self.marks(backend).cooling[(fingerprint, model)] = until
        client = self._redis()
        if client is not None:
            try:
                await client.set(f"{_PREFIX}:cool:{backend}:{fingerprint}:{model}", str(until),
                                 px=max(1, int(seconds * 1000)))
            except Exception as exc:
                redis_outage().failed(exc, MEANWHILE)
            else:
                redis_outage().recovered()

    async def mark_invalid(self, backend: str, fingerprint: str) -> None:
        self.marks(backend).invalid.add(fingerprint)
        client = self._redis()
        if client is not None:
            try:
                await client.sadd(f"{_PREFIX}:invalid:{backend}", fingerprint)
            except Exception as exc:
                redis_outage().failed(exc, MEANWHILE)
            else:
                redis_outage().recovered()

    def clear(self, backend: str | None = None) -> int:
        """Forget every mark (of one backend), here and in Redis: the operator's 'clear key
        state' action. Synchronous, for management commands, the admin and tests.
        Returns how many shared entries were removed."""
        for name in [backend] if backend else list(self._marks):
            self._marks.pop(name, None)
        if not self.redis_url:
            return 0
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        try:
            names = [n for pattern in (f"{_PREFIX}:cool:{backend}:*", f"{_PREFIX}:invalid:{backend}")
                     for n in client.scan_iter(match=pattern)] if backend else list(client.scan_iter(f"{_PREFIX}:*"))
            return client.delete(*names) if names else 0
        finally:
            client.close()

    async def refresh(self, backend: str, fingerprints: list[str]) -> None:
        """Merge other processes' marks for ``backend`` (at most once per refresh interval)."""
        marks = self.marks(backend)
        now = time.monotonic()
        if not self.redis_url or now - marks.refreshed_at < SHARED_REFRESH_SECONDS:
            return
        marks.refreshed_at = now
        client = self._redis()
        if client is None:
            return
        try:
            names = [name async for name in client.scan_iter(match=f"{_PREFIX}:cool:{backend}:*", count=500)]
            values = await client.mget(names) if names else []
            invalid = await client.smembers(f"{_PREFIX}:invalid:{backend}")
        except Exception as exc:
            redis_outage().failed(exc, MEANWHILE)
            return
        redis_outage().recovered()
        for name, value in zip(names, values, strict=True):
            if value is None:
                continue
            _, _, fingerprint, model = _split(name.decode())
            until = float(value)
            current = marks.cooling.get((fingerprint, model), 0.0)
            marks.cooling[(fingerprint, model)] = max(current, until)
        marks.invalid |= {m.decode() for m in invalid}


def _split(name: str) -> tuple[str, str, str, str]:
    """``llmproxy:keystate:cool:<backend>:<fingerprint>:<model>`` -> parts (the model may hold colons)."""
    rest = name[len(_PREFIX) + len(":cool:"):]
    backend, fingerprint, model = rest.split(":", 2)
    return "cool", backend, fingerprint, model


_store: KeyStateStore | None = None


def key_state() -> KeyStateStore:
    global _store
    if _store is None or _store.redis_url != settings.REDIS_URL:
        _store = KeyStateStore(settings.REDIS_URL)
    return _store
