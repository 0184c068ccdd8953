"""A lean Django ASGI handler for the hot client-protocol paths, and the path split.

Django's stock ``ASGIHandler`` costs each request, besides the middleware chain:

* a ``ThreadSensitiveContext``, which gives the request its own executor thread the first
  time anything runs ``sync_to_async`` (thread start and shutdown per request), and
* ``request_started`` / ``request_finished`` signals whose receivers (query log reset, stale
  DB-connection cleanup) are synchronous, so each is another thread hop.

The client-protocol views are async end to end and never touch the database on the event
loop's thread (the rare cache reloads go through asgiref's shared thread, whose connection
is long-lived), so none of that buys them anything. This handler keeps Django's URL routing,
views, response sending and client-disconnect cancellation, and drops the rest. Measured in
``bench/``: it removes most of the per-request CPU that is Django's rather than ours.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix

LEAN_PREFIXES = ("/v1/", "/v1beta/", "/anthropic/", "/healthz", "/metrics")


class LeanASGIHandler(ASGIHandler):
    """Django's ASGI handler with no middleware, no per-request thread context and no signals."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"the lean handler serves HTTP only, not {scope['type']}")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return

        async def process_request() -> Any:
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while the response was being sent
            return response

        # As Django does: a client disconnect cancels the view (and so a streaming upstream call).
        listener = asyncio.create_task(wait_for_disconnect(receive))
        worker = asyncio.create_task(process_request())
        try:
            await asyncio.wait([listener, worker], return_when=asyncio.FIRST_COMPLETED)
            if worker.done():
                # Not awaited: awaiting a cancelled task re-raises its CancelledError here, and that
                # exception's traceback would tie this frame and its request into a reference cycle.
                listener.cancel()
                worker.result().close()
            else:
                worker.cancel()
                try:
                    await worker
                except asyncio.CancelledError:
                    pass
        finally:
            body_file.close()


async def wait_for_disconnect(receive: Any) -> None:
    """Return when the client disconnects.

    Django's ``listen_for_disconnect`` raises ``RequestAborted`` instead, which is re-raised where
    the task's result is read: the traceback then holds the handler's frame, whose locals hold the
    task, which holds the exception. ~50 objects a request (request, response, body file, tasks)
    were left for the cyclic GC that way, and its passes cost more than the rest of the handler."""
    while (await receive())["type"] != "http.disconnect":
        pass


class PathSplitter:
    """Send lean paths to one ASGI app and the rest to another."""

    def __init__(self, *, lean: Any, full: Any) -> None:
        self.lean = lean
        self.full = full

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.lean if scope.get("path", "").startswith(LEAN_PREFIXES) else self.full
        await app(scope, receive, send)
