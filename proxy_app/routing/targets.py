"""Model-name resolution and attempt planning: ``backend:model`` or a route name -> ordered attempts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from proxy_app.core.canonical import ProxyError
from proxy_app.providers.registry import Registry

_BACKEND_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+$")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Target:
    backend: str
    model: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.model}"


@dataclass(frozen=True, slots=True)
class Attempt:
    target: Target
    key_index: int  # -1 when the backend needs no key


def unknown_backend_error(prefix: str, registry: Registry) -> ProxyError:
    configured = ", ".join(sorted(registry.backends)) or "none"
    return ProxyError(
        f"unknown backend '{prefix}'; configured backends: {configured}", param="model", code="unknown_backend"
    )


def parse_target(name: str, registry: Registry, *, default_backend: str | None = None) -> Target:
    """``openrouter:openai/gpt-4`` -> Target("openrouter", "openai/gpt-4"); a bare name uses the default."""
    if _CONTROL_CHARACTER.search(name):
        # No provider has such a model, and in an upstream URL (Gemini's) they would be dropped or
        # escaped on the way, asking for a model the client did not name.
        raise ProxyError(f"model name {name[:100]!r} contains control characters", param="model")
    prefix, sep, rest = name.partition(":")
    if sep and _BACKEND_PREFIX.match(prefix):
        if prefix in registry.backends:
            if not rest:
                raise ProxyError(f"model name '{name}' has no model after the backend prefix", param="model")
            return Target(prefix, rest)
        if "/" not in prefix and not prefix[:1].isdigit():
            raise unknown_backend_error(prefix, registry)
    backend = default_backend or registry.default_backend
    if backend is None or backend not in registry.backends:
        raise ProxyError("no backend is configured; set e.g. OPENAI_API_KEY or OPENAI_API_BASE_URL", kind="unavailable")
    return Target(backend, name)


def plan_attempts(targets: list[Target], policy: str, registry: Registry,
                  preferred: Mapping[str, str] | None = None) -> list[Attempt]:
    """The ordered attempts for a route, per the seed's failover policies.

    * ``k``  – the first element only, once with each key of its backend;
    * ``m``  – each element in order, with the first available key of its backend;
    * ``km`` – each element in order, and within it every key;
    * ``mk`` – for each key index i, each element's i-th key (keys interleaved across models).

    Keys that are cooling down (for that model) or invalid are left out; the executor
    checks again before each attempt, since an earlier attempt may have cooled one.
    ``preferred`` (backend -> key fingerprint: the conversation's key, ``proxy_app.routing.affinity``)
    puts that key first among its backend's usable keys, without advancing the backend's round-robin.
    """
    for t in targets:
        if t.backend not in registry.backends:
            raise unknown_backend_error(t.backend, registry)

    def usable(target: Target) -> list[int]:
        return registry.backends[target.backend].pool.rotation(target.model, (preferred or {}).get(target.backend))

    if policy == "k":
        return [Attempt(targets[0], i) for i in usable(targets[0])]
    if policy == "m":
        return [Attempt(t, keys[0]) for t in targets if (keys := usable(t))]
    if policy == "km":
        return [Attempt(t, i) for t in targets for i in usable(t)]
    if policy == "mk":
        per_target = [(t, usable(t)) for t in targets]
        depth = max((len(keys) for _, keys in per_target), default=0)
        return [Attempt(t, keys[i]) for i in range(depth) for t, keys in per_target if i < len(keys)]
    raise ProxyError(f"unknown failover policy '{policy}' (use k, m, km or mk)")


def soonest_recovery(targets: list[Target], registry: Registry) -> float | None:
    """The earliest time (epoch seconds) any key of these targets stops cooling down."""
    times = [
        until
        for t in targets
        for i in range(len(registry.backends[t.backend].pool.keys))
        if (until := registry.backends[t.backend].pool.cooling_until(i, t.model)) is not None
    ]
    return min(times) if times else None

