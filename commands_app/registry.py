"""The one place commands are registered; ``help`` is generated from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands_app.parser import Command
    from commands_app.sessions import SessionState
    from proxy_app.core.catalog import BackendCatalog
    from proxy_app.core.principal import Principal


class CommandError(Exception):
    """A user-facing error: bad arguments, out-of-range values, missing permission."""


@dataclass
class CommandContext:
    session: SessionState
    principal: Principal
    backends: BackendCatalog
    prefix: str
    protocol: str
    session_changed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def owner_id(self) -> int | None:
        return self.principal.key_id

    def set_override(self, name: str, value: Any) -> None:
        self.session.overrides[name] = value
        self.session_changed = True

    def clear_override(self, name: str) -> bool:
        if name in self.session.overrides:
            del self.session.overrides[name]
            self.session_changed = True
            return True
        return False


Handler = Callable[["Command", CommandContext], Awaitable[str]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    usage: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    changes_shared_state: bool = False


COMMANDS: dict[str, CommandSpec] = {}
_BY_ALIAS: dict[str, str] = {}


def command(
    name: str, *, summary: str, usage: str = "", aliases: tuple[str, ...] = (), shared: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as ``name`` (and its aliases)."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = CommandSpec(name, summary, usage or name, handler, aliases, shared)
        for alias in (name, *aliases):
            _BY_ALIAS[alias] = name
        return handler

    return register


def lookup(name: str) -> CommandSpec | None:
    canonical = _BY_ALIAS.get(name) or _BY_ALIAS.get(name.replace("_", "-"))
    return COMMANDS.get(canonical) if canonical else None


def known_names() -> list[str]:
    return sorted(_BY_ALIAS)
