"""Conversation affinity: a conversation stays on the backend key that served it while that key is healthy.

A provider's prompt cache is per key (per organisation): an agent's conversation resends a long,
growing prefix every turn, and it is billed at a tenth of the price only when the key that served
the previous turn serves this one. Round-robin would scatter the turns over every key, each with a
cold cache. So the key that served a conversation on a backend is remembered (its fingerprint,
never the key) and tried first next time; when it is cooling down, invalid or failing, rotation and
failover move the conversation as before, and the usage row says why (``affinity``).

Remembered in the Django cache on Redis when ``REDIS_URL`` is set (shared by every process, read
asynchronously and written off the request's path), else in a dict of this process (bounded by
``LOCAL_CACHE_MAX_ENTRIES``, least recently used first out): the local-memory cache's key checks,
pickling and lock cost ~10 µs a request (``bench/ab.py``), a dict nothing measurable.
``AFFINITY_TTL_SECONDS`` after its last turn a conversation is forgotten. A backend with one key (or a client's own key)
has nothing to choose: no affinity there.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from proxy_app.core.canonical import ProxyError
from proxy_app.providers.keys import KeyPool
from proxy_app.providers.registry import Registry
from proxy_app.routing.targets import Attempt, Target

KEPT = "kept"
NEW = "new"
MOVED = "moved"  # "moved: cooling" | "moved: invalid" | "moved: failing" | "moved: gone" | "moved"

# a remembered entry: (key fingerprint, when it was written)
Entry = tuple[str, float]

_pending: dict[str, asyncio.Future[Any]] = {}  # Redis writes under way, by cache key
_local: OrderedDict[str, Entry] = OrderedDict()  # the entries, when the cache is not shared
LOCAL_MAX_DEFAULT = 20_000


def _cache_key(conversation: str, backend: str) -> str:
    return "llmproxy:affinity:" + hashlib.sha256(f"{conversation}\0{backend}".encode()).hexdigest()


def _shared() -> bool:
    """Whether the cache is shared (Redis: asynchronous calls) rather than this process's memory."""
    return not settings.CACHES["default"]["BACKEND"].endswith(".LocMemCache")


def _local_get(keys: Iterable[str]) -> dict[str, Entry]:
    oldest = time.time() - settings.AFFINITY_TTL_SECONDS
    return {k: entry for k in keys if (entry := _local.get(k)) is not None and entry[1] > oldest}


def _local_set(key: str, entry: Entry) -> None:
    _local[key] = entry
    _local.move_to_end(key)
    if len(_local) > settings.CACHES["default"].get("OPTIONS", {}).get("MAX_ENTRIES", LOCAL_MAX_DEFAULT):
        _local.popitem(last=False)


def affinity_forget() -> None:
    """Forget every conversation this process remembers (tests)."""
    _local.clear()


def _choosable(pool: KeyPool) -> bool:
    return not pool.client_supplied and len(pool.keys) > 1


class ConversationAffinity:
    """One request's affinity: the keys its conversation was served with, per backend, and what
    became of them."""

    def __init__(self, conversation: str, remembered: dict[str, Entry]) -> None:
        self.conversation = conversation
        self.remembered = remembered  # backend -> entry

    @classmethod
    async def load(cls, conversation: str, targets: Iterable[Target], registry: Registry) -> ConversationAffinity:
        """What is remembered for ``conversation`` on the backends of ``targets`` that have keys to choose from."""
        if not settings.AFFINITY_ENABLED or not conversation:
            return cls("", {})
        backends = {t.backend for t in targets if _choosable(registry.backends[t.backend].pool)}
        keys = {_cache_key(conversation, b): b for b in backends}
        if not keys:
            return cls(conversation, {})
        if _shared():
            waiting = [f for k in keys if (f := _pending.get(k)) is not None]
            if waiting:  # this conversation's previous turn is still being written
                await asyncio.gather(*waiting, return_exceptions=True)
            found = await cache.aget_many(list(keys))
        else:
            found = _local_get(keys)
        return cls(conversation, {keys[k]: tuple(entry) for k, entry in found.items()})

    def preferred(self) -> dict[str, str]:
        """Backend -> the fingerprint of the key to try first."""
        return {backend: entry[0] for backend, entry in self.remembered.items()}

    def served(self, pool: KeyPool, model: str, index: int,
               errors: Iterable[tuple[Attempt, ProxyError]]) -> str:
        """Remember that ``pool``'s key ``index`` served the conversation; returns the usage row's
        ``affinity``: kept, new, or moved and why (empty where there is no choice of key)."""
        if not self.conversation or index < 0 or not _choosable(pool):
            return ""
        fingerprint = pool.fingerprints[index]
        entry = self.remembered.get(pool.backend)
        if entry is None or entry[0] != fingerprint or entry[1] + settings.AFFINITY_TTL_SECONDS / 2 < time.time():
            self._write(_cache_key(self.conversation, pool.backend), (fingerprint, time.time()))
        if entry is None:
            return NEW
        if entry[0] == fingerprint:
            return KEPT
        failures = {pool.fingerprints[a.key_index]: e.status for a, e in errors
                    if a.target.backend == pool.backend and a.key_index >= 0}
        return _why_moved(pool, model, entry[0], failures.get(entry[0]))

    def _write(self, key: str, entry: Entry) -> None:
        if not _shared():
            _local_set(key, entry)
            return
        task = asyncio.ensure_future(cache.aset(key, entry, settings.AFFINITY_TTL_SECONDS))
        _pending[key] = task
        task.add_done_callback(lambda done: _pending.pop(key, None) if _pending.get(key) is done else None)


def _why_moved(pool: KeyPool, model: str, fingerprint: str, failed_with: int | None) -> str:
    if fingerprint not in pool.fingerprints:
        return f"{MOVED}: gone"  # the key was removed from the backend
    if failed_with in (401, 403) or pool.store.is_invalid(pool.backend, fingerprint):
        return f"{MOVED}: invalid"
    if failed_with == 429 or pool.store.cooling_until(pool.backend, fingerprint, model) is not None:
        return f"{MOVED}: cooling"
    if failed_with is not None:
        return f"{MOVED}: failing"
    return MOVED
