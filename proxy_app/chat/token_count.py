"""Count a request's prompt tokens: the backend's own counter where it has one, else an estimate."""

from __future__ import annotations

import logging

from proxy_app.core import canonical as c
from proxy_app.core.token_estimate import estimate_request_tokens
from proxy_app.providers.registry import get_registry
from proxy_app.routing.targets import parse_target

logger = logging.getLogger("llmproxy.tokens")


async def count_request_tokens(chat: c.ChatRequest) -> int:
    """Exact when ``chat.model`` routes to a backend that counts (Anthropic, Gemini); estimated otherwise
    or when that call fails (counting must never break a client)."""
    registry = await get_registry()
    target = parse_target(chat.model, registry)
    runtime = registry.backends[target.backend]
    keys = runtime.pool.rotation(target.model) or [-1]
    try:
        counted = await runtime.connector.count_tokens(chat, target.model, runtime.pool.key(keys[0]))
    except c.ProxyError as err:
        logger.info("token counting on %s failed (%s); estimating", target.backend, err.message)
        counted = None
    return counted if counted is not None else estimate_request_tokens(chat)
