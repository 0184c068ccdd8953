"""Session state: overrides set by commands, cached in memory and persisted in the database.

While the database is unreachable, requests are served with the session state this process already
holds (none for a session it has not seen: the defaults), a command's change is kept in this process
and saved once the database is back (before anything is read from it again), and the outage is
logged once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection

from commands_app.models import Session
from proxy_app.core.outage import Outage

logger = logging.getLogger("llmproxy.sessions")

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


_database = Outage("session database", logger)
# Changes made while the database was unreachable, saved when it is back (the newest state per session).
_unsaved: dict[tuple[int | None, str], SessionState] = {}


def _unreachable(exc: DatabaseError) -> None:
    _database.failed(exc, "sessions are served with the settings this process holds (or the defaults), "
                          "and changes are saved when it is back")
    connection.close()  # a broken connection is not reopened by itself: the next read connects anew


def _save_unsaved() -> None:
    """Write the changes the outage held back (raises ``DatabaseError`` while it lasts)."""
    for key, state in list(_unsaved.items()):
        _save(state)
        if _unsaved.get(key) is state:  # not changed again meanwhile
            del _unsaved[key]


def _load(owner_id: int | None, session_id: str) -> SessionState | None:
    """The saved state; None when the database cannot be read."""
    try:
        _save_unsaved()
        row = Session.objects.filter(owner_id=owner_id, session_id=session_id).first()
    except DatabaseError as exc:
        _unreachable(exc)
        return None
    _database.recovered()
    return SessionState(session_id, owner_id, dict(row.overrides) if row else {})


_loading: dict[tuple[int | None, str], asyncio.Future[SessionState | None]] = {}


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
    if state is None:  # the database is down: keep what is held, tried again once it is stale
        state = SessionState(key[1], key[0], current.overrides if current is not None else {})
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


def _save_or_hold(state: SessionState) -> None:
    key = (state.owner_id, state.session_id)
    _unsaved[key] = state
    try:
        _save_unsaved()
    except DatabaseError as exc:
        _unreachable(exc)
        return
    _database.recovered()


async def session_save(state: SessionState) -> None:
    """Save ``state``: in this process at once, in the database now or, while it is unreachable, once it is back."""
    state.loaded_at = time.monotonic()
    _cache[(state.owner_id, state.session_id)] = state
    await sync_to_async(_save_or_hold, thread_sensitive=True)(state)


def session_cache_clear() -> None:
    _cache.clear()
    _unsaved.clear()
