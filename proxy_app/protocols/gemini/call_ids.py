"""Call ids for Gemini, whose function calls and responses may carry none (they pair up by name)."""

from __future__ import annotations

import re
from collections import deque

from proxy_app.protocols.common import new_id


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class CallIds:
    """Stable ids for id-less function calls, and name-based matching of their responses.

    ``stable`` ids (``call_<name>_<n>``) come out the same each time the same request is decoded;
    responses get random ones.
    """

    def __init__(self, *, stable: bool) -> None:
        self.stable = stable
        self.count = 0
        self.pending: dict[str, deque[str]] = {}

    def call(self, name: str, wire_id: object) -> str:
        call_id = wire_id if isinstance(wire_id, str) and wire_id else self._new(name)
        self.pending.setdefault(name, deque()).append(call_id)
        return call_id

    def response(self, name: str, wire_id: object) -> str:
        queue = self.pending.get(name) or deque()
        if isinstance(wire_id, str) and wire_id:
            if wire_id in queue:
                queue.remove(wire_id)
            return wire_id
        return queue.popleft() if queue else self._new(name)

    def _new(self, name: str) -> str:
        self.count += 1
        if self.stable:
            return f"call_{_safe_name(name)}_{self.count - 1}"
        return new_id("call_")
