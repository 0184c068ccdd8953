"""The session values ``set``/``unset`` manage: names, aliases and validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.conf import settings

from commands_app.parser import suggest, validate_prefix
from commands_app.registry import CommandContext, CommandError
from proxy_app.core.destinations import DestinationPolicy, DestinationRefused

TRUE = {"true", "on", "yes", "1", "enable", "enabled"}
FALSE = {"false", "off", "no", "0", "disable", "disabled"}
EFFORTS = ("minimal", "low", "medium", "high")


def as_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise CommandError(f"expected true or false, got {value!r}")


def number_in(kind: type[int] | type[float], low: float, high: float) -> Callable[[str, CommandContext], Any]:
    """A parser for a number of ``kind`` (int or float) between ``low`` and ``high``."""
    what = "a whole number" if kind is int else "a number"

    def parse(value: str, _: CommandContext) -> int | float:
        try:
            number = kind(value)
        except ValueError:
            raise CommandError(f"expected {what}, got {value!r}") from None
        if not low <= number <= high:
            raise CommandError(f"must be between {low:g} and {high:g}, got {number:g}")
        return number

    return parse


def parse_model(value: str, ctx: CommandContext) -> str:
    backend, sep, model = value.partition(":")
    if not sep or not model:
        raise CommandError(f"expected backend:model, got {value!r}")
    if backend not in ctx.backends.backends:
        raise CommandError(f"unknown backend '{backend}'; configured: {', '.join(sorted(ctx.backends.backends))}")
    return value


def parse_backend(value: str, ctx: CommandContext) -> str:
    if value not in ctx.backends.backends:
        raise CommandError(f"unknown backend '{value}'; configured: {', '.join(sorted(ctx.backends.backends))}")
    return value


def parse_url(value: str, _: CommandContext) -> str:
    if not settings.OPENAI_URL_COMMAND_ENABLED:
        raise CommandError("the operator has disabled openai_url")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise CommandError(f"openai_url must be an http:// or https:// URL, got {value!r}")
    policy = DestinationPolicy.of(settings.OPENAI_URL_ALLOWED_HOSTS, settings.OPENAI_URL_ALLOWED_NETWORKS)
    try:  # a command is rare: a bounded blocking resolution here is simpler than an async parser API
        policy.check_blocking(parsed.hostname)
    except DestinationRefused as exc:
        raise CommandError(f"openai_url refused: {exc}") from None
    except OSError as exc:
        raise CommandError(f"openai_url refused: cannot resolve {parsed.hostname} ({exc})") from None
    return value.rstrip("/")


def parse_effort(value: str, _: CommandContext) -> str:
    if value.lower() not in EFFORTS:
        raise CommandError(f"reasoning-effort must be one of {', '.join(EFFORTS)}")
    return value.lower()


def parse_prefix(value: str, _: CommandContext) -> str:
    if error := validate_prefix(value):
        raise CommandError(error)
    return value


def parse_text(value: str, _: CommandContext) -> str:
    if not value.strip():
        raise CommandError("expected a non-empty value")
    return value.strip()


def parse_bool(value: str, _: CommandContext) -> bool:
    return as_bool(value)


@dataclass(frozen=True)
class SessionSetting:
    name: str
    parse: Callable[[str, CommandContext], Any]
    help: str
    aliases: tuple[str, ...] = ()


SETTINGS: tuple[SessionSetting, ...] = (
    SessionSetting("model", parse_model, "backend:model for every request of this session"),
    SessionSetting("backend", parse_backend, "backend for bare model names", ("default-backend",)),
    SessionSetting("openai-url", parse_url, "custom OpenAI-compatible base URL for this session", ("openai_url",)),
    SessionSetting("project", parse_text, "project name recorded with usage", ("project-name",)),
    SessionSetting("project-dir", parse_text, "working directory note (shown by pwd)", ("pwd",)),
    SessionSetting("interactive", parse_bool, "interactive mode on/off", ("interactive-mode",)),
    SessionSetting("temperature", number_in(float, 0.0, 2.0), "default temperature (0–2)"),
    SessionSetting("reasoning-effort", parse_effort, "default reasoning effort: minimal|low|medium|high"),
    SessionSetting("thinking-budget", number_in(int, 0, 131072), "default thinking budget in tokens"),
    SessionSetting("redact-api-keys-in-prompts", parse_bool, "redact secrets in prompts (on/off)"),
    SessionSetting("loop-detection", parse_bool, "halt answers that loop (on/off)"),
    SessionSetting("tool-loop-detection", parse_bool, "stop repeated identical tool calls (on/off)"),
    SessionSetting("compact", parse_bool, "shorten old, large tool results (on/off)", ("compaction",)),
    SessionSetting("command-prefix", parse_prefix, "prefix of in-chat commands (2–10 characters)"),
)

_BY_NAME = {alias: s for s in SETTINGS for alias in (s.name, *s.aliases)}


def setting_for(name: str) -> SessionSetting:
    key = name.strip().lower().replace("_", "-")
    found = _BY_NAME.get(key) or _BY_NAME.get(name.strip().lower())
    if found is None:
        hint = suggest(key, _BY_NAME)
        raise CommandError(f"unknown setting '{name}'" + (f"; did you mean '{hint}'?" if hint else ""))
    return found
