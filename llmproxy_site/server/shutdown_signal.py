"""How a request tells the server stopping from its client leaving: both cancel its task, the first
with a message. Standard library only: the request path imports it without the servers' modules."""

from __future__ import annotations

import asyncio

# The cancellation message of a request cancelled because the server is stopping (graceful.py), and
# uvicorn's, when its ``timeout_graceful_shutdown`` (runproxy sets SHUTDOWN_GRACE_SECONDS) runs out.
SHUTDOWN_MESSAGE = "server shutdown"
UVICORN_SHUTDOWN_MESSAGE = "Task cancelled, timeout graceful shutdown exceeded"


def cancelled_by_shutdown(exc: BaseException) -> bool:
    """Whether a request's ``CancelledError`` comes from the server stopping (either server), not its
    client leaving (the client-disconnect cancellations carry no message)."""
    return isinstance(exc, asyncio.CancelledError) and exc.args[:1] in ((SHUTDOWN_MESSAGE,), (UVICORN_SHUTDOWN_MESSAGE,))
