"""Backend key pools: round-robin over keys that are neither cooling down nor invalid."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field


@dataclass
class KeyPool:
    """The keys of one backend. Cooldowns are per (key index, model); invalid marks are per key."""

    backend: str
    keys: tuple[str, ...]
    _counter: itertools.count = field(default_factory=itertools.count, repr=False)
    _cooling: dict[tuple[int, str], float] = field(default_factory=dict, repr=False)
    _invalid: set[int] = field(default_factory=set, repr=False)

    def rotation(self) -> list[int]:
        """Every key index, starting from the next round-robin position (no keys: ``[-1]``)."""
        if not self.keys:
            return [-1]
        start = next(self._counter) % len(self.keys)
        n = len(self.keys)
        return [(start + i) % n for i in range(n)]

    def available(self, index: int, model: str, now: float | None = None) -> bool:
        if index < 0:
            return True
        if index in self._invalid:
            return False
        until = self._cooling.get((index, model))
        return until is None or until <= (now if now is not None else time.time())

    def cool_down(self, index: int, model: str, seconds: float) -> None:
        if index >= 0:
            self._cooling[(index, model)] = time.time() + seconds

    def cooling_until(self, index: int, model: str) -> float | None:
        return self._cooling.get((index, model))

    def mark_invalid(self, index: int) -> None:
        if index >= 0:
            self._invalid.add(index)

    def describe(self) -> str:
        """Key states for humans: ``2 active, 1 cooling (until 12:00:05Z), 0 invalid``."""
        if not self.keys:
            return "no key needed"
        now = time.time()
        cooling = {i: until for (i, _), until in self._cooling.items() if until > now}
        active = len(self.keys) - len(self._invalid) - len(set(cooling) - self._invalid)
        parts = [f"{active} active"]
        if cooling:
            soonest = time.strftime("%H:%M:%SZ", time.gmtime(min(cooling.values())))
            parts.append(f"{len(cooling)} cooling (until {soonest})")
        parts.append(f"{len(self._invalid)} invalid")
        return ", ".join(parts)

    def key(self, index: int) -> str | None:
        return self.keys[index] if index >= 0 else None
