"""The lean ASGI handler fits the installed Django, answers and leaves no reference cycles behind (its
objects must be freed by reference counting, or the cyclic GC's passes become a large share of the
proxy's CPU)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponseBase

from llmproxy_site.server.lean_handler import LEAN_HANDLER, LeanASGIHandler


def test_the_handler_fits_the_installed_django() -> None:
    assert LEAN_HANDLER.problems() == []


@pytest.fixture(autouse=True)
def no_usage_rows(settings: Any, db: None) -> None:
    """The database only for the proxy keys' lookup (none: open access); no usage rows are written."""
    settings.USAGE_RECORDING_ENABLED = False


async def call(handler: LeanASGIHandler, method: str, path: str, body: bytes = b"") -> list[dict[str, Any]]:
    """One request as an ASGI server makes it: ``receive`` blocks after the body until the response is sent."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http", "method": method,
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"),
                    (b"authorization", b"Bearer test-proxy-key")],
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
    }
    sent: list[dict[str, Any]] = []
    done = asyncio.Event()
    inbox = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if inbox:
            return inbox.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await handler(scope, receive, send)
    return sent


def cyclic_garbage_after(requests: int, *args: Any) -> list[object]:
    handler = LeanASGIHandler()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(requests):
            sent = asyncio.run(call(handler, *args))
            assert sent[0]["type"] == "http.response.start"
        gc.collect()
        return [o for o in gc.garbage if isinstance(o, (HttpRequest, HttpResponseBase, asyncio.Task, BaseException))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/healthz", b"", 200),
    ("POST", "/v1/chat/completions", b"{not json", 400),
])
def test_requests_leave_no_reference_cycles(method: str, path: str, body: bytes, status: int) -> None:
    sent = asyncio.run(call(LeanASGIHandler(), method, path, body))
    assert sent[0]["status"] == status
    assert cyclic_garbage_after(20, method, path, body) == []


def test_a_client_disconnect_cancels_the_view() -> None:
    handler = LeanASGIHandler()
    cancelled = asyncio.Event()

    async def scenario() -> None:
        scope = {"type": "http", "method": "GET", "path": "/healthz", "raw_path": b"/healthz", "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"localhost")], "server": ("127.0.0.1", 8000)}
        messages = [{"type": "http.request", "body": b"", "more_body": False}, {"type": "http.disconnect"}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def slow_view(request: Any) -> Any:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        handler.run_get_response = slow_view  # type: ignore[method-assign]
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(handler(scope, receive, send), 5)
        assert sent == []

    asyncio.run(scenario())
    assert cancelled.is_set()


def test_every_view_on_a_lean_path_is_async() -> None:
    """The lean handler awaits views directly (no thread for a sync view): a sync view added under
    a lean prefix must fail here, not answer 500 in production."""
    from asgiref.sync import iscoroutinefunction
    from django.urls import URLPattern, URLResolver, get_resolver

    from llmproxy_site.server.lean_handler import LEAN_PREFIXES

    def views(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
        found = []
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                found += views(p, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append(("/" + prefix + str(p.pattern), p.callback))
        return found

    lean = [(route, view) for route, view in views(get_resolver()) if route.startswith(LEAN_PREFIXES)]
    assert len(lean) > 10
    assert [route for route, view in lean if not iscoroutinefunction(view)] == []


def test_an_unknown_lean_path_is_a_404_in_its_protocol() -> None:
    sent = asyncio.run(call(LeanASGIHandler(), "GET", "/v1/no-such-endpoint"))
    assert sent[0]["status"] == 404
    assert b"Invalid URL (GET /v1/no-such-endpoint)" in b"".join(m.get("body", b"") for m in sent)


def test_requests_are_closed_without_djangos_request_finished_signal() -> None:
    """The signal's receivers clean up a worker thread's database connections and caches; the lean
    handler closes responses on the event loop's thread, which has none, so it is not sent."""
    from django.core.signals import request_finished

    finished: list[object] = []
    closed: list[str] = []

    def receiver(**kwargs: Any) -> None:
        finished.append(kwargs)

    handler = LeanASGIHandler()

    async def view(request: HttpRequest) -> Any:
        response = await LeanASGIHandler.run_get_response(handler, request)
        response._resource_closers.append(lambda: closed.append("closer ran"))
        return response

    handler.run_get_response = view  # type: ignore[method-assign]
    request_finished.connect(receiver)
    try:
        sent = asyncio.run(call(handler, "GET", "/healthz"))
    finally:
        request_finished.disconnect(receiver)
    assert sent[0]["status"] == 200
    assert finished == []
    assert closed == ["closer ran"]


def test_long_paths_are_resolved_but_not_cached() -> None:
    """Gemini paths name a model: a client sending endless distinct long ones must not grow the cache."""
    from llmproxy_site.server.lean_handler import CACHED_PATH_MAX, _resolve, resolve_lean

    _resolve.cache_clear()
    long_path = "/v1beta/models/" + "m" * CACHED_PATH_MAX + ":generateContent"
    assert resolve_lean(long_path).kwargs == {"model_action": "m" * CACHED_PATH_MAX + ":generateContent"}
    assert _resolve.cache_info().currsize == 0
    assert resolve_lean("/v1/chat/completions") is resolve_lean("/v1/chat/completions")
    assert _resolve.cache_info().currsize == 1


def test_a_view_that_returns_nothing_is_djangos_500() -> None:
    handler = LeanASGIHandler()

    async def broken(request: HttpRequest) -> None:
        return None

    from llmproxy_site.server import lean_handler

    match = lean_handler.resolve_lean("/healthz")
    original = match.func
    match.func = broken
    try:
        sent = asyncio.run(call(handler, "GET", "/healthz"))
    finally:
        match.func = original
    assert sent[0]["status"] == 500


def test_an_oversized_body_is_read_to_its_end_but_kept_only_to_one_byte_past_the_limit(settings: Any) -> None:
    """A client cannot make the proxy hold more than the limit: the rest of the body is read and dropped,
    and the frontend answers 413 in its protocol, from the byte kept past the limit."""
    settings.MAX_REQUEST_BODY_BYTES = 1000
    piece = b"x" * 4096
    inbox = [{"type": "http.request", "body": piece, "more_body": True} for _ in range(255)]
    inbox.append({"type": "http.request", "body": piece, "more_body": False})  # 1 MiB in all

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    kept = asyncio.run(LeanASGIHandler().read_body(receive))
    assert inbox == [] and kept.getvalue() == b"x" * 1001

    sent = asyncio.run(call(LeanASGIHandler(), "POST", "/anthropic/v1/messages", b"{" + b" " * 2000 + b"}"))
    assert sent[0]["status"] == 413
    assert b'"type":"request_too_large"' in sent[1]["body"]
