"""What every client-protocol frontend shares: auth, body parsing, error rendering."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from commands_app.overrides import overrides_apply
from commands_app.service import USER_AGENT, commands_apply
from commands_app.session_identity import session_id_for
from commands_app.sessions import session_get
from proxy_app.access.auth import Principal, authenticate, extract_token
from proxy_app.access.limits import limits_check
from proxy_app.chat.pipeline import ROUTED, SERVED_MODEL, answer_directly, resolve_route, serve_chat
from proxy_app.chat.reasoning_state import restore as reasoning_restore
from proxy_app.core import canonical as c
from proxy_app.core.context import RequestContext, finish_request
from proxy_app.guards.checks import inject_tool_loop_warning, redact_request
from proxy_app.providers.registry import Registry, get_registry
from proxy_app.routing.model_defaults import defaults_apply

logger = logging.getLogger("llmproxy.frontend")

MISSING_KEY = "missing or invalid proxy API key; send it as 'Authorization: Bearer <key>'"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    content = orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type="application/json")
    # Without a length, Daphne frames the body as chunked: extra bytes, and a client cannot tell
    # a whole answer from a cut one until the terminator (as the providers, we send the length).
    response["Content-Length"] = str(len(content))
    for name, value in (headers or {}).items():
        response[name] = value
    return response


UNKNOWN_PATH_SHOWN = 200  # characters of an unknown path echoed in its 404


class Frontend:
    """One client protocol: its translation module plus how it renders answers and errors."""

    def __init__(self, name: str, protocol: ModuleType) -> None:
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
        return json_response(self.protocol.error_body(err), status=err.status, headers=headers)

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

    def stream_encoder(self, chat: c.ChatRequest) -> Any:
        return self.protocol.StreamEncoder(model=self.client_model(chat), include_usage=chat.include_usage)


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; 413 over the size limit, 400 when it is not a JSON object."""
    body = request.body  # on the lean paths, at most one byte past the limit is kept (see LeanASGIHandler.read_body)
    if len(body) > settings.MAX_REQUEST_BODY_BYTES:
        raise c.ProxyError(
            f"request body exceeds the limit of {settings.MAX_REQUEST_BODY_BYTES} bytes",
            kind="request_too_large",
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise c.ProxyError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise c.ProxyError("request body must be a JSON object")
    return payload


async def require_principal(request: HttpRequest) -> Principal:
    principal = await authenticate(request)
    if principal is None:
        raise c.ProxyError(MISSING_KEY, kind="authentication")
    return principal


def known_secrets(registry: Registry, presented_key: str | None) -> tuple[str, ...]:
    """Every secret the proxy knows the text of: backend keys, the env proxy key, the caller's key."""
    values = {*registry.all_secrets(), settings.LLM_INTERACTIVE_PROXY_API_KEY, presented_key or ""}
    return tuple(sorted(v for v in values if v))


def keyed_view(frontend: Frontend) -> Callable[[Callable[..., Awaitable[HttpResponse]]], Callable[..., Awaitable[HttpResponse]]]:
    """Decorate a non-chat view of ``frontend``: the proxy key is checked first, and any
    ``ProxyError`` the view raises is answered in that frontend's protocol."""

    def decorate(view: Callable[..., Awaitable[HttpResponse]]) -> Callable[..., Awaitable[HttpResponse]]:
        @functools.wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                await require_principal(request)
                return await view(request, *args, **kwargs)
            except c.ProxyError as err:
                return frontend.error_response(err)

        return wrapped

    return decorate


def check_model_allowed(principal: Principal, model: str) -> None:
    if principal.allowed_models and model not in principal.allowed_models:
        raise c.ProxyError(f"this proxy key may not use model '{model}'", kind="permission", param="model")


async def handle_chat(
    request: HttpRequest,
    frontend: Frontend,
    decode: Callable[[dict[str, Any]], c.ChatRequest],
) -> HttpResponse:
    """The whole life of one chat request, with every failure answered in the client's protocol."""
    ctx = RequestContext(protocol=frontend.name, path=request.path)
    try:
        principal = await require_principal(request)
        ctx.principal_name, ctx.principal_key_id = principal.owner_label, principal.key_id
        await limits_check(principal)
        ctx.project = request.headers.get("x-project") or principal.project
        ctx.user = request.headers.get("x-user-id", "")
        chat = decode(read_json(request))
        chat.meta.setdefault("client_model", chat.model)
        chat.meta[USER_AGENT] = request.headers.get("user-agent", "")
        ctx.requested_model = chat.model
        registry = await get_registry()
        session = await session_get(principal.key_id, session_id_for(request.headers, chat))
        ctx.session_id = session.session_id
        outcome = await commands_apply(
            chat, session=session, principal=principal, backends=registry, protocol=frontend.name
        )
        if outcome.reply is not None:
            return answer_directly(frontend, chat, outcome.reply, ctx)
        chat = outcome.chat
        hints = await overrides_apply(chat, session)
        if hints.project and not request.headers.get("x-project"):
            ctx.project = hints.project
        check_model_allowed(principal, chat.model)
        ctx.redactions = redact_request(chat, known_secrets(registry, extract_token(request)))
        inject_tool_loop_warning(chat, ctx)
        plan = await resolve_route(
            chat, registry, owner_id=principal.key_id, default_backend=hints.default_backend,
            openai_url=hints.openai_url,
        )
        await defaults_apply(chat, plan.targets[0])
        if plan.registry.backends[plan.targets[0].backend].connector.protocol.NAME != chat.source_protocol:
            await reasoning_restore(chat, ctx.session_key)
        return await serve_chat(frontend, chat, ctx, plan)
    except c.ProxyError as err:
        ctx.status, ctx.error_type, ctx.error_message = err.status, err.kind, err.message
        finish_request(ctx)
        return frontend.error_response(err)
    except Exception:
        logger.exception("unexpected error serving %s", request.path)
        err = c.ProxyError("internal proxy error", kind="api_error")
        ctx.status, ctx.error_type, ctx.error_message = err.status, err.kind, err.message
        finish_request(ctx)
        return frontend.error_response(err)
