"""A lean Django ASGI handler for the hot client-protocol paths, and the path split.

Django's stock ``ASGIHandler`` costs each request, besides the middleware chain:

* a ``ThreadSensitiveContext``, which gives the request its own executor thread the first
  time anything runs ``sync_to_async`` (thread start and shutdown per request), and
* ``request_started`` / ``request_finished`` signals whose receivers (query log reset, stale
  DB-connection and cache cleanup) are synchronous, so each is another thread hop,
* a task of its own for the view, and the layers of ``get_response_async`` that only
  middleware, sync views and template responses need.

The client-protocol views are async end to end and never touch the database on the event
loop's thread (the rare cache reloads go through asgiref's shared thread, whose connection
is long-lived), so none of that buys them anything. This handler keeps Django's URL routing
(resolved once per path), views, error responses, response sending and client-disconnect
cancellation, and drops the rest. Measured in ``bench/`` (A/B, c = 1, tokens 20 ms apart): with
the view in the request's own task, the lean ``run_get_response``, cached resolution and no
``request_finished``, the paced-token first-token overhead went 2.71 → 2.01 ms on Daphne and
2.42 → 2.05 ms on uvicorn, the request's way in 1.79 → 1.24 ms (Daphne); stock Django answers a
constant at a p50 of 1.67 ms at c = 1 on Daphne, mostly its thread hops.

Written and tested against Django 5.2.19. It overrides ``ASGIHandler``'s request path and calls
undocumented parts of Django's handlers, listed in ``LEAN_HANDLER``; ``tests/server`` fails when
an upgrade changes them. There is no unpatched behaviour to fall back to at start-up (the full
stack's CSRF middleware would refuse the API's POSTs), so only the test guards it.
"""

from __future__ import annotations

import asyncio
import functools
import io
from typing import Any

import django.core.handlers.asgi
import django.core.handlers.exception
import django.utils.log
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponseBase
from django.urls import ResolverMatch, URLResolver, get_resolver, set_script_prefix
from django.utils.log import log_response

from llmproxy_site.server.internals import Internal, Patch

LEAN_PREFIXES = ("/v1/", "/v1beta/", "/anthropic/", "/healthz", "/metrics")
CACHED_PATH_MAX = 200


class LeanASGIHandler(ASGIHandler):
    """Django's ASGI handler with no middleware, no per-request thread context and no signals."""

    def load_middleware(self, is_async: bool = False) -> None:
        """No middleware, and no chain for Django's ``get_response`` to run: ``run_get_response``
        below is the whole request path (``ASGIHandler.__init__`` calls this instead of loading
        ``settings.MIDDLEWARE``)."""
        self._middleware_chain = None

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        """Django's ``get_response_async`` for what the lean paths are: async views, no middleware.

        Resolve, call the view, turn an exception into Django's error response, and log 4xx/5xx
        answers as Django does. Django's layers around that (the middleware chain's wrapper, view
        middleware, atomic-request and sync-view wrapping, template-response rendering) do nothing
        here but cost ~50 µs of a request that arrives after the proxy has been idle."""
        try:
            request.resolver_match = match = resolve_lean(request.path_info)
            response = await match.func(request, *match.args, **match.kwargs)
            self.check_response(response, match.func)  # a view that returned None: Django's 500, logged
        except Exception as exc:
            response = await sync_to_async(response_for_exception, thread_sensitive=False)(request, exc)
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            await sync_to_async(log_response, thread_sensitive=False)(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request,
            )
        return response

    async def read_body(self, receive: Any) -> io.BytesIO:
        """The request body in memory, at most ``MAX_REQUEST_BODY_BYTES`` + 1 bytes of it.

        Django spools a body to a temporary file (on disk past 2.5 MB), and ``request.body`` then
        reads all of it back into memory, however large: a client could make the proxy hold any
        size before the frontends refused it with a 413. Here the rest of an oversized body is read
        and dropped; the byte kept past the limit is what tells the frontend to refuse it. For the
        JSON bodies the lean paths take, a ``BytesIO`` is also cheaper than Django's spooled file."""
        limit = settings.MAX_REQUEST_BODY_BYTES + 1
        chunks: list[bytes] = []
        kept = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted()
            chunk = message.get("body", b"")
            if chunk and kept < limit:
                chunk = chunk[: limit - kept]
                chunks.append(chunk)
                kept += len(chunk)
            if not message.get("more_body", False):
                return io.BytesIO(chunks[0] if len(chunks) == 1 else b"".join(chunks))

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
        created = self.create_request(scope, body_file)
        if created[0] is None:  # Django's own error response for a request it cannot build
            body_file.close()
            await self.send_response(created[1], send)
            close_response(created[1])
            return
        request = created[0]

        # As Django does: a client disconnect cancels the view (and so a streaming upstream call).
        # Django runs the view in a task of its own and waits for it or the disconnect, whichever
        # comes first; here the view runs in this task and a listener cancels it. That is one task
        # switch less on the way to the upstream, and a switch is what costs most when the proxy
        # has been idle: ~150 µs of the first token's time (a third of the server's share).
        this = asyncio.current_task()
        assert this is not None
        listener = asyncio.create_task(cancel_on_disconnect(receive, this))
        try:
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            finally:
                close_response(response)
        except asyncio.CancelledError:
            if not listener.done():
                raise  # cancelled from outside (server shutdown), not by the client leaving
            this.uncancel()
        finally:
            listener.cancel()
            body_file.close()


def resolve_lean(path: str) -> ResolverMatch:
    """``path``'s view, resolved once per path and URL configuration: resolving walks the patterns
    and builds a match per level of include (~20 µs a request). Unknown paths raise ``Resolver404``
    each time (exceptions are not cached). Bounded, and small: Gemini paths name a model, and any
    client can send any number of distinct ones, so only paths of up to ``CACHED_PATH_MAX``
    characters are kept, the most recent 256 of them."""
    if len(path) > CACHED_PATH_MAX:
        return get_resolver().resolve(path)
    return _resolve(get_resolver(), path)


@functools.lru_cache(maxsize=256)
def _resolve(resolver: URLResolver, path: str) -> ResolverMatch:
    return resolver.resolve(path)


def close_response(response: HttpResponseBase) -> None:
    """``response.close()`` without Django's ``request_finished`` signal.

    Its receivers close this thread's stale database connections and caches and reset its urlconf.
    Django's handler closes a response in the request's worker thread, where a sync view may have
    opened those; here it would be the event loop's thread, where nothing opens any of them, and
    the signal cost ~25 µs a request."""
    closers = response._resource_closers  # type: ignore[attr-defined]  # private (see LEAN_HANDLER)
    for closer in closers:
        try:
            closer()
        except Exception:  # noqa: BLE001 - as Django's close(): one failing closer must not stop the rest
            pass
    closers.clear()
    response.closed = True


async def cancel_on_disconnect(receive: Any, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` when the client disconnects.

    Returns instead of raising (as Django's ``listen_for_disconnect`` does, with ``RequestAborted``):
    a raised exception's traceback would hold the handler's frame, whose locals hold this task,
    which holds the exception; ~50 objects a request (request, response, body file, tasks) were
    left for the cyclic GC that way, and its passes cost more than the rest of the handler."""
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()


LEAN_HANDLER = Patch("lean_handler.LeanASGIHandler", (
    Internal(ASGIHandler, "__init__", uses=("load_middleware",)),
    Internal(ASGIHandler, "create_request", parameters=("scope", "body_file")),
    Internal(ASGIHandler, "send_response", parameters=("response", "send")),
    Internal(BaseHandler, "check_response", parameters=("response", "callback")),
    Internal(django.core.handlers.asgi, "get_script_prefix", parameters=("scope",)),
    Internal(django.core.handlers.exception, "response_for_exception", parameters=("request", "exc")),
    Internal(django.utils.log, "log_response", parameters=("message", "response", "request")),
    Internal(HttpResponseBase, "__init__", uses=("_resource_closers",)),
    # close_response is this without the signal
    Internal(HttpResponseBase, "close", uses=("_resource_closers", "closed", "request_finished")),
))


class PathSplitter:
    """Send lean paths to one ASGI app and the rest to another."""

    def __init__(self, *, lean: Any, full: Any) -> None:
        self.lean = lean
        self.full = full

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.lean if scope.get("path", "").startswith(LEAN_PREFIXES) else self.full
        await app(scope, receive, send)
