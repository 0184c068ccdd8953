"""What every client-protocol frontend shares: rendering answers and errors in its protocol, and
the proxy-key check of its non-chat views."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from proxy_app.chat.bodies import json_response
from proxy_app.chat.flow import require_principal
from proxy_app.chat.pipeline import ROUTED, SERVED_MODEL
from proxy_app.core import canonical as c
from proxy_app.protocols.contract import StreamEncoding, WireProtocol

UNKNOWN_PATH_SHOWN = 200  # characters of an unknown path echoed in its 404

logger = logging.getLogger("llmproxy.frontend")


class Frontend:
    """One client protocol: its translation module plus how it renders answers and errors."""

    def __init__(self, name: str, protocol: WireProtocol) -> None:
        self.name = name
        self.protocol = protocol

    def error_response(self, err: c.ProxyError) -> HttpResponse:
        upstream = err.upstream
        if upstream is not None and upstream.protocol == self.protocol.NAME:
            response = HttpResponse(upstream.body, status=err.status, content_type="application/json")
            response["Content-Length"] = str(len(upstream.body))
            for name, value in upstream.headers:
                response[name] = value
            if err.retry_after is not None:  # when every key cools down, the proxy knows better
                response["Retry-After"] = str(max(1, round(err.retry_after)))
            return response
        headers = {}
        if err.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(err.retry_after)))
        body = self.protocol.error_body(err)
        if isinstance(request_id := body.get("request_id"), str):  # Anthropic's: in the body and the header
            headers["request-id"] = request_id
        return json_response(body, status=_code_in(body) or err.status, headers=headers)

    async def unknown_endpoint(self, request: HttpRequest) -> HttpResponse:
        """The catch-all under this protocol's prefix: an unknown path is a 404 the client's SDK can
        read (its NotFoundError), not Django's HTML page."""
        path = request.path if len(request.path) <= UNKNOWN_PATH_SHOWN else request.path[:UNKNOWN_PATH_SHOWN] + "..."
        return self.error_response(c.ProxyError(f"Invalid URL ({request.method} {path})", kind="not_found"))

    def client_model(self, chat: c.ChatRequest) -> str:
        """The model an answer names: the one the client asked for, unless the proxy chose another
        (a session's model override or one-off, a failover route), then the one that served it,
        as ``backend:model`` (as OpenRouter names the model that served a routed request)."""
        asked = chat.meta.get("client_model", chat.model)
        served = chat.meta.get(SERVED_MODEL)
        if served and (chat.model != asked or chat.meta.get(ROUTED)):
            return served
        return asked

    def response_body(self, resp: c.ChatResponse, chat: c.ChatRequest) -> HttpResponse:
        return json_response(self.protocol.response_from_canonical(resp, model=self.client_model(chat)))

    def stream_encoder(self, chat: c.ChatRequest) -> StreamEncoding:
        return self.protocol.StreamEncoder(model=self.client_model(chat), include_usage=chat.include_usage)


def _code_in(body: Any) -> int | None:
    """The HTTP status an error body names itself, where its protocol has one (Gemini's ``error.code``:
    a 529 from another protocol's backend is Gemini's 503 UNAVAILABLE, body and status alike)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 400 <= code < 600 else None


View = Callable[..., Coroutine[Any, Any, HttpResponseBase]]


def keyed_view(frontend: Frontend) -> Callable[[View], View]:
    """Decorate a non-chat view of ``frontend``: the proxy key is checked first, and any
    ``ProxyError`` the view raises is answered in that frontend's protocol."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                await require_principal(request)
                return await view(request, *args, **kwargs)
            except c.ProxyError as err:
                return frontend.error_response(err)
            except Exception:  # a bug: still an error the client's SDK can read, not Django's HTML page
                logger.exception("unexpected error serving %s", request.path)
                return frontend.error_response(c.internal_error())

        return wrapped

    return decorate


