"""Tool-call loop detection from the conversation itself: repeats, cycles, no progress, warnings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.core.context import RequestContext
from proxy_app.guards.tool_loop import (
    NOTE_PREFIX,
    LoopAnalysis,
    ToolLoopConfig,
    annotate_result,
    canonical_arguments,
    conversation_steps,
    normalize_result,
)

ARGS = '{"path": "src/app.py", "line": 10}'
Call = tuple[str, str, str]  # name, JSON arguments, result


class Conversation:
    """Builds canonical messages the way the protocol decoders do."""

    def __init__(self, task: str = "fix the bug") -> None:
        self.messages: list[c.Message] = [c.Message("system", [c.TextPart("You are an agent.")]),
                                          c.Message("user", [c.TextPart(task)])]
        self.n = 0

    def turn(self, *calls: Call, text: str = "") -> Conversation:
        parts: list[c.Part] = [c.TextPart(text)] if text else []
        results: list[c.Part] = []
        for name, args, result in calls:
            self.n += 1
            call_id = f"call_{self.n}"
            parts.append(c.ToolCallPart(call_id, name, args))
            results.append(c.ToolResultPart(call_id, [c.TextPart(result)]))
        self.messages += [c.Message("assistant", parts), c.Message("tool", results)]
        return self

    def calls(self, call: Call, times: int) -> Conversation:
        for _ in range(times):
            self.turn(call)
        return self

    def user(self, text: str) -> Conversation:
        self.messages.append(c.Message("user", [c.TextPart(text)]))
        return self

    def answer(self, text: str) -> Conversation:
        self.messages.append(c.Message("assistant", [c.TextPart(text)]))
        return self


def judge(conv: Conversation, *calls: tuple[str, str], **config: Any) -> str:
    verdict = LoopAnalysis.of(conv.messages, ToolLoopConfig(**config)).judge(calls)
    return verdict.action if verdict.kind is None else f"{verdict.action}:{verdict.kind}"


def actions(call: Call, n: int, **config: Any) -> list[str]:
    """The verdict on each of ``n`` identical calls, each made after the previous ones' results."""
    return [judge(Conversation().calls(call, i), call[:2], **config) for i in range(n)]


READ: Call = ("read_file", ARGS, "def main():\n    pass\n")
TEST: Call = ("run_shell_command", '{"command": "pytest -q"}', "1 failed, 2 passed in 0.41s")


# ---------------------------------------------------------------- identical calls


def test_the_same_call_with_the_same_result_is_warned_then_stopped() -> None:
    assert actions(READ, 7) == ["allow"] * 4 + ["warn:tool_loop"] + ["break:tool_loop"] * 2


def test_break_mode_stops_without_a_warning() -> None:
    assert actions(READ, 6, mode="break") == ["allow"] * 4 + ["break:tool_loop"] * 2
    assert actions(READ, 4, mode="break", max_repeats=2) == ["allow"] * 2 + ["break:tool_loop"] * 2


def test_a_call_whose_result_changes_is_not_a_loop() -> None:
    conv = Conversation()
    for progress in range(10):
        conv.turn(("run_shell_command", '{"command": "gh run view 4821"}', f"in_progress {progress}/8 jobs"))
    assert judge(conv, ("run_shell_command", '{"command": "gh run view 4821"}')) == "allow"


def test_only_the_latest_run_of_unchanged_results_counts() -> None:
    poll = ("run_shell_command", '{"command": "gh run view"}')
    conv = Conversation()
    for status in ["queued"] * 4 + ["running"] * 3:
        conv.turn((*poll, status))
    assert judge(conv, poll) == "allow"  # 3 unchanged, this is the 4th
    conv.turn((*poll, "running"))
    assert judge(conv, poll) == "warn:tool_loop"


def test_reordered_and_reformatted_arguments_are_the_same_call() -> None:
    conv = Conversation()
    for args in ('{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}', '{\n  "b": [1, 2],\n  "a": 1\n}', '{"a":1,"b":[1,2]}'):
        conv.turn(("t", args, "same"))
    assert judge(conv, ("t", '{ "b" : [1,2], "a" : 1 }')) == "warn:tool_loop"


def test_different_arguments_and_tools_are_different_calls() -> None:
    conv = Conversation()
    for i in range(10):
        conv.turn(("read_file", f'{{"line": {i}}}', "x"))
    assert judge(conv, ("read_file", '{"line": 10}')) == "allow"
    assert judge(conv, ("other_tool", '{"line": 9}')) == "allow"


def test_timing_fields_of_tool_harnesses_do_not_make_results_differ() -> None:
    conv = Conversation()
    for i in range(5):
        conv.turn(("exec_command", '{"cmd": "pytest -q"}',
                   f"Chunk ID: {i:06x}\nWall time: 0.{i}123 seconds\nProcess exited with code 1\nOutput:\n"
                   f"1 failed in 0.{i}2s"))
    assert judge(conv, ("exec_command", '{"cmd": "pytest -q"}')) == "break:tool_loop"


def test_result_normalisation() -> None:
    assert normalize_result("Chunk ID: ab12\nWall time: 0.0123 seconds\nok") == "\n\nok"
    gemini = json.dumps({"output": "Command: ls\nExit Code: 0\nProcess Group PGID: 4242"})
    assert "4242" not in normalize_result(gemini)
    assert normalize_result("== 3 passed in 0.52s ==") == normalize_result("== 3 passed in 1.07s ==")
    assert normalize_result("progress 45%") != normalize_result("progress 60%")
    assert normalize_result('{"output": "x", "metadata": {"exit_code": 0, "duration_seconds": 0.4}}') == \
        normalize_result('{"output": "x", "metadata": {"exit_code": 0, "duration_seconds": 1.9}}')


def test_errors_and_successes_are_different_results() -> None:
    conv = Conversation().calls(READ, 4)
    conv.messages[-1].parts[0].is_error = True  # type: ignore[union-attr]
    assert judge(conv, READ[:2]) == "allow"


def test_a_call_without_a_result_ends_the_run() -> None:
    conv = Conversation().calls(READ, 4)
    conv.messages.append(c.Message("assistant", [c.ToolCallPart("lost", *READ[:2])]))  # never answered
    conv.calls(READ, 1)
    assert judge(conv, READ[:2]) == "allow"


def test_canonical_arguments() -> None:
    assert canonical_arguments("{not json") == "{not json"
    assert canonical_arguments("") == canonical_arguments("  ") == canonical_arguments("{}") == "{}"
    assert canonical_arguments('{"b": "é", "a": null}') == '{"a":null,"b":"é"}'
    assert canonical_arguments('{"n": 123456789012345678901234567890}') == '{"n":123456789012345678901234567890}'


# ---------------------------------------------------------------- conversations, not sessions


def test_independent_conversations_never_add_up() -> None:
    # The issue: six runs of the same small task used to share one "default" session.
    weather = ("get_weather", '{"city": "Paris"}', "18 C")
    for _ in range(6):
        conv = Conversation("weather in Paris?")
        assert judge(conv, weather[:2]) == "allow"
        assert judge(conv.turn(weather).answer("18 C."), weather[:2]) == "allow"


def test_a_new_user_turn_starts_the_count_again() -> None:
    conv = Conversation()
    for _ in range(6):
        conv.turn(TEST).answer("It failed.").user("Run it again please.")
    assert judge(conv, TEST[:2]) == "allow"


def test_user_text_sent_with_tool_results_is_not_a_new_turn() -> None:
    conv = Conversation()
    for _ in range(5):
        conv.turn(TEST).user("<system-reminder>The user is waiting.</system-reminder>")
    assert judge(conv, TEST[:2]) == "break:tool_loop"


def test_the_steps_of_the_current_turn() -> None:
    text = "Reading the module and running the tests side by side this time."
    conv = Conversation().turn(READ).answer("done").user("again").turn(READ, TEST, text=text).turn(READ, text=text)
    steps = conversation_steps(conv.messages)
    assert [s.name for s in steps] == ["read_file", "run_shell_command", "read_file"]
    assert [s.new_text for s in steps] == [True, False, False]  # said once, with the answer's first call
    assert all(s.result is not None and not s.pending for s in steps)


# ---------------------------------------------------------------- cycles


def test_a_two_call_cycle_with_unchanged_results_is_warned_then_stopped() -> None:
    a, b = ("read_file", '{"path": "a.py"}', "A"), ("read_file", '{"path": "b.py"}', "B")
    verdicts = []
    conv = Conversation()
    for i in range(10):
        call = a if i % 2 == 0 else b
        verdicts.append(judge(conv, call[:2], no_progress_enabled=False))
        conv.turn(call)
    assert verdicts == ["allow"] * 6 + ["warn:cycle", "break:cycle", "break:cycle", "break:cycle"]


def test_a_three_call_cycle() -> None:
    cycle = [("grep", '{"q": "x"}', "hit"), ("read_file", '{"path": "a.py"}', "A"), TEST]
    conv = Conversation()
    for i in range(9):
        conv.turn(cycle[i % 3])
    assert judge(conv, cycle[0][:2]) == "warn:cycle"  # 3 full rounds, and the 10th call
    conv.turn(cycle[0])
    assert judge(conv, cycle[1][:2]) == "break:cycle"


def test_a_cycle_whose_results_change_is_not_a_loop() -> None:
    conv = Conversation()
    for n in range(8):
        conv.turn(("queue_length", "{}", str(100 - 10 * n))).turn(("process_batch", "{}", "processed 10"))
    assert judge(conv, ("queue_length", "{}")) == "allow"


def test_cycle_detection_can_be_turned_off() -> None:
    a, b = ("t", '{"x": 1}', "A"), ("t", '{"x": 2}', "B")
    conv = Conversation()
    for i in range(12):
        conv.turn(a if i % 2 == 0 else b)
    assert judge(conv, a[:2], cycle_max_period=1, no_progress_enabled=False) == "allow"


# ---------------------------------------------------------------- no progress


def _stalling(order: Iterable[int], **kwargs: Any) -> list[str]:
    calls = [TEST, READ, ("read_file", '{"path": "b.py"}', "B")]
    conv = Conversation()
    for call in calls:  # each learned once
        conv.turn(call)
    out = []
    for i in order:
        out.append(judge(conv, calls[i][:2], cycle_max_period=1, **kwargs))
        conv.turn(calls[i])
    return out


def test_repeating_known_calls_with_known_results_in_any_order_is_no_progress() -> None:
    verdicts = _stalling([0, 1, 0, 2, 1, 0, 0, 2, 1, 0, 2])
    assert verdicts == ["allow"] * 8 + ["warn:no_progress", "break:no_progress", "break:no_progress"]


def test_a_new_call_or_a_new_result_is_progress() -> None:
    conv = Conversation()
    calls = [TEST, READ, ("read_file", '{"path": "b.py"}', "B")]
    for i in [0, 1, 2, 0, 1, 2, 0]:
        conv.turn(calls[i])
    conv.turn(("edit_file", '{"path": "a.py", "old": "pass", "new": "return 1"}', "ok"))  # a new call
    for i in [1, 2, 0, 1]:
        conv.turn(calls[i])
    conv.turn((TEST[0], TEST[1], "3 passed"))  # a new result
    for i in [1, 2, 1]:
        conv.turn(calls[i])
    assert judge(conv, TEST[:2], cycle_max_period=1) == "allow"


def test_new_text_from_the_model_is_progress_but_filler_is_not() -> None:
    calls = [TEST, READ]
    filler = Conversation()
    thinking = Conversation()
    for conv in (filler, thinking):
        conv.turn(TEST).turn(READ)
    for i in range(9):
        filler.turn(calls[i % 2], text="Let me check again.")
        thinking.turn(calls[i % 2], text=f"Hypothesis {i}: the failure comes from a different module than I thought.")
    assert judge(filler, TEST[:2], max_repeats=100, cycle_max_period=1) == "break:no_progress"
    assert judge(thinking, TEST[:2], max_repeats=100, cycle_max_period=1) == "allow"


def test_no_progress_detection_can_be_turned_off() -> None:
    assert _stalling([0, 1, 0, 2, 1, 0, 0, 2, 1, 0, 2], no_progress_enabled=False) == ["allow"] * 11


# ---------------------------------------------------------------- the answer's own calls, warnings


def test_parallel_identical_calls_in_one_answer_count() -> None:
    conv = Conversation().calls(READ, 3)
    assert judge(conv, READ[:2]) == "allow"
    assert judge(conv, READ[:2], READ[:2]) == "warn:tool_loop"
    assert judge(conv, READ[:2], READ[:2], READ[:2]) == "break:tool_loop"


def test_judging_leaves_the_analysis_unchanged() -> None:
    analysis = LoopAnalysis.of(Conversation().calls(READ, 4).messages)
    assert analysis.judge([READ[:2]] * 3).action == "break"
    assert analysis.judge([READ[:2]]).action == "warn"
    assert analysis.judge([("other", "{}")]).action == "allow"


def test_the_warning_is_on_the_result_of_the_call_that_earned_it_every_time() -> None:
    conv = Conversation().calls(READ, 7)
    sent = []
    for _ in range(2):  # the same history gets the same notes: prompt caches keep matching
        copy = [c.Message(m.role, [_clone(p) for p in m.parts]) for m in conv.messages]
        assert LoopAnalysis.of(copy).annotate_warnings() == ["tool_loop"]
        results = [m.parts[0] for m in copy if m.role == "tool"]
        noted = [i for i, r in enumerate(results) if NOTE_PREFIX in r.content[0].text]  # type: ignore[union-attr]
        assert noted == [4]  # the 5th identical call: one past the limit of 4
        assert "repeating this call again will stop" in results[4].content[0].text  # type: ignore[union-attr]
        sent.append(repr(copy))
    assert sent[0] == sent[1]
    assert NOTE_PREFIX not in repr(conv.messages)


def _clone(part: c.Part) -> c.Part:
    if isinstance(part, c.ToolResultPart):
        return c.ToolResultPart(part.tool_call_id, [c.TextPart(t.text) for t in part.content  # type: ignore[union-attr]
                                                    ], name=part.name, is_error=part.is_error)
    return part


def test_a_noted_result_still_counts_as_the_same_result() -> None:
    conv = Conversation().calls(READ, 5)
    analysis = LoopAnalysis.of(conv.messages)
    assert analysis.annotate_warnings() == ["tool_loop"]
    assert analysis.judge([READ[:2]]).action == "break"
    # and a fresh analysis of the annotated request would see a different last result: the note is upstream-only
    assert LoopAnalysis.of(conv.messages).judge([READ[:2]]).action == "allow"


def test_break_mode_annotates_nothing() -> None:
    analysis = LoopAnalysis.of(Conversation().calls(READ, 7).messages, ToolLoopConfig(mode="break"))
    assert analysis.annotate_warnings() == []


def test_a_json_object_result_gets_the_note_as_a_key() -> None:
    part = c.ToolResultPart("x", [c.TextPart('{"output": "ok"}')])
    annotate_result(part, "careful")
    assert json.loads(part.content[0].text) == {"output": "ok", "proxy_notice": f"{NOTE_PREFIX}careful"}  # type: ignore[union-attr]
    plain = c.ToolResultPart("y", [c.TextPart("plain")])
    annotate_result(plain, "careful")
    assert plain.content[0].text == f"plain\n\n{NOTE_PREFIX}careful"  # type: ignore[union-attr]
    empty = c.ToolResultPart("z", [])
    annotate_result(empty, "careful")
    assert empty.content == [c.TextPart(f"{NOTE_PREFIX}careful")]


# ---------------------------------------------------------------- settings


def test_it_reads_settings_keys() -> None:
    config = ToolLoopConfig.from_mapping({
        "TOOL_LOOP_DETECTION_ENABLED": "false", "TOOL_LOOP_MODE": "break", "TOOL_LOOP_MAX_REPEATS": "3",
        "TOOL_LOOP_CYCLE_MAX_PERIOD": 3, "TOOL_LOOP_CYCLE_MAX_REPEATS": "2", "TOOL_LOOP_NO_PROGRESS_ENABLED": "off",
        "TOOL_LOOP_NO_PROGRESS_MAX_CALLS": 6, "TOOL_LOOP_TTL_SECONDS": 120, "UNRELATED": 1,
    })
    assert config == ToolLoopConfig(enabled=False, mode="break", max_repeats=3, cycle_max_period=3,
                                    cycle_max_repeats=2, no_progress_enabled=False, no_progress_max_calls=6)
    assert ToolLoopConfig.from_mapping({}) == ToolLoopConfig()
    assert ToolLoopConfig.from_mapping({"TOOL_LOOP_MODE": "warn"}).mode == "chance_then_break"


def test_it_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        ToolLoopConfig(mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ToolLoopConfig(max_repeats=0)
    with pytest.raises(ValueError):
        ToolLoopConfig(cycle_max_period=0)


# ---------------------------------------------------------------- through the guards


def _chat(conv: Conversation, stream: bool = False) -> c.ChatRequest:
    return c.ChatRequest(model="m", messages=conv.messages, source_protocol="openai_chat", stream=stream)


def _ctx() -> RequestContext:
    return RequestContext(protocol="openai_chat", path="/v1/chat/completions")


def test_guard_response_stops_a_looping_call_with_the_protocols_stop_shape() -> None:
    from proxy_app.guards.apply import guard_response, inject_tool_loop_warning

    chat, ctx = _chat(Conversation().calls(READ, 5)), _ctx()
    inject_tool_loop_warning(chat, ctx)
    assert NOTE_PREFIX in chat.messages[-1].parts[0].content[0].text  # type: ignore[union-attr]
    resp = c.ChatResponse("r", "m", [c.TextPart("Reading again."), c.ToolCallPart("x", *READ[:2])], "tool_use")
    out = guard_response(resp, chat, ctx)
    assert out.stop_reason == "end_turn"
    assert not any(isinstance(p, c.ToolCallPart) for p in out.parts)
    assert "Tool call loop detected" in out.text() and out.text().startswith("Reading again.")
    assert (ctx.loop_halts, ctx.loop_halt_kind) == (1, "tool_loop")


def test_guard_response_lets_a_warned_call_through() -> None:
    from proxy_app.guards.apply import guard_response

    chat, ctx = _chat(Conversation().calls(READ, 4)), _ctx()
    resp = c.ChatResponse("r", "m", [c.ToolCallPart("x", *READ[:2])], "tool_use")
    assert guard_response(resp, chat, ctx) is resp
    assert (ctx.loop_halts, ctx.loop_warning_kind) == (0, "tool_loop")


async def _events(*events: c.StreamEvent) -> AsyncIterator[c.StreamEvent]:
    for event in events:
        yield event


def _stream(chat: c.ChatRequest, ctx: RequestContext, *events: c.StreamEvent) -> list[c.StreamEvent]:
    from proxy_app.guards.apply import guard_stream

    async def run() -> list[c.StreamEvent]:
        return [e async for e in guard_stream(_events(*events), chat, ctx)]

    return asyncio.run(run())


def test_guard_stream_withholds_a_looping_call_and_ends_the_answer() -> None:
    chat, ctx = _chat(Conversation().calls(READ, 5), stream=True), _ctx()
    out = _stream(chat, ctx, c.StreamStart("r", "m"), c.TextDelta("Again."), c.ToolCallStart(0, "x", "read_file"),
                  c.ToolCallDelta(0, ARGS[:10]), c.ToolCallDelta(0, ARGS[10:]), c.StreamEnd("tool_use", c.Usage(5, 5)))
    assert not any(isinstance(e, c.ToolCallStart | c.ToolCallDelta) for e in out)
    assert isinstance(out[-1], c.StreamEnd) and out[-1].stop_reason == "end_turn"
    assert "Tool call loop detected" in out[-2].text  # type: ignore[union-attr]
    assert ctx.loop_halt_kind == "tool_loop"


def test_guard_stream_passes_ordinary_calls_whole() -> None:
    chat, ctx = _chat(Conversation().calls(READ, 2), stream=True), _ctx()
    events = [c.StreamStart("r", "m"), c.ToolCallStart(0, "x", "read_file"), c.ToolCallDelta(0, ARGS),
              c.ToolCallStart(1, "y", "other"), c.ToolCallDelta(1, "{}"), c.StreamEnd("tool_use", c.Usage(5, 5))]
    assert _stream(chat, ctx, *events) == events
    assert ctx.loop_halts == 0


def test_the_session_switch_turns_tool_loop_detection_off() -> None:
    from proxy_app.guards.apply import guard_response

    chat, ctx = _chat(Conversation().calls(READ, 8)), _ctx()
    chat.meta["tool-loop-detection"] = False
    resp = c.ChatResponse("r", "m", [c.ToolCallPart("x", *READ[:2])], "tool_use")
    assert guard_response(resp, chat, ctx) is resp
