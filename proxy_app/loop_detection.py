"""Incremental detection of degenerate repetition (a model looping) in answer text.

A *loop* is a block of ``L`` characters repeated back to back at the end of the text.
How many repetitions it takes depends on ``L`` (defaults in brackets):

* long blocks, ``long_pattern_length``..``max_pattern_length`` chars [100..500]:
  ``min_repetitions_long`` [3] — a paragraph said three times in a row is never prose;
* medium blocks, ``medium_pattern_length``..``long_pattern_length - 1`` [30..99]:
  ``min_repetitions_medium`` [4] — one sentence or code line four times in a row;
* short blocks, below ``medium_pattern_length`` [1..29]: ``min_repetitions_short`` [8]
  *and* at least ``min_short_loop_chars`` [160] repeated characters, so ``very very``,
  ``0, 0, 0`` or ``ha ha`` stay legal while ``the the the …`` is caught;
* low-information blocks (fewer than 3 distinct letters/digits, e.g. ``-----``,
  ``|---|``, ``0x00, ``, ``| | |``, emoji, ``!!!``) whatever their length need at least
  ``min_low_information_chars`` [1024] repeated characters: separators, table rules and
  zero-filled arrays are legitimately long, yet a real ``!!!!…`` loop is still stopped;
* whitespace-only blocks never count.

Repetition must be *exact* and *consecutive*: numbered lists, tables whose rows differ in
one cell, JSON arrays with different ids, timestamped logs and refrains separated by
verses are therefore never periodic and cannot fire.

Cost: the text is analysed only when its length crosses a multiple of
``analysis_interval`` and only over the last ``buffer_size`` characters, so the result
depends only on the text, never on how it was split into deltas. One analysis finds the
candidate periods from the earlier occurrences of the final characters
(``str.rfind``) and measures each candidate run with slice comparisons (C speed), about
O(max_pattern_length) work per analysis — amortised O(1) per character.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Longest text tail used to propose candidate periods: longer tails recur by chance less often.
_MAX_TAIL = 64
_NOTICE_SNIPPET = 60

HALT_NOTICE = '\n\n[Response halted by llm-interactive-proxy: a loop was detected — the block "{snippet}" repeated {repetitions} times.]'


@dataclass(frozen=True)
class LoopConfig:
    enabled: bool = True
    buffer_size: int = 2048
    max_pattern_length: int = 500
    min_repetitions_short: int = 8
    min_repetitions_medium: int = 4
    min_repetitions_long: int = 3
    analysis_interval: int = 64
    min_pattern_length: int = 1
    medium_pattern_length: int = 30
    long_pattern_length: int = 100
    min_short_loop_chars: int = 160
    min_low_information_chars: int = 1024

    def __post_init__(self) -> None:
        if self.analysis_interval < 1 or self.min_pattern_length < 1:
            raise ValueError("analysis_interval and min_pattern_length must be positive")
        if self.buffer_size < self.max_pattern_length * self.min_repetitions_long:
            raise ValueError("buffer_size must hold max_pattern_length * min_repetitions_long characters")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> LoopConfig:
        """Build from Django-style settings keys; absent keys keep the defaults."""
        keys = {
            "LOOP_DETECTION_ENABLED": "enabled",
            "LOOP_DETECTION_BUFFER_SIZE": "buffer_size",
            "LOOP_DETECTION_MAX_PATTERN_LENGTH": "max_pattern_length",
            "LOOP_DETECTION_MIN_REPETITIONS_SHORT": "min_repetitions_short",
            "LOOP_DETECTION_MIN_REPETITIONS_MEDIUM": "min_repetitions_medium",
            "LOOP_DETECTION_MIN_REPETITIONS_LONG": "min_repetitions_long",
            "LOOP_DETECTION_ANALYSIS_INTERVAL": "analysis_interval",
        }
        values: dict[str, Any] = {}
        for key, field_name in keys.items():
            if key not in settings or settings[key] is None:
                continue
            raw = settings[key]
            values[field_name] = _as_bool(raw) if field_name == "enabled" else int(raw)
        return cls(**values)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


@dataclass(frozen=True)
class LoopMatch:
    pattern: str
    repetitions: int
    # Offset in the whole fed text where the run (the block's first occurrence) begins.
    start: int

    @property
    def safe_prefix_length(self) -> int:
        """Text before this offset may be forwarded: it ends after the block's first occurrence."""
        return self.start + len(self.pattern)


def required_repetitions(length: int, config: LoopConfig) -> int:
    """How many consecutive copies a block of ``length`` chars needs to count as a loop."""
    if length >= config.long_pattern_length:
        return config.min_repetitions_long
    if length >= config.medium_pattern_length:
        return config.min_repetitions_medium
    return config.min_repetitions_short


def _is_loop(block: str, run: int, config: LoopConfig) -> bool:
    length = len(block)
    if length < config.min_pattern_length or run // length < required_repetitions(length, config):
        return False
    if length < config.medium_pattern_length and run < config.min_short_loop_chars:
        return False
    if len({c for c in block if c.isalnum()}) < 3:
        return run >= config.min_low_information_chars
    return True


@lru_cache(maxsize=32)
def tail_length(config: LoopConfig) -> int:
    """Longest tail that still recurs at distance ``p`` whenever a ``p``-periodic run could fire.

    A run long enough to fire covers ``p + tail`` characters, so its tail occurs ``p``
    characters earlier; a longer tail means fewer chance occurrences to check.
    """
    periods = range(config.min_pattern_length, config.max_pattern_length + 1)
    slack = min(_shortest_firing_run(p, config) - p for p in periods)
    return max(1, min(_MAX_TAIL, slack))


def _shortest_firing_run(period: int, config: LoopConfig) -> int:
    run = required_repetitions(period, config) * period
    if period < config.medium_pattern_length:
        run = max(run, config.min_short_loop_chars)
    return run


def _run_length(window: str, period: int) -> int:
    """Length of the longest suffix of ``window`` that is ``period``-periodic (galloping + bisection)."""
    n = len(window)

    def periodic(length: int) -> bool:
        return window[n - length : n - period] == window[n - length + period :]

    good = 2 * period  # the caller has checked two full copies
    step = good
    while good < n:
        probe = min(n, good + step)
        if not periodic(probe):
            bad = probe
            break
        good = probe
        step *= 2
    else:
        return n
    while bad - good > 1:
        mid = (good + bad) // 2
        if periodic(mid):
            good = mid
        else:
            bad = mid
    return good


def _analyse(window: str, offset: int, config: LoopConfig, tail_len: int) -> LoopMatch | None:
    """Find a loop ending at the end of ``window`` (whose first char is at ``offset`` in the text)."""
    n = len(window)
    if n <= tail_len:
        return None
    tail_start = n - tail_len
    tail = window[tail_start:]
    lo = max(0, tail_start - config.max_pattern_length)
    hi = n - 1  # an occurrence must end before the text does, i.e. period >= 1
    seen: set[int] = set()
    while True:
        found = window.rfind(tail, lo, hi)
        if found < 0:
            return None
        period = tail_start - found
        hi = found + tail_len - 1
        if 2 * period > n or window[n - 2 * period : n - period] != window[n - period :]:
            continue
        block = window[n - period :]
        # A block made of smaller copies is judged by its primitive period, so "-" * 300
        # is not mistaken for three 100-char blocks.
        primitive = (block + block).find(block, 1)
        if primitive < period:
            period = primitive
            block = window[n - period :]
        if period in seen:
            continue
        seen.add(period)
        run = _run_length(window, period)
        # Candidates inside this run are multiples of its period (same run) or were seen first.
        hi = min(hi, max(n - run + tail_len - 1, 0))
        if not block.strip():
            continue
        if _is_loop(block, run, config):
            begin = n - run
            return LoopMatch(pattern=window[begin : begin + period], repetitions=run // period, start=offset + begin)


class LoopDetector:
    """Per-request streaming detector: ``feed`` each text delta, act on the first match."""

    __slots__ = ("config", "match", "_tail_len", "_buffer", "_pending", "_total", "_next_check")

    def __init__(self, config: LoopConfig | None = None) -> None:
        self.config = config or LoopConfig()
        self.match: LoopMatch | None = None
        self._tail_len = tail_length(self.config)
        self._buffer = ""
        self._pending: list[str] = []
        self._total = 0
        self._next_check = self.config.analysis_interval

    @property
    def fed_length(self) -> int:
        return self._total

    def feed(self, text: str) -> LoopMatch | None:
        """Add a delta; returns a match only on the call that first detects a loop."""
        if not text or self.match is not None or not self.config.enabled:
            return None
        self._pending.append(text)
        self._total += len(text)
        if self._total < self._next_check:
            return None
        return self._analyse_until(self._total)

    def finish(self) -> LoopMatch | None:
        """Analyse the text after the last analysis point (call when the stream ends)."""
        if self.match is not None or not self.config.enabled:
            return None
        match = self._analyse_until(self._total)
        if match is None and self._total % self.config.analysis_interval:
            match = self._check_at(self._total)
        return match

    def _join(self) -> tuple[str, int]:
        if self._pending:
            self._buffer += "".join(self._pending)
            self._pending.clear()
        return self._buffer, self._total - len(self._buffer)

    def _check_at(self, end: int) -> LoopMatch | None:
        data, base = self._join()
        begin = max(base, end - self.config.buffer_size)
        self.match = _analyse(data[begin - base : end - base], begin, self.config, self._tail_len)
        return self.match

    def _analyse_until(self, end: int) -> LoopMatch | None:
        interval = self.config.analysis_interval
        while self._next_check <= end:
            checkpoint = self._next_check
            self._next_check += interval
            if self._check_at(checkpoint) is not None:
                return self.match
        self._buffer = self._buffer[-self.config.buffer_size :]
        return None


def find_loop(text: str, config: LoopConfig | None = None) -> LoopMatch | None:
    """The loop a streaming detector would report for ``text`` (for non-streamed answers)."""
    detector = LoopDetector(config)
    return detector.feed(text) or detector.finish()


def halt_notice(match: LoopMatch) -> str:
    """The user-visible note appended where a looping answer is cut."""
    snippet = " ".join(match.pattern.split())
    if len(snippet) > _NOTICE_SNIPPET:
        snippet = snippet[:_NOTICE_SNIPPET].rstrip() + "…"
    return HALT_NOTICE.format(snippet=snippet, repetitions=match.repetitions)
