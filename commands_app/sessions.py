"""Session state: overrides set by commands, cached in memory and persisted in the database."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from commands_app.models import Session

# How long a cached session is trusted before it is re-read (other processes may change it).
SESSION_CACHE_SECONDS = 5.0
SESSION_CACHE_MAX = 10_000


@dataclass
class SessionState:
    session_id: str
    owner_id: int | None
    overrides: dict[str, Any] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)

    def get(self, name: str, default: Any = None) -> Any:
        return self.overrides.get(name, default)


_cache: OrderedDict[tuple[int | None, str], SessionState] = OrderedDict()


def _load(owner_id: int | None, session_id: str) -> SessionState:
    row = Session.objects.filter(owner_id=owner_id, session_id=session_id).first()
    return SessionState(session_id, owner_id, dict(row.overrides) if row else {})


_loading: dict[tuple[int | None, str], asyncio.Future[SessionState]] = {}


async def _load_once(key: tuple[int | None, str]) -> SessionState:
    """One database read per session at a time, however many requests want it."""
    pending = _loading.get(key)
    started = time.monotonic()
    if pending is None:
        pending = asyncio.ensure_future(sync_to_async(_load, thread_sensitive=True)(*key))
        _loading[key] = pending
        pending.add_done_callback(lambda _: _loading.pop(key, None))
    state = await asyncio.shield(pending)
    current = _cache.get(key)
    if current is not None and current.loaded_at > started:
        return current  # saved by a command while this read was in flight: the save is newer
    _cache[key] = state
    if len(_cache) > SESSION_CACHE_MAX:
        _cache.popitem(last=False)
    return state


async def session_get(owner_id: int | None, session_id: str) -> SessionState:
    """The session's state. A stale cached state is served at once while one background read
    refreshes it (changes made in another process show up within a few seconds)."""
    key = (owner_id, session_id)
    state = _cache.get(key)
    if state is None:
        return await _load_once(key)
    if time.monotonic() - state.loaded_at > SESSION_CACHE_SECONDS and key not in _loading:
        asyncio.ensure_future(_load_once(key))
    _cache.move_to_end(key)
    return state


def _save(state: SessionState) -> None:
    Session.objects.update_or_create(
        owner_id=state.owner_id, session_id=state.session_id, defaults={"overrides": state.overrides}
    )


async def session_save(state: SessionState) -> None:
    state.loaded_at = time.monotonic()
    _cache[(state.owner_id, state.session_id)] = state
    await sync_to_async(_save, thread_sensitive=True)(state)


def session_cache_clear() -> None:
    _cache.clear()
