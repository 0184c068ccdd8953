"""Per-proxy-key limits: requests per minute and a spending budget.

The minute counter is local to the process, or a Redis counter shared by every process
when ``REDIS_URL`` is set. A key's spend is summed from its usage records (shared by every
process on one database) at most once per ``PROXY_KEY_SPEND_REFRESH_SECONDS`` per process
(60 s; off the event loop), so the budget check itself costs a dict lookup; a key can overshoot
its budget by what all processes spend within that interval.
"""

from __future__ import annotations

import asyncio
import time
import weakref

from django.conf import settings

from proxy_app.core.canonical import ProxyError
from proxy_app.core.outage import redis_outage
from proxy_app.core.principal import Principal
from usage_app.spend import SpendCache

_windows: dict[tuple[int, int], int] = {}
_spend = SpendCache(lambda: settings.PROXY_KEY_SPEND_REFRESH_SECONDS)
_redis_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object] = weakref.WeakKeyDictionary()


async def _count_request(key_id: int, minute: int) -> int:
    if settings.REDIS_URL and redis_outage().should_try():
        loop = asyncio.get_running_loop()
        client = _redis_clients.get(loop)
        if client is None:
            import redis.asyncio as redis

            client = _redis_clients[loop] = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5)
        name = f"llmproxy:rpm:{key_id}:{minute}"
        try:
            count = await client.incr(name)  # type: ignore[attr-defined]
            if count == 1:
                await client.expire(name, 120)  # type: ignore[attr-defined]
        except Exception as exc:
            redis_outage().failed(exc, "requests per minute are counted per process meanwhile")
        else:
            redis_outage().recovered()
            return int(count)
    for stale in [k for k in _windows if k[1] < minute]:
        del _windows[stale]
    _windows[(key_id, minute)] = _windows.get((key_id, minute), 0) + 1
    return _windows[(key_id, minute)]


async def limits_check(principal: Principal) -> None:
    """Raise a 429 ``ProxyError`` when the key is over its limits: its rate (with Retry-After) or its
    budget (code ``insufficient_quota``, as OpenAI answers a spent quota; no Retry-After, it does not recover)."""
    if principal.key_id is None:
        return
    rate_limit_rpm, budget_usd = principal.rate_limit_rpm, principal.budget_usd
    if rate_limit_rpm:
        now = time.time()
        minute = int(now // 60)
        if await _count_request(principal.key_id, minute) > rate_limit_rpm:
            raise ProxyError(
                f"this proxy key is limited to {rate_limit_rpm} requests per minute",
                kind="rate_limit", retry_after=60 - (now % 60),
            )
    if budget_usd is not None:
        spent = (await _spend.get(principal.key_id, proxy_key_id=principal.key_id)).cost_usd
        if spent >= budget_usd:
            raise ProxyError(
                f"this proxy key has used its budget of ${budget_usd} (spent ${spent:.4f})",
                kind="rate_limit", code="insufficient_quota",  # OpenAI's own answer to a spent quota: a 429
            )
