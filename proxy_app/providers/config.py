"""Which backends exist: the four providers configured from the environment, plus admin-defined ones."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

logger = logging.getLogger("llmproxy.config")


@dataclass(frozen=True)
class ProviderDefaults:
    protocol: str
    base_url: str
    env_prefix: str


PROVIDERS: dict[str, ProviderDefaults] = {
    "openai": ProviderDefaults("openai_chat", "https://api.openai.com/v1", "OPENAI"),
    "openrouter": ProviderDefaults("openai_chat", "https://openrouter.ai/api/v1", "OPENROUTER"),
    "anthropic": ProviderDefaults("anthropic", "https://api.anthropic.com/v1", "ANTHROPIC"),
    "gemini": ProviderDefaults("gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI"),
}


@dataclass(frozen=True)
class Timeouts:
    """Seconds: a whole non-streamed call, connecting, waiting for the first byte, and between chunks."""

    total: float | None = None
    connect: float | None = None
    first_byte: float | None = None
    idle: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], prefix: str) -> Timeouts:
        def read(name: str) -> float | None:
            value = environ.get(f"{prefix}_{name}", "").strip()
            return float(value) if value else None

        return cls(read("TIMEOUT"), read("CONNECT_TIMEOUT"), read("FIRST_BYTE_TIMEOUT"), read("IDLE_TIMEOUT"))


@dataclass(frozen=True)
class BackendSpec:
    name: str
    protocol: str
    base_url: str
    keys: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    static_models: tuple[str, ...] = ()
    timeouts: Timeouts = Timeouts()


def keys_from_env(environ: Mapping[str, str], prefix: str) -> list[str]:
    """``<PREFIX>_API_KEY_1..N`` if any are set (they win over ``<PREFIX>_API_KEY``), else the single key."""
    pattern = re.compile(rf"^{prefix}_API_KEY_(\d+)$")
    numbered = sorted(
        ((int(m.group(1)), value) for name, value in environ.items() if (m := pattern.match(name)) and value.strip()),
    )
    single = environ.get(f"{prefix}_API_KEY", "").strip()
    if numbered:
        if single:
            logger.warning("%s_API_KEY is ignored because numbered %s_API_KEY_N keys are set", prefix, prefix)
        return [value.strip() for _, value in numbered]
    return [single] if single else []


def specs_from_env(
    environ: Mapping[str, str] | None = None, *, extra_headers: Mapping[str, Mapping[str, str]] | None = None
) -> list[BackendSpec]:
    """Backends configured by environment: those with a key or an explicit base URL, in a fixed order."""
    environ = os.environ if environ is None else environ
    extra_headers = extra_headers or {}
    specs = []
    for name, defaults in PROVIDERS.items():
        keys = keys_from_env(environ, defaults.env_prefix)
        base_url = environ.get(f"{defaults.env_prefix}_API_BASE_URL", "").strip()
        if not keys and not base_url:
            continue
        specs.append(
            BackendSpec(
                name=name,
                protocol=defaults.protocol,
                base_url=(base_url or defaults.base_url).rstrip("/"),
                keys=tuple(keys),
                headers=dict(extra_headers.get(name, {})),
                timeouts=Timeouts.from_env(environ, defaults.env_prefix),
            )
        )
    return specs
