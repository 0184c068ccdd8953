"""uvicorn as ``runproxy --server uvicorn`` runs it: a response's head leaves with its first body bytes.

uvicorn writes the status line and headers to the socket as soon as the app sends
``http.response.start``, and each body message in a write of its own: two ``send`` calls for
every response, the smallest JSON answer and a stream's first token alike. On loopback each
``send`` also runs the receiver's side of TCP and wakes the client, which on a busy host is
scheduled right away, in the middle of the proxy's turn. Measured on this project's machine
(``bench/``, tokens 20 ms apart): the head's write took ~320 µs of a first token's way out, the
body's ~150 µs; with both in one write, one (A/B together with the lean handler's changes: paced-token
first-token overhead 2.42 → 2.05 ms at c = 1). Daphne's transport already does the same
(``daphne_tuning.CoalescingServer``).

Written and measured against uvicorn 0.54.0 (its httptools protocol, which runproxy selects). It
replaces uvicorn's request/response cycle class through a module global and wraps the cycle's
``transport`` attribute: ``COALESCING_CYCLE`` lists what that relies on, ``install`` leaves the
patch out with a warning when it no longer fits, and ``tests/server`` fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl

from llmproxy_site.server.internals import Internal, Patch


class _HeadWithBody:
    """The cycle's transport, holding back what is written between ``hold`` and ``flush``."""

    __slots__ = ("_transport", "_held")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] | None = None

    def hold(self) -> None:
        self._held = []

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._transport.write(data)
        else:
            self._held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held:
            self._transport.write(b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingCycle(httptools_impl.RequestResponseCycle):
    """A request/response cycle whose response head goes out in one write with the first body
    message, if that is sent in the same event-loop turn (as Django sends a plain response, and
    the proxy a stream, whose first event is at hand when the head is sent); otherwise the head
    goes out at the end of the turn, as it would have."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transport = _HeadWithBody(self.transport)  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        transport: _HeadWithBody = self.transport  # type: ignore[assignment]
        if message["type"] == "http.response.start" and not self.response_started:
            transport.hold()
            asyncio.get_running_loop().call_soon(transport.flush)
            await super().send(message)
        else:
            await super().send(message)
            transport.flush()


COALESCING_CYCLE = Patch("uvicorn_tuning.CoalescingCycle", (
    Internal(httptools_impl, "RequestResponseCycle"),
    # the protocol names the class as a module global, looked up for each request
    Internal(httptools_impl.HttpToolsProtocol, "on_headers_complete", uses=("RequestResponseCycle",)),
    Internal(httptools_impl.RequestResponseCycle, "__init__", parameters=("transport",),
             uses=("transport", "response_started")),
    Internal(httptools_impl.RequestResponseCycle, "send", parameters=("message",),
             uses=("response_started", "transport", "write", "close")),
))


def install() -> None:
    """Make uvicorn's httptools protocol build the cycle above, if it fits the installed uvicorn."""
    if COALESCING_CYCLE.fits():
        httptools_impl.RequestResponseCycle = CoalescingCycle  # type: ignore[misc]
