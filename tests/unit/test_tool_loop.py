"""Tests for the tool-call loop tracker, driven by a fake clock."""

from __future__ import annotations

import pytest

from proxy_app.tool_loop import (
    BREAK_MESSAGE,
    WARN_MESSAGE,
    ToolLoopTracker,
    ToolLoopVerdict,
    canonical_arguments,
)

ARGS = '{"path": "src/app.py", "line": 10}'


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _tracker(clock: FakeClock, **kwargs: object) -> ToolLoopTracker:
    return ToolLoopTracker(clock=clock, **kwargs)  # type: ignore[arg-type]


def _actions(tracker: ToolLoopTracker, calls: int, session: str = "s1", args: str = ARGS) -> list[str]:
    return [tracker.check(session, "read_file", args).action for _ in range(calls)]


def test_it_allows_up_to_max_repeats_then_breaks() -> None:
    tracker = _tracker(FakeClock(), max_repeats=4)
    assert _actions(tracker, 6) == ["allow"] * 4 + ["break"] * 2


def test_it_warns_once_before_breaking_in_chance_mode() -> None:
    tracker = _tracker(FakeClock(), max_repeats=3, mode="chance_then_break")
    assert _actions(tracker, 6) == ["allow"] * 3 + ["warn", "break", "break"]


def test_it_explains_the_verdict() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, max_repeats=2, mode="chance_then_break", ttl_seconds=120)
    verdicts = [tracker.check("s", "read_file", ARGS) for _ in range(4)]
    assert verdicts[0] == ToolLoopVerdict("allow", 1)
    assert verdicts[2] == ToolLoopVerdict("warn", 3, WARN_MESSAGE.format(tool="read_file", max_repeats=2, ttl="120"))
    assert verdicts[3] == ToolLoopVerdict("break", 3, BREAK_MESSAGE.format(tool="read_file", max_repeats=2, ttl="120"))
    assert '"read_file"' in verdicts[3].message and "120s" in verdicts[3].message


def test_it_treats_reordered_and_reformatted_arguments_as_identical() -> None:
    tracker = _tracker(FakeClock(), max_repeats=2)
    variants = ['{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}', '{\n  "b": [1, 2],\n  "a": 1\n}']
    assert [tracker.check("s", "t", v).action for v in variants] == ["allow", "allow", "break"]


def test_it_counts_different_arguments_and_tools_separately() -> None:
    tracker = _tracker(FakeClock(), max_repeats=2)
    for i in range(10):
        assert tracker.check("s", "read_file", f'{{"line": {i}}}').action == "allow"
        assert tracker.check("s", f"tool_{i}", ARGS).action == "allow"


def test_it_falls_back_to_raw_text_for_unparsable_arguments() -> None:
    assert canonical_arguments("{not json") == "{not json"
    assert canonical_arguments("") == canonical_arguments("  ") == canonical_arguments("{}") == "{}"
    assert canonical_arguments('{"b": "é", "a": null}') == '{"a":null,"b":"é"}'
    tracker = _tracker(FakeClock(), max_repeats=1)
    assert tracker.check("s", "t", "{not json").action == "allow"
    assert tracker.check("s", "t", "{not json ").action == "allow"
    assert tracker.check("s", "t", "{not json").action == "break"


def test_it_keeps_sessions_apart() -> None:
    tracker = _tracker(FakeClock(), max_repeats=2)
    assert _actions(tracker, 2, session="a") == ["allow", "allow"]
    assert _actions(tracker, 2, session="b") == ["allow", "allow"]
    assert _actions(tracker, 1, session="a") == ["break"]


def test_it_forgets_calls_older_than_the_ttl() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, max_repeats=2, ttl_seconds=120)
    assert _actions(tracker, 2) == ["allow", "allow"]
    clock.advance(121)
    assert _actions(tracker, 2) == ["allow", "allow"]
    clock.advance(60)
    assert _actions(tracker, 1) == ["break"]


def test_it_uses_a_sliding_window() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, max_repeats=2, ttl_seconds=100)
    assert _actions(tracker, 1) == ["allow"]
    clock.advance(60)
    assert _actions(tracker, 1) == ["allow"]
    clock.advance(50)  # the first call has left the window
    assert _actions(tracker, 1) == ["allow"]
    clock.advance(5)
    assert _actions(tracker, 1) == ["break"]


def test_it_gives_a_new_chance_after_the_warning_expires() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, max_repeats=1, ttl_seconds=10, mode="chance_then_break")
    assert _actions(tracker, 2) == ["allow", "warn"]
    clock.advance(11)
    assert _actions(tracker, 3) == ["allow", "warn", "break"]


def test_it_evicts_expired_sessions() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, ttl_seconds=30)
    for i in range(100):
        tracker.check(f"session-{i}", "t", ARGS)
    assert len(tracker) == 100
    clock.advance(31)
    tracker.check("fresh", "t", ARGS)
    assert len(tracker) == 1


def test_it_caps_the_number_of_sessions_dropping_the_least_recent() -> None:
    clock = FakeClock()
    tracker = _tracker(clock, max_repeats=1, max_sessions=3)
    tracker.check("old", "t", ARGS)
    for key in ("a", "b", "c"):
        tracker.check(key, "t", ARGS)
    assert len(tracker) == 3
    assert tracker.check("old", "t", ARGS).action == "allow"  # its history was dropped
    assert tracker.check("c", "t", ARGS).action == "break"  # recent sessions keep theirs


def test_it_caps_the_calls_kept_per_session() -> None:
    tracker = _tracker(FakeClock(), max_repeats=1, max_signatures=5)
    for i in range(50):
        tracker.check("s", "t", f'{{"i": {i}}}')
    assert tracker.check("s", "t", '{"i": 0}').action == "allow"
    assert tracker.check("s", "t", '{"i": 49}').action == "break"


def test_it_drops_a_session_on_request() -> None:
    tracker = _tracker(FakeClock(), max_repeats=1)
    tracker.check("s", "t", ARGS)
    tracker.forget("s")
    tracker.forget("unknown")
    assert tracker.check("s", "t", ARGS).action == "allow"


def test_it_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        ToolLoopTracker(mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ToolLoopTracker(max_repeats=0)
    with pytest.raises(ValueError):
        ToolLoopTracker(ttl_seconds=0)
