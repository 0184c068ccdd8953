"""The Django cache on Redis, falling back to this process's memory while Redis is unreachable.

What the proxy keeps in the cache (a command turn's reply for a client's retry, the signed reasoning
a client of another protocol replays, the inspector's watch key) is shared between processes
through Redis, but each process can do its job with its own copy. When Redis stops answering, the
outage is logged once and every cache call goes to a local-memory cache instead, without waiting
on Redis again until ``RETRY_SECONDS`` have passed; when a retry succeeds, Redis is used again
(the end is logged too). Entries written locally meanwhile stay local: they are short-lived.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from proxy_app.core.outage import redis_outage

# A Redis that answers does so within milliseconds; one that does not must not hold a request long.
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
MEANWHILE = "each process keeps its own cache until it is back"


def _with_fallback(name: str) -> Callable[..., Any]:
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        outage = redis_outage()
        if outage.should_try():
            try:
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except UNREACHABLE as exc:
                outage.failed(exc, MEANWHILE)
            else:
                outage.recovered()
                return result
        return getattr(self.local, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on Redis, or on the local cache while Redis is unreachable."
    return method


class ResilientRedisCache(RedisCache):
    """``RedisCache`` whose every operation falls back to a ``LocMemCache`` (same key settings)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        local = {k: v for k, v in params.items() if k in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")}
        self.local = LocMemCache(f"redis-fallback:{server}", local)

    add = _with_fallback("add")
    get = _with_fallback("get")
    set = _with_fallback("set")
    touch = _with_fallback("touch")
    delete = _with_fallback("delete")
    get_many = _with_fallback("get_many")
    has_key = _with_fallback("has_key")
    incr = _with_fallback("incr")
    set_many = _with_fallback("set_many")
    delete_many = _with_fallback("delete_many")
    clear = _with_fallback("clear")
