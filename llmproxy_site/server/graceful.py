"""Graceful shutdown for runproxy's Daphne: the requests in flight finish, new connections are refused.

Daphne stops on SIGTERM or SIGINT at once: Twisted stops the reactor, and Daphne cancels every
application instance on the way out, so a stream in flight is cut off mid-body. Here the first
signal begins a shutdown instead:

1. the listening sockets are closed, so new connections are refused (under ``--workers`` the
   supervisor closes its copies first: see ``workers.py``);
2. the HTTP requests in flight get up to ``grace_seconds`` to finish;
3. the ones still running then are cancelled, with ``SHUTDOWN_MESSAGE``, and get
   ``WRAP_UP_SECONDS`` to end their responses; then the reactor stops as Daphne's would.

The usage records of every request are written after that, at interpreter exit
(``usage_app.recorder``, bounded by ``USAGE_SHUTDOWN_FLUSH_SECONDS``). A second signal of the same
kind (Ctrl-C twice) stops at once. Websocket connections (the live inspector) are not waited for.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from daphne.http_protocol import WebRequest

from llmproxy_site.server.shutdown_signal import SHUTDOWN_MESSAGE

logger = logging.getLogger("llmproxy.server")

WRAP_UP_SECONDS = 2.0
POLL_SECONDS = 0.1


class GracefulShutdown:
    """A mixin for ``daphne.server.Server``: SIGTERM / SIGINT drain the server instead of stopping it."""

    grace_seconds = 30.0
    connections: dict[Any, dict[str, Any]]  # Daphne's: protocol -> its application instance, …

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listening_ports: list[Any] = []
        self.shutdown_signal: int | None = None
        self.deadline = 0.0
        self.cancelled = False

    def run(self) -> None:
        reactor = twisted_reactor()
        reactor.callWhenRunning(self.install_signal_handlers)  # after Twisted has installed its own
        super().run()  # type: ignore[misc]

    def listen_success(self, port: Any) -> None:
        super().listen_success(port)  # type: ignore[misc]
        self.listening_ports.append(port)

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, _frame: Any) -> None:
        reactor = twisted_reactor()
        reactor.callFromThread(self.begin_shutdown, signum)  # the signal-safe way into the reactor

    def begin_shutdown(self, signum: int) -> None:
        reactor = twisted_reactor()
        if self.shutdown_signal is not None:
            if signum == self.shutdown_signal and reactor.running:
                logger.warning("second %s: stopping now", signal.Signals(signum).name)
                reactor.stop()
            return
        self.shutdown_signal = signum
        self.deadline = time.monotonic() + self.grace_seconds
        for port in self.listening_ports:
            port.stopListening()
        running = self.requests_in_flight()
        if running:
            logger.warning("shutting down: no new connections; %d request(s) in flight get up to %.0f s to finish",
                           len(running), self.grace_seconds)
        self.wait_for_requests()

    def requests_in_flight(self) -> list[Any]:
        """The application instances of HTTP requests still running (not websockets)."""
        return [details["application_instance"] for protocol, details in self.connections.items()
                if isinstance(protocol, WebRequest) and "application_instance" in details
                and not details["application_instance"].done()]

    def wait_for_requests(self) -> None:
        reactor = twisted_reactor()
        running = self.requests_in_flight()
        now = time.monotonic()
        if not running or (self.cancelled and now >= self.deadline):
            if reactor.running:
                reactor.stop()
            return
        if now >= self.deadline:
            logger.warning("%d request(s) still running after the %.0f s grace period: ending them",
                           len(running), self.grace_seconds)
            for task in running:
                task.cancel(SHUTDOWN_MESSAGE)
            self.cancelled = True
            self.deadline = now + WRAP_UP_SECONDS
        reactor.callLater(POLL_SECONDS, self.wait_for_requests)


def twisted_reactor() -> Any:
    """The installed reactor (imported when used: ``llmproxy_site.server.reactor`` installs it first)."""
    from twisted.internet import reactor

    return reactor


def graceful(server_class: type, *, grace_seconds: float) -> type:
    """``server_class`` (Daphne's ``Server`` or a subclass of it) with the graceful shutdown above."""
    return type(f"Graceful{server_class.__name__}", (GracefulShutdown, server_class), {"grace_seconds": grace_seconds})
