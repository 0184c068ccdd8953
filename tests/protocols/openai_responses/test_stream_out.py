"""Canonical stream events -> the Responses API's stream: the documented event sequence, items opened
and closed around their deltas, cut and failed streams, the request's fields echoed in every
snapshot, the SDK's event types accepting each event, and a property round trip."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.openai_responses.request_in import request_echo
from tests.protocols.openai_responses.samples import FUNCTION_CALLING, WEATHER_TOOL
from tests.protocols.openai_responses.streams import encoded
from tests.protocols.strategies import texts, tool_calls

TEXT_STREAM = [
    c.StreamStart("chatcmpl-1", "gpt-4o"),
    c.TextDelta("Hi"),
    c.TextDelta(" there"),
    c.StreamEnd("end_turn", c.Usage(input_tokens=5, output_tokens=2)),
]


def test_it_encodes_a_text_stream_as_the_documented_event_sequence() -> None:
    frames = encoded(TEXT_STREAM)
    assert [name for name, _ in frames] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed",
    ]
    assert all(name == body["type"] for name, body in frames)
    assert [body["sequence_number"] for _, body in frames] == list(range(len(frames)))
    created, final = frames[0][1]["response"], frames[-1][1]["response"]
    assert created["id"] == final["id"] == "resp_chatcmpl-1"
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    item = frames[2][1]["item"]
    assert item["type"] == "message" and item["status"] == "in_progress" and item["content"] == []
    assert frames[3][1]["part"] == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    assert frames[4][1] == {"type": "response.output_text.delta", "sequence_number": 4, "item_id": item["id"],
                            "output_index": 0, "content_index": 0, "delta": "Hi", "logprobs": []}
    assert frames[6][1]["text"] == "Hi there"
    done_item = frames[8][1]["item"]
    assert done_item["status"] == "completed" and done_item["content"][0]["text"] == "Hi there"
    assert final["status"] == "completed" and final["output"] == [done_item]
    assert final["usage"]["input_tokens"] == 5 and final["usage"]["total_tokens"] == 7


def test_it_encodes_thinking_and_parallel_tool_calls_as_separate_items() -> None:
    frames = encoded([
        c.StreamStart("x", "m"),
        c.ThinkingDelta("Plan"),
        c.ThinkingDelta("", signature="sig"),
        c.ToolCallStart(0, "call_a", "f"),
        c.ToolCallDelta(0, '{"a":'),
        c.ToolCallStart(1, "call_b", "g"),
        c.ToolCallDelta(0, "1}"),
        c.ToolCallDelta(1, "{}"),
        c.StreamEnd("tool_use", c.Usage(input_tokens=1, output_tokens=2)),
    ])
    names = [name for name, _ in frames]
    assert names == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed",
    ]
    final = frames[-1][1]["response"]
    reasoning, first, second = final["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Plan"}]
    assert (first["call_id"], first["arguments"], first["status"]) == ("call_a", '{"a":1}', "completed")
    assert (second["call_id"], second["arguments"]) == ("call_b", "{}")
    assert (frames[11][1]["output_index"], frames[12][1]["output_index"]) == (1, 2)


def test_it_ends_a_cut_stream_with_response_incomplete() -> None:
    frames = encoded([c.TextDelta("Once"), c.StreamEnd("max_tokens", c.Usage(output_tokens=1))])
    assert frames[0][0] == "response.created", "the response starts even without a StreamStart"
    assert frames[-1][0] == "response.incomplete"
    final = frames[-1][1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_it_encodes_stream_errors_as_error_then_response_failed() -> None:
    frames = encoded([c.StreamStart("x", "m"), c.TextDelta("par"),
                      c.StreamError(c.ProxyError("backend 'openai' stream broke off", kind="bad_gateway")),
                      c.StreamEnd("end_turn", c.Usage())])
    assert [name for name, _ in frames][-2:] == ["error", "response.failed"]
    assert frames[-2][1] == {"type": "error", "sequence_number": frames[-2][1]["sequence_number"],
                             "code": "server_error", "message": "backend 'openai' stream broke off", "param": None}
    failed = frames[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "backend 'openai' stream broke off"}


def test_the_stream_echoes_request_fields_in_every_response_snapshot() -> None:
    echo = request_echo({**FUNCTION_CALLING, "instructions": "Be brief."})
    frames = encoded(TEXT_STREAM, echo=echo)
    for _, body in (frames[0], frames[-1]):
        assert body["response"]["instructions"] == "Be brief." and body["response"]["tools"] == [WEATHER_TOOL]


def test_stream_events_validate_against_the_sdk_types() -> None:
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    frames = encoded([c.StreamStart("x", "m"), c.ThinkingDelta("t"), c.TextDelta("a"),
                      c.ToolCallStart(0, "c", "f"), c.ToolCallDelta(0, "{}"), c.StreamEnd("tool_use", c.Usage())])
    frames += encoded([c.TextDelta("a"), c.StreamError(c.ProxyError("boom", kind="api_error"))])
    for _, body in frames:
        assert adapter.validate_python(body).type == body["type"]


# ---------------------------------------------------------------- property: encode -> decode

_stream_events = st.lists(st.one_of(
    st.builds(c.TextDelta, texts),
    st.builds(c.ThinkingDelta, texts),
), max_size=8)


@settings(max_examples=100, deadline=None)
@given(_stream_events, st.lists(tool_calls(), max_size=3), st.sampled_from(["end_turn", "max_tokens", "tool_use"]))
def test_a_stream_survives_encoding_and_decoding(
    deltas: list[c.StreamEvent], calls: list[c.ToolCallPart], stop: c.StopReason
) -> None:
    events: list[c.StreamEvent] = [c.StreamStart("resp_x", "m"), *deltas]
    for i, call in enumerate(calls):
        events += [c.ToolCallStart(i, call.id, call.name), c.ToolCallDelta(i, call.arguments)]
    usage = c.Usage(input_tokens=3, output_tokens=4, reasoning_tokens=1)
    events.append(c.StreamEnd(stop, usage))
    frames = encoded(events)
    assert [body["sequence_number"] for _, body in frames] == list(range(len(frames)))
    decoder = r.StreamDecoder()
    decoded = [e for name, body in frames for e in decoder.feed(body, name)] + decoder.finish()
    text = "".join(e.text for e in decoded if isinstance(e, c.TextDelta))
    assert text == "".join(e.text for e in deltas if isinstance(e, c.TextDelta))
    thinking = "".join(e.text for e in decoded if isinstance(e, c.ThinkingDelta))
    assert thinking == "".join(e.text for e in deltas if isinstance(e, c.ThinkingDelta))
    starts = [(e.id, e.name) for e in decoded if isinstance(e, c.ToolCallStart)]
    assert starts == [(call.id, call.name) for call in calls]
    for i, call in enumerate(calls):
        assert "".join(e.arguments for e in decoded if isinstance(e, c.ToolCallDelta) and e.index == i) == call.arguments
    end = decoded[-1]
    assert isinstance(end, c.StreamEnd) and end.usage == usage
    assert end.stop_reason == ("max_tokens" if stop == "max_tokens" else "tool_use" if calls else "end_turn")
