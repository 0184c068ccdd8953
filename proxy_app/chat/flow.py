"""The whole life of one chat request, from the client's HTTP request to its answer.

Authenticate ▸ limits ▸ decode to the canonical request ▸ session and in-chat commands ▸ session budget ▸ session
overrides ▸ model permission ▸ request guards (secret redaction, tool-loop warning) ▸ route ▸
prompt compaction ▸ model defaults ▸ reasoning state ▸ serve (``pipeline``). Every failure is answered in the
client's protocol by the frontend that called in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from commands_app.overrides import overrides_apply
from commands_app.service import USER_AGENT, commands_apply
from commands_app.session_identity import session_id_for
from commands_app.sessions import session_get
from proxy_app.access.auth import authenticate, extract_token
from proxy_app.access.client_keys import client_upstream_key
from proxy_app.access.limits import limits_check
from proxy_app.access.session_budget import session_budget_check
from proxy_app.chat.bodies import read_json
from proxy_app.chat.pipeline import FrontendLike, answer_directly, resolve_route, serve_chat, with_client_key
from proxy_app.chat.reasoning_state import restore as reasoning_restore
from proxy_app.core import canonical as c
from proxy_app.core import tracing
from proxy_app.core.context import RequestContext, finish_request
from proxy_app.core.principal import Principal
from proxy_app.guards.apply import compact_request, inject_tool_loop_warning, redact_request
from proxy_app.providers.registry import Registry, get_registry
from proxy_app.routing.model_defaults import defaults_apply

logger = logging.getLogger("llmproxy.frontend")

MISSING_KEY = "missing or invalid proxy API key; send it as 'Authorization: Bearer <key>'"


async def require_principal(request: HttpRequest) -> Principal:
    principal = await authenticate(request)
    if principal is None:
        raise c.ProxyError(MISSING_KEY, kind="authentication")
    return principal


def known_secrets(registry: Registry, *presented: str | None) -> tuple[str, ...]:
    """Every secret the proxy knows the text of: backend keys, the env proxy key, the keys the caller sent
    (its proxy key, the provider key it brought)."""
    values = {*registry.all_secrets(), settings.LLM_INTERACTIVE_PROXY_API_KEY, *(p or "" for p in presented)}
    return tuple(sorted(v for v in values if v))


def check_model_allowed(principal: Principal, model: str) -> None:
    if principal.allowed_models and model not in principal.allowed_models:
        raise c.ProxyError(f"this proxy key may not use model '{model}'", kind="permission", param="model")


async def handle_chat(
    request: HttpRequest,
    frontend: FrontendLike,
    decode: Callable[[dict[str, Any]], c.ChatRequest],
) -> HttpResponseBase:
    """The whole life of one chat request, with every failure answered in the client's protocol."""
    ctx = RequestContext(protocol=frontend.name, path=request.path)
    if tracing.active is not None:
        ctx.trace = tracing.active.request_started(ctx, request.headers)
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
        await session_budget_check(session)  # after the commands: !/budget still answers a spent session
        chat = outcome.chat
        hints = await overrides_apply(chat, session)
        if hints.project and not request.headers.get("x-project"):
            ctx.project = hints.project
        check_model_allowed(principal, chat.model)
        own_key = client_upstream_key(request, principal)
        ctx.byok = own_key is not None
        ctx.redactions = redact_request(chat, known_secrets(registry, extract_token(request), own_key))
        inject_tool_loop_warning(chat, ctx)
        plan = await resolve_route(
            chat, registry, owner_id=principal.key_id, default_backend=hints.default_backend,
            openai_url=hints.openai_url,
        )
        ctx.compacted_tokens = compact_request(chat, route_compact=plan.compact).saved_tokens
        if own_key is not None:
            plan = with_client_key(plan, own_key)
        await defaults_apply(chat, plan.targets[0])
        if plan.registry.backends[plan.targets[0].backend].connector.protocol.NAME != chat.source_protocol:
            await reasoning_restore(chat, ctx.session_key)
        return await serve_chat(frontend, chat, ctx, plan)
    except c.ProxyError as err:
        response = frontend.error_response(err)
        # the status the client got (a protocol may name another: Gemini has no 529)
        ctx.status, ctx.error_type, ctx.error_message = response.status_code, err.kind, err.message
        finish_request(ctx)
        return response
    except asyncio.CancelledError:  # the client left while the proxy waited (for the upstream, say)
        ctx.client_disconnected, ctx.status = True, 499
        finish_request(ctx)
        raise
    except Exception:
        logger.exception("unexpected error serving %s", request.path)
        internal = c.internal_error()
        ctx.status, ctx.error_type, ctx.error_message = internal.status, internal.kind, internal.message
        finish_request(ctx)
        return frontend.error_response(internal)
