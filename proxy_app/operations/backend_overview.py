"""The backends as an operator sees them, secrets left out.

Where each backend comes from, its keys' states (keys masked) and how its latest requests went:
read from the key-state store in memory and one indexed query of the newest usage rows, never
from an upstream. The status page (``status_page``) and the admin's backend lists show these.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from proxy_app.core.secrets import mask_secret
from proxy_app.models import Backend
from proxy_app.providers.config import configured_specs
from proxy_app.providers.keys import KeyPool
from proxy_app.providers.registry import Registry
from usage_app.models import UsageRecord

RECENT_REQUESTS = 200  # newest usage rows read for "how did its latest requests go", over all backends


def display_url(url: str) -> str:
    """``url`` without the parts that may hold a credential: user info, query and fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def clock(epoch: float) -> str:
    return time.strftime("%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class KeyRow:
    hint: str  # the masked key
    state: str  # active, cooling or invalid
    cooling_until: str  # "HH:MM:SSZ" while cooling, else ""


def key_rows(pool: KeyPool) -> list[KeyRow]:
    return [KeyRow(mask_secret(pool.keys[index]), state, clock(until) if until else "")
            for index, state, until in pool.states()]


def admin_backend_names() -> set[str]:
    """Enabled admin-defined backends: one of them replaces an environment backend of the same name."""
    return set(Backend.objects.filter(is_enabled=True).values_list("name", flat=True))


@dataclass(frozen=True)
class EnvironmentBackend:
    """A backend configured outside the admin: by the environment or the configuration file."""

    name: str
    protocol: str
    base_url: str
    keys: list[KeyRow]
    replaced: bool  # an enabled admin backend of the same name serves instead
    source: str  # "environment" or "config file"


def environment_backends() -> list[EnvironmentBackend]:
    """The backends the environment and the configuration file configure, as they stand in this process."""
    replaced = admin_backend_names()
    return [EnvironmentBackend(spec.name, spec.protocol, display_url(spec.base_url),
                               key_rows(KeyPool(spec.name, spec.keys)), spec.name in replaced, spec.source)
            for spec in configured_specs()]


@dataclass(frozen=True)
class RecentOutcome:
    requests: int
    errors: int
    last_status: int
    last_at: datetime


def recent_outcomes() -> dict[str, RecentOutcome]:
    """Per backend, its requests among the newest ``RECENT_REQUESTS`` usage rows."""
    rows = list(UsageRecord.objects.order_by("-created_at", "-id")
                .values_list("backend", "status", "created_at")[:RECENT_REQUESTS])
    requests = Counter(backend for backend, _, _ in rows)
    errors = Counter(backend for backend, status, _ in rows if status >= 400)
    outcomes: dict[str, RecentOutcome] = {}
    for backend, status, created_at in rows:  # newest first: the first row of a backend is its last request
        outcomes.setdefault(backend, RecentOutcome(requests[backend], errors[backend], status, created_at))
    return outcomes


@dataclass(frozen=True)
class BackendHealth:
    name: str
    protocol: str
    source: str  # "environment" or "admin"
    base_url: str
    key_count: int
    keys: str  # "2 active, 1 cooling (until 12:00:05Z), 0 invalid"
    recent: RecentOutcome | None
    level: str  # ok, warning or error
    reason: str


def assess(states: list[str], recent: RecentOutcome | None) -> tuple[str, str]:
    """A backend's health level and its reason, from its keys' states and its latest requests."""
    if states and "active" not in states:
        return "error", "no usable key: every key is cooling down or invalid"
    if recent is not None and recent.last_status >= 400:
        return "error", f"its last request failed with {recent.last_status}"
    if any(state != "active" for state in states):
        return "warning", "some keys are cooling down or invalid"
    if recent is not None and recent.errors:
        return "warning", f"{recent.errors} of its last {recent.requests} requests failed"
    return "ok", "serving" if recent is not None else "ready, no recent request"


def backend_health(registry: Registry) -> list[BackendHealth]:
    """Every backend of ``registry`` with its health (reads the database: call it off the event loop)."""
    from_admin = admin_backend_names()
    outcomes = recent_outcomes()
    out = []
    for name, runtime in registry.backends.items():
        recent = outcomes.get(name)
        level, reason = assess([state for _, state, _ in runtime.pool.states()], recent)
        out.append(BackendHealth(
            name=name, protocol=runtime.protocol, source="admin" if name in from_admin else "environment",
            base_url=display_url(runtime.spec.base_url), key_count=runtime.key_count,
            keys=runtime.key_states(), recent=recent, level=level, reason=reason,
        ))
    return out
