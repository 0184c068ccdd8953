"""Command aliases (``!/fast`` -> ``set(model=...)``): an in-memory view of ``CommandAlias``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.models import CommandAlias

_aliases: dict[tuple[int | None, str], str] | None = None


def _load() -> dict[tuple[int | None, str], str]:
    return {(a.owner_id, a.name): a.command for a in CommandAlias.objects.all()}


async def alias_lookup(name: str, owner_id: int | None) -> str | None:
    global _aliases
    if _aliases is None:
        _aliases = await sync_to_async(_load, thread_sensitive=True)()
    return _aliases.get((owner_id, name)) or _aliases.get((None, name))


def alias_save(*, name: str, command: str, owner_id: int | None) -> None:
    CommandAlias.objects.update_or_create(owner_id=owner_id, name=name, defaults={"command": command})


def invalidate_aliases() -> None:
    global _aliases
    _aliases = None
