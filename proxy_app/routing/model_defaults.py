"""Per-model request defaults from the admin, matched by backend and glob, kept in memory."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from proxy_app.core import canonical as c
from proxy_app.models import ModelDefaults
from proxy_app.routing.targets import Target


@dataclass(frozen=True)
class Defaults:
    backend: str
    pattern: str
    temperature: float | None
    reasoning_effort: str
    thinking_budget: int | None
    max_tokens: int | None

    def matches(self, target: Target) -> bool:
        return (not self.backend or self.backend == target.backend) and fnmatch.fnmatchcase(target.model, self.pattern)


_defaults: list[Defaults] | None = None


def _load() -> list[Defaults]:
    rows = ModelDefaults.objects.all()
    # most specific first: a named backend before "any", a longer pattern before a shorter one
    return sorted(
        (Defaults(r.backend, r.model_pattern, r.temperature, r.reasoning_effort, r.thinking_budget, r.max_tokens)
         for r in rows),
        key=lambda d: (not d.backend, -len(d.pattern.replace("*", ""))),
    )


async def defaults_apply(chat: c.ChatRequest, target: Target) -> None:
    """Fill what ``chat`` leaves unset from the first matching defaults row."""
    global _defaults
    if _defaults is None:
        _defaults = await sync_to_async(_load, thread_sensitive=True)()
    for row in _defaults:
        if row.matches(target):
            if chat.temperature is None and row.temperature is not None:
                chat.temperature = row.temperature
            if chat.max_tokens is None and row.max_tokens is not None:
                chat.max_tokens = row.max_tokens
            if chat.reasoning is None and (row.reasoning_effort or row.thinking_budget is not None):
                chat.reasoning = c.Reasoning(effort=row.reasoning_effort or None, budget_tokens=row.thinking_budget,
                                             enabled=row.thinking_budget != 0)
            return


def invalidate_model_defaults() -> None:
    global _defaults
    _defaults = None
