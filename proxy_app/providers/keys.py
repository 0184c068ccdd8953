"""Backend key pools: round-robin over keys that are neither cooling down nor invalid."""

from __future__ import annotations

import itertools
import time

from proxy_app.core.secrets import mask_secret
from proxy_app.providers.key_state import KeyStateStore, key_fingerprint, key_state

CLIENT_KEY_HINT = "client's own key"

# Round-robin positions per backend survive registry rebuilds (admin edits).
_counters: dict[str, itertools.count] = {}


class KeyPool:
    """The keys of one backend. Cooldowns are per (key, model); invalid marks are per key."""

    client_supplied = False  # the operator's keys (``ClientKeyPool``: a client's own)

    def __init__(self, backend: str, keys: tuple[str, ...]) -> None:
        self.backend = backend
        self.keys = keys
        self.fingerprints = [key_fingerprint(k) for k in keys]
        self._counter = _counters.setdefault(backend, itertools.count())

    @property
    def store(self) -> KeyStateStore:
        return key_state()

    def rotation(self, model: str, prefer: str | None = None) -> list[int]:
        """The indices of the keys usable for ``model``, starting from the next round-robin
        position among them (so a cooling key's turn is shared evenly, not handed to its
        neighbour). A backend without keys gets ``[-1]``.

        ``prefer`` (a key fingerprint: a conversation's key, ``proxy_app.routing.affinity``) comes
        first when usable, and then the round-robin position is not advanced: a conversation's turns
        do not take other conversations' turns, so new conversations still spread over the keys."""
        if not self.keys:
            return [-1]
        usable = [i for i in range(len(self.keys)) if self.available(i, model)]
        if not usable:
            return []
        if prefer in self.fingerprints and (first := self.fingerprints.index(prefer)) in usable:
            return [first, *(i for i in usable if i != first)]
        start = next(self._counter) % len(usable)
        return usable[start:] + usable[:start]

    async def refresh(self) -> None:
        if self.keys:
            await self.store.refresh(self.backend, self.fingerprints)

    def available(self, index: int, model: str) -> bool:
        if index < 0:
            return True
        fingerprint = self.fingerprints[index]
        return not self.store.is_invalid(self.backend, fingerprint) and (
            self.store.cooling_until(self.backend, fingerprint, model) is None
        )

    def cooling_until(self, index: int, model: str) -> float | None:
        return self.store.cooling_until(self.backend, self.fingerprints[index], model) if index >= 0 else None

    async def cool_down(self, index: int, model: str, seconds: float) -> None:
        if index >= 0:
            await self.store.cool_down(self.backend, self.fingerprints[index], model, seconds)

    async def mark_invalid(self, index: int) -> None:
        if index >= 0:
            await self.store.mark_invalid(self.backend, self.fingerprints[index])

    def key(self, index: int) -> str | None:
        return self.keys[index] if index >= 0 else None

    def hint(self, index: int) -> str:
        """How the key is shown (usage rows, logs, traces): masked."""
        return mask_secret(self.key(index))

    def states(self) -> list[tuple[int, str, float | None]]:
        """``(index, "active"|"cooling"|"invalid", cooling until)`` for each key, any model."""
        now = time.time()
        marks = self.store.marks(self.backend)
        out: list[tuple[int, str, float | None]] = []
        for i, fingerprint in enumerate(self.fingerprints):
            if fingerprint in marks.invalid:
                out.append((i, "invalid", None))
                continue
            untils = [u for (fp, _), u in marks.cooling.items() if fp == fingerprint and u > now]
            out.append((i, "cooling", max(untils)) if untils else (i, "active", None))
        return out

    def describe(self) -> str:
        """Key states for humans: ``2 active, 1 cooling (until 12:00:05Z), 0 invalid``."""
        if not self.keys:
            return "no key needed"
        states = self.states()
        active = sum(1 for _, s, _ in states if s == "active")
        invalid = sum(1 for _, s, _ in states if s == "invalid")
        cooling = [u for _, s, u in states if s == "cooling" and u]
        parts = [f"{active} active"]
        if cooling:
            parts.append(f"{len(cooling)} cooling (until {time.strftime('%H:%M:%SZ', time.gmtime(min(cooling)))})")
        parts.append(f"{invalid} invalid")
        return ", ".join(parts)


class ClientKeyPool(KeyPool):
    """The one key a client brought for its request (``X-Upstream-Api-Key``): no rotation, no cooldown,
    no invalid mark, nothing shared or kept; the provider's refusal goes back to the client as it is."""

    client_supplied = True

    def __init__(self, backend: str, key: str) -> None:
        self.backend = backend
        self.keys = (key,)
        self.fingerprints = []  # never stored anywhere, not even as a digest

    def rotation(self, model: str, prefer: str | None = None) -> list[int]:
        return [0]

    async def refresh(self) -> None:
        return None

    def available(self, index: int, model: str) -> bool:
        return True

    def cooling_until(self, index: int, model: str) -> float | None:
        return None

    async def cool_down(self, index: int, model: str, seconds: float) -> None:
        return None

    async def mark_invalid(self, index: int) -> None:
        return None

    def hint(self, index: int) -> str:
        return CLIENT_KEY_HINT

    def states(self) -> list[tuple[int, str, float | None]]:
        return [(0, "active", None)]
