"""Apply a session's overrides to a request: model, one-off model, sampling and reasoning defaults."""

from __future__ import annotations

from dataclasses import dataclass

from commands_app.sessions import SessionState, session_save
from proxy_app.core import canonical as c


@dataclass(frozen=True)
class RoutingHints:
    default_backend: str | None = None
    openai_url: str | None = None
    project: str | None = None


async def overrides_apply(chat: c.ChatRequest, session: SessionState) -> RoutingHints:
    """Mutate ``chat`` per the session (request values win over session defaults)."""
    overrides = session.overrides
    if not overrides:
        return RoutingHints()
    oneoff = overrides.get("oneoff")
    if oneoff:
        chat.model = oneoff
        del overrides["oneoff"]
        await session_save(session)
    elif overrides.get("model"):
        chat.model = overrides["model"]
    if chat.temperature is None and overrides.get("temperature") is not None:
        chat.temperature = float(overrides["temperature"])
    effort, budget = overrides.get("reasoning-effort"), overrides.get("thinking-budget")
    if chat.reasoning is None and (effort or budget is not None):
        chat.reasoning = c.Reasoning(effort=effort, budget_tokens=budget, enabled=budget != 0)
    for flag in ("redact-api-keys-in-prompts", "loop-detection", "tool-loop-detection", "compact"):
        if flag in overrides:
            chat.meta[flag] = bool(overrides[flag])
    return RoutingHints(
        default_backend=overrides.get("backend"),
        openai_url=overrides.get("openai-url"),
        project=overrides.get("project"),
    )
