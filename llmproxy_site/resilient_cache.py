"""The Django cache on Redis, falling back to this process's memory while Redis is unreachable.

What the proxy keeps in the cache (a command turn's reply for a client's retry, the signed reasoning
a client of another protocol replays, the inspector's watch key) is shared between processes
through Redis, but each process can do its job with its own copy. When Redis stops answering, the
outage is logged once and every cache call goes to a local-memory cache instead, without waiting
on Redis again until ``RETRY_SECONDS`` have passed; when a retry succeeds, Redis is used again
(the end is logged too), after the entries written locally meanwhile are copied to it with what is
left of their lifetime: a conversation's reasoning state saved during the outage is still there after
it, in every process. A key Redis has already (written by another process meanwhile) is left as it is.
"""

from __future__ import annotations

import math
import pickle
import time
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
WRITES = frozenset({"add", "set", "touch", "incr", "set_many"})


def _with_fallback(name: str) -> Callable[..., Any]:
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        outage = redis_outage()
        if outage.should_try():
            try:
                if self.held_locally:
                    self.copy_back()
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except UNREACHABLE as exc:
                outage.failed(exc, MEANWHILE)
            else:
                outage.recovered()
                return result
        if name in WRITES:
            self.held_locally = True
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
        self.held_locally = False  # entries were written to the local cache during an outage

    def copy_back(self) -> None:
        """Copy the local cache's live entries to Redis (``add``: never over a key Redis has), then empty it.

        Reads ``LocMemCache``'s own store: its keys are already made with the same prefix, version and
        key function as Redis's, and it keeps each entry's expiry time."""
        store: Any = self.local  # LocMemCache's store is not in its typed interface
        with store._lock:
            entries = [(key, value, store._expire_info.get(key)) for key, value in store._cache.items()]
        now = time.time()
        for key, pickled, expires in entries:
            if expires is None or expires > now:
                timeout = None if expires is None else max(1, math.ceil(expires - now))
                self._cache.add(key, pickle.loads(pickled), timeout)
        self.local.clear()
        self.held_locally = False

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
