"""Detection of a model calling the same tool with the same arguments over and over."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["break", "chance_then_break"]
Action = Literal["allow", "warn", "break"]

ALLOW_MESSAGE = ""
WARN_MESSAGE = (
    'Tool call loop detected: "{tool}" was called more than {max_repeats} times in {ttl}s with identical arguments. '
    "Change the arguments or try a different approach; repeating this call again will stop the request."
)
BREAK_MESSAGE = (
    'Tool call loop detected: "{tool}" was called more than {max_repeats} times in {ttl}s with identical arguments; '
    "the request was stopped by llm-interactive-proxy."
)


@dataclass(frozen=True)
class ToolLoopVerdict:
    action: Action
    # Identical calls inside the window, this one included; counting stops at max_repeats + 1.
    repeats: int
    message: str = ALLOW_MESSAGE


@dataclass
class _Session:
    # signature -> call times, oldest first; LRU order so the stalest signature goes first
    calls: OrderedDict[tuple[str, str], deque[float]] = field(default_factory=OrderedDict)
    warned: dict[tuple[str, str], float] = field(default_factory=dict)
    last_seen: float = 0.0


def canonical_arguments(arguments_json: str) -> str:
    """Key-order- and whitespace-independent form of a tool call's JSON arguments."""
    if not arguments_json.strip():
        return "{}"
    try:
        parsed = json.loads(arguments_json)
    except ValueError:
        return arguments_json
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ToolLoopTracker:
    """Per-session counts of identical tool calls in a sliding ``ttl_seconds`` window.

    A call is a loop once the same name and arguments were seen more than ``max_repeats``
    times in the window. ``mode="break"`` stops at once; ``"chance_then_break"`` warns the
    first time (so the model can change course) and stops if it repeats the call again.
    Memory is bounded: expired calls are dropped, and at most ``max_sessions`` sessions and
    ``max_signatures`` distinct calls per session are kept (least recently used go first).
    """

    def __init__(
        self,
        max_repeats: int = 4,
        ttl_seconds: float = 120,
        mode: Mode = "break",
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = 10_000,
        max_signatures: int = 256,
    ) -> None:
        if max_repeats < 1 or ttl_seconds <= 0:
            raise ValueError("max_repeats and ttl_seconds must be positive")
        if mode not in ("break", "chance_then_break"):
            raise ValueError(f"unknown tool loop mode: {mode!r}")
        self.max_repeats = max_repeats
        self.ttl_seconds = ttl_seconds
        self.mode = mode
        self._clock = clock
        self._max_sessions = max_sessions
        self._max_signatures = max_signatures
        self._sessions: OrderedDict[str, _Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def check(self, session_key: str, tool_name: str, arguments_json: str) -> ToolLoopVerdict:
        """Record one call and say whether to let it through, warn, or stop the request."""
        now = self._clock()
        session = self._sessions.get(session_key)
        if session is None:
            session = self._sessions[session_key] = _Session()
        self._sessions.move_to_end(session_key)
        session.last_seen = now
        self._evict_sessions(now)

        signature = (tool_name, canonical_arguments(arguments_json))
        times = session.calls.pop(signature, None)
        if times is None:
            # Only max_repeats + 1 timestamps matter for the verdict.
            times = deque(maxlen=self.max_repeats + 1)
        session.calls[signature] = times
        horizon = now - self.ttl_seconds
        while times and times[0] <= horizon:
            times.popleft()
        times.append(now)
        self._evict_signatures(session, horizon)

        count = len(times)
        if count <= self.max_repeats:
            return ToolLoopVerdict("allow", count)
        values = {"tool": tool_name, "max_repeats": self.max_repeats, "ttl": _format_seconds(self.ttl_seconds)}
        if self.mode == "chance_then_break":
            warned_at = session.warned.get(signature)
            if warned_at is None or warned_at <= horizon:
                session.warned[signature] = now
                return ToolLoopVerdict("warn", count, WARN_MESSAGE.format(**values))
        return ToolLoopVerdict("break", count, BREAK_MESSAGE.format(**values))

    def forget(self, session_key: str) -> None:
        """Drop a session's history (e.g. when its conversation ends)."""
        self._sessions.pop(session_key, None)

    def _evict_sessions(self, now: float) -> None:
        horizon = now - self.ttl_seconds
        # Sessions are in last-use order, so expired ones sit at the front and the
        # current session (just moved to the end) goes last.
        while len(self._sessions) > 1:
            key, oldest = next(iter(self._sessions.items()))
            if oldest.last_seen > horizon and len(self._sessions) <= self._max_sessions:
                break
            del self._sessions[key]

    def _evict_signatures(self, session: _Session, horizon: float) -> None:
        calls = session.calls
        while calls:
            signature, times = next(iter(calls.items()))
            if times[-1] > horizon and len(calls) <= self._max_signatures:
                break
            del calls[signature]
            session.warned.pop(signature, None)


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
