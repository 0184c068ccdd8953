"""Count a request's prompt tokens: the backend's own counter where it has one, else an estimate."""

from __future__ import annotations

import logging

from django.http import HttpRequest

from proxy_app.access.client_keys import client_upstream_key
from proxy_app.chat.flow import require_principal
from proxy_app.core import canonical as c
from proxy_app.core.token_estimate import estimate_request_tokens
from proxy_app.providers.registry import get_registry
from proxy_app.routing.targets import parse_target

logger = logging.getLogger("llmproxy.tokens")


async def count_request_tokens(chat: c.ChatRequest, own_key: str | None = None) -> int:
    """Exact when ``chat.model`` routes to a backend that counts (Anthropic, Gemini); estimated otherwise
    or when that call fails (counting must never break a client). ``own_key``: the provider key the
    client brought (``X-Upstream-Api-Key``), counted with instead of the operator's."""
    registry = await get_registry()
    target = parse_target(chat.model, registry)
    runtime = registry.backends[target.backend]
    if own_key is not None:
        runtime = runtime.with_client_key(own_key)
    keys = runtime.pool.rotation(target.model) or [-1]
    try:
        counted = await runtime.connector.count_tokens(chat, target.model, runtime.pool.key(keys[0]))
    except c.ProxyError as err:
        logger.info("token counting on %s failed (%s); estimating", target.backend, err.message)
        counted = None
    return counted if counted is not None else estimate_request_tokens(chat)


async def count_client_request_tokens(request: HttpRequest, chat: c.ChatRequest) -> int:
    """``count_request_tokens`` for a count-tokens endpoint's caller: with the provider key it brought, if
    its proxy key may bring one (the same ``X-Upstream-Api-Key`` rule as its chat requests)."""
    own_key = client_upstream_key(request, await require_principal(request))  # a digest lookup: cheap
    return await count_request_tokens(chat, own_key)
