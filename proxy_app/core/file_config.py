"""The proxy's configuration file (``--config proxy.yaml`` or ``LLM_PROXY_CONFIG``): schema and loader.

One versioned file for what an operator otherwise spreads over environment variables and the admin:
backends and their keys, model aliases, failover routes, proxy keys with their limits and budgets,
guard, timeout, retry and usage settings. ``proxy.example.yaml`` at the project root shows every option.

Precedence, lowest first: built-in defaults, this file, the ``.env`` file, exported environment
variables; backends, routes and keys edited in the admin win over the file's of the same name.
Secrets are never written in the file: a key is a reference ``os.environ/NAME``, resolved at load.

Errors name the file, the line and the field (``proxy.yaml:12: backends.local.base_url: Field
required``), so a bad file stops the start with one line. No Django here: the settings module loads
this before Django is set up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

logger = logging.getLogger("llmproxy.config")

ENV_REFERENCE = "os.environ/"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file, line and field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SecretRef = Annotated[str, Field(pattern=r"^os\.environ/[A-Za-z_][A-Za-z0-9_]*$",
                                 description="os.environ/NAME: the key is read from that variable")]
PositiveSeconds = Annotated[float, Field(gt=0)]


class Timeouts(_Section):
    total: PositiveSeconds | None = None
    connect: PositiveSeconds | None = None
    first_byte: PositiveSeconds | None = None
    idle: PositiveSeconds | None = None


class BackendConfig(_Section):
    type: Literal["openai", "openrouter", "anthropic", "gemini", "openai_compatible"]
    base_url: str | None = None
    keys: list[SecretRef] = []
    headers: dict[str, str] = {}
    models: list[str] = []
    timeouts: Timeouts = Timeouts()

    @model_validator(mode="after")
    def _compatible_needs_url(self) -> BackendConfig:
        if self.type == "openai_compatible" and not self.base_url:
            raise ValueError("an openai_compatible backend needs a base_url")
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class RouteConfig(_Section):
    policy: Literal["k", "m", "km", "mk"] = "m"
    elements: list[str] = Field(min_length=1)
    compact: bool = False


class KeyConfig(_Section):
    name: str = Field(min_length=1, max_length=100)
    key: SecretRef
    project: str = ""
    admin: bool = False
    can_change_shared_state: bool = True
    allowed_models: list[str] = []
    rate_limit_rpm: int | None = Field(default=None, gt=0)
    budget_usd: Decimal | None = Field(default=None, ge=0)


class LoopDetection(_Section):
    enabled: bool | None = None
    buffer_size: int | None = Field(default=None, gt=0)
    max_pattern_length: int | None = Field(default=None, gt=0)
    min_repetitions_short: int | None = Field(default=None, gt=1)
    min_repetitions_medium: int | None = Field(default=None, gt=1)
    min_repetitions_long: int | None = Field(default=None, gt=1)
    analysis_interval: int | None = Field(default=None, gt=0)
    paraphrase_enabled: bool | None = None
    paraphrase_similarity: float | None = Field(default=None, gt=0, le=1)


class ToolLoop(_Section):
    enabled: bool | None = None
    mode: Literal["break", "chance_then_break"] | None = None
    max_repeats: int | None = Field(default=None, gt=0)
    cycle_max_period: int | None = Field(default=None, gt=0)
    cycle_max_repeats: int | None = Field(default=None, gt=0)
    no_progress_enabled: bool | None = None
    no_progress_max_calls: int | None = Field(default=None, gt=0)


class Guards(_Section):
    redact_api_keys: bool | None = None
    loop_detection: LoopDetection = LoopDetection()
    tool_loop: ToolLoop = ToolLoop()


class Retries(_Section):
    max_attempts: int | None = Field(default=None, gt=0)
    backoff_base: float | None = Field(default=None, ge=0)
    backoff_max: float | None = Field(default=None, ge=0)
    default_cooldown_seconds: float | None = Field(default=None, ge=0)
    cooldown_wait_max_seconds: float | None = Field(default=None, ge=0)


class Usage(_Section):
    recording: bool | None = None
    capture_bodies: bool | None = None
    retention_days: int | None = Field(default=None, gt=0)
    capture_retention_days: int | None = Field(default=None, gt=0)


class Server(_Section):
    default_backend: str | None = None
    command_prefix: str | None = Field(default=None, min_length=1)
    interactive_commands: bool | None = None
    max_request_body_bytes: int | None = Field(default=None, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None


class ProxyConfig(_Section):
    server: Server = Server()
    timeouts: Timeouts = Timeouts()
    retries: Retries = Retries()
    backends: dict[str, BackendConfig] = {}
    aliases: dict[str, str] = {}
    routes: dict[str, RouteConfig] = {}
    keys: list[KeyConfig] = []
    guards: Guards = Guards()
    usage: Usage = Usage()

    @model_validator(mode="after")
    def _names_unique(self) -> ProxyConfig:
        names = [k.name for k in self.keys]
        if len(names) != len(set(names)):
            raise ValueError(f"keys: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
        if clash := sorted(set(self.aliases) & set(self.routes)):
            raise ValueError(f"a name is both an alias and a route: {', '.join(clash)}")
        return self


@dataclass(frozen=True)
class LoadedConfig:
    """A validated file with its secrets resolved (``secrets`` maps each ``os.environ/NAME`` to its value)."""

    path: Path
    config: ProxyConfig
    secrets: Mapping[str, str]

    def secret(self, reference: str) -> str:
        return self.secrets[reference]


# The settings each file field stands for (applied as defaults below the environment).
SETTINGS: dict[tuple[str, ...], str] = {
    ("server", "default_backend"): "LLM_BACKEND",
    ("server", "command_prefix"): "COMMAND_PREFIX",
    ("server", "max_request_body_bytes"): "MAX_REQUEST_BODY_BYTES",
    ("server", "log_level"): "LOG_LEVEL",
    ("timeouts", "total"): "PROXY_TIMEOUT",
    ("timeouts", "connect"): "PROXY_CONNECT_TIMEOUT",
    ("timeouts", "first_byte"): "PROXY_FIRST_BYTE_TIMEOUT",
    ("timeouts", "idle"): "PROXY_IDLE_TIMEOUT",
    ("retries", "max_attempts"): "PROXY_MAX_ATTEMPTS",
    ("retries", "backoff_base"): "PROXY_RETRY_BACKOFF_BASE",
    ("retries", "backoff_max"): "PROXY_RETRY_BACKOFF_MAX",
    ("retries", "default_cooldown_seconds"): "DEFAULT_COOLDOWN_SECONDS",
    ("retries", "cooldown_wait_max_seconds"): "COOLDOWN_WAIT_MAX_SECONDS",
    ("guards", "redact_api_keys"): "REDACT_API_KEYS_IN_PROMPTS",
    **{("guards", "loop_detection", name): f"LOOP_DETECTION_{name.upper()}" for name in LoopDetection.model_fields},
    **{("guards", "tool_loop", name): ("TOOL_LOOP_DETECTION_ENABLED" if name == "enabled" else f"TOOL_LOOP_{name.upper()}")
       for name in ToolLoop.model_fields},
    ("usage", "recording"): "USAGE_RECORDING_ENABLED",
    ("usage", "capture_bodies"): "USAGE_CAPTURE_BODIES",
    ("usage", "retention_days"): "USAGE_RETENTION_DAYS",
    ("usage", "capture_retention_days"): "USAGE_CAPTURE_RETENTION_DAYS",
}
INVERTED = {("server", "interactive_commands"): "DISABLE_INTERACTIVE_COMMANDS"}


def settings_defaults(config: ProxyConfig) -> dict[str, str]:
    """The file's settings as environment-style strings (``{"PROXY_TIMEOUT": "300.0", ...}``)."""
    out: dict[str, str] = {}
    for path, name in [*SETTINGS.items(), *INVERTED.items()]:
        value: Any = config
        for part in path:
            value = getattr(value, part)
        if value is None:
            continue
        if path in INVERTED:
            value = not value
        out[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def apply_as_environment_defaults(config: ProxyConfig, environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Set the file's settings where the environment has none; the names the environment overrode."""
    overridden = []
    for name, value in settings_defaults(config).items():
        if name in environ:
            overridden.append(name)
        else:
            environ[name] = value
    return overridden


# ---------------------------------------------------------------- loading


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the value at ``loc`` in the composed YAML (the deepest node found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if found is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
                return key.start_mark.line + 1 if key is not None else line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _references(config: ProxyConfig) -> list[tuple[tuple[int | str, ...], str]]:
    refs: list[tuple[tuple[int | str, ...], str]] = []
    for name, backend in config.backends.items():
        refs += [(("backends", name, "keys", i), ref) for i, ref in enumerate(backend.keys)]
    refs += [(("keys", i, "key"), key.key) for i, key in enumerate(config.keys)]
    return refs


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, validate and resolve ``path``; ``ConfigError`` with ``file:line: field: problem`` lines."""
    environ = os.environ if environ is None else environ
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the configuration file ({exc.strerror or exc})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}:1: the file must be a mapping of sections (server, backends, routes, ...)")
    try:
        config = ProxyConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(root, loc)
            field = _field_path(loc) or "(top level)"
            lines.append(f"{file}:{line}: {field}: {error['msg']}" if line else f"{file}: {field}: {error['msg']}")
        raise ConfigError("\n".join(lines)) from None
    secrets: dict[str, str] = {}
    missing = []
    for loc, ref in _references(config):
        value = environ.get(ref[len(ENV_REFERENCE):], "").strip()
        if value:
            secrets[ref] = value
        else:
            missing.append(f"{file}:{_line_of(root, loc)}: {_field_path(loc)}: {ref[len(ENV_REFERENCE):]} is not set")
    if missing:
        raise ConfigError("\n".join(missing))
    return LoadedConfig(file, config, secrets)
