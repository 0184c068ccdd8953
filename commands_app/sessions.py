"""Session state: overrides set by commands, cached in memory and persisted in the database."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

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


def session_id_for(headers: Any, *, principal_key_id: int | None, anthropic_user: str | None = None) -> str:
    """``X-Session-ID``, else Anthropic ``metadata.user_id``, else the per-key fallback session."""
    explicit = headers.get("x-session-id")
    if explicit:
        return explicit[:200]
    if anthropic_user:
        return anthropic_user[:200]
    return settings.SESSION_FALLBACK_ID


def _load(owner_id: int | None, session_id: str) -> SessionState:
    from .models import Session

    row = Session.objects.filter(owner_id=owner_id, session_id=session_id).first()
    return SessionState(session_id, owner_id, dict(row.overrides) if row else {})


async def session_get(owner_id: int | None, session_id: str) -> SessionState:
    key = (owner_id, session_id)
    state = _cache.get(key)
    if state is None or time.monotonic() - state.loaded_at > SESSION_CACHE_SECONDS:
        state = await sync_to_async(_load, thread_sensitive=True)(owner_id, session_id)
        _cache[key] = state
        if len(_cache) > SESSION_CACHE_MAX:
            _cache.popitem(last=False)
    _cache.move_to_end(key)
    return state


def _save(state: SessionState) -> None:
    from .models import Session

    Session.objects.update_or_create(
        owner_id=state.owner_id, session_id=state.session_id, defaults={"overrides": state.overrides}
    )


async def session_save(state: SessionState) -> None:
    state.loaded_at = time.monotonic()
    _cache[(state.owner_id, state.session_id)] = state
    await sync_to_async(_save, thread_sensitive=True)(state)


def session_cache_clear() -> None:
    _cache.clear()
