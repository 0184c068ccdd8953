"""Model-name resolution and attempt planning: ``backend:model`` or a route name -> ordered attempts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .registry import Registry
from .translation.canonical import ProxyError

_BACKEND_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+$")


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


def plan_attempts(targets: list[Target], policy: str, registry: Registry) -> list[Attempt]:
    """The ordered attempts for a route, per the seed's failover policies.

    * ``k``  – the first element only, once with each key of its backend;
    * ``m``  – each element in order, with the first available key of its backend;
    * ``km`` – each element in order, and within it every key;
    * ``mk`` – for each key index i, each element's i-th key (keys interleaved across models).
    """
    rotations = {t.backend: _rotation(registry, t.backend) for t in targets}
    if policy == "k":
        first = targets[0]
        return [Attempt(first, i) for i in rotations[first.backend]]
    if policy == "m":
        return [Attempt(t, rotations[t.backend][0]) for t in targets]
    if policy == "km":
        return [Attempt(t, i) for t in targets for i in rotations[t.backend]]
    if policy == "mk":
        depth = max(len(r) for r in rotations.values())
        return [
            Attempt(t, rotations[t.backend][i])
            for i in range(depth)
            for t in targets
            if i < len(rotations[t.backend])
        ]
    raise ProxyError(f"unknown failover policy '{policy}' (use k, m, km or mk)")


def _rotation(registry: Registry, backend: str) -> list[int]:
    runtime = registry.get(backend)
    if runtime is None:
        raise unknown_backend_error(backend, registry)
    return runtime.pool.rotation()
