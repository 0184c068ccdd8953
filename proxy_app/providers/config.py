"""Which backends exist: the configuration file's, the four providers configured from the environment
(which replace the file's backend of the same name), plus admin-defined ones (see ``registry``)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from proxy_app.core.file_config import LoadedConfig

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
    """Seconds: a whole non-streamed call (``total``; also its only bound on the wait for the answer's
    head, which comes when the whole answer is ready), connecting, a stream's wait for the response
    head (``first_byte``), and each wait for more of a body (``idle``: what bounds a stream, whose
    length is the client's business)."""

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
    source: str = "environment"  # where it is configured: "config file", "environment" or "admin"
    # A URL a client chose (a session's openai-url), not the operator: it may reach public addresses
    # only, unless allowed (proxy_app.core.destinations); the operator's own backends are trusted.
    user_chosen: bool = False


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


def specs_from_file(loaded: LoadedConfig | None) -> list[BackendSpec]:
    """The configuration file's backends, keys resolved from the environment variables it names."""
    if loaded is None:
        return []
    specs = []
    for name, backend in loaded.config.backends.items():
        defaults = PROVIDERS.get(backend.type)
        base_url = backend.base_url or (defaults.base_url if defaults else "")
        specs.append(
            BackendSpec(
                name=name,
                protocol=defaults.protocol if defaults else "openai_chat",
                base_url=base_url.rstrip("/"),
                keys=tuple(loaded.secret(ref) for ref in backend.keys),
                headers=dict(backend.headers),
                static_models=tuple(backend.models),
                timeouts=Timeouts(**backend.timeouts.model_dump()),
                source="config file",
            )
        )
    return specs


def configured_specs() -> list[BackendSpec]:
    """The file's backends, each replaced by the environment's backend of the same name, then the
    environment's others (the admin's are merged over these by the registry)."""
    by_name = {spec.name: spec for spec in specs_from_file(settings.PROXY_FILE_CONFIG)}
    for spec in specs_from_env():
        if spec.name in by_name:
            logger.info("backend %s: the environment's configuration replaces the file's", spec.name)
        by_name[spec.name] = spec
    return list(by_name.values())
