"""A Responses API stream -> canonical stream events: a recorded stream decoded (reasoning summaries,
text, function calls and their arguments, usage), failures and cut streams, and a decoded stream
re-encoded with the same event kinds."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from tests.protocols.openai_responses.streams import encoded

# A stream as OpenAI sends it (docs: "Streaming API responses"), abridged to the events that matter.
RECORDED_STREAM = [
    {"type": "response.created", "sequence_number": 0, "response": {
        "id": "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", "object": "response", "created_at": 1741290958,
        "status": "in_progress", "model": "gpt-4.1-2025-04-14", "output": [], "usage": None}},
    {"type": "response.in_progress", "sequence_number": 1, "response": {
        "id": "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", "status": "in_progress", "output": []}},
    {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": {
        "id": "rs_1", "type": "reasoning", "summary": []}},
    {"type": "response.reasoning_summary_part.added", "sequence_number": 3, "item_id": "rs_1", "output_index": 0,
     "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", "sequence_number": 4, "item_id": "rs_1", "output_index": 0,
     "summary_index": 0, "delta": "**Greeting**"},
    {"type": "response.reasoning_summary_part.added", "sequence_number": 5, "item_id": "rs_1", "output_index": 0,
     "summary_index": 1, "part": {"type": "summary_text", "text": ""}},
    {"type": "response.reasoning_summary_text.delta", "sequence_number": 6, "item_id": "rs_1", "output_index": 0,
     "summary_index": 1, "delta": "Say hi."},
    {"type": "response.output_item.done", "sequence_number": 7, "output_index": 0, "item": {
        "id": "rs_1", "type": "reasoning", "summary": []}},
    {"type": "response.output_item.added", "sequence_number": 8, "output_index": 1, "item": {
        "id": "msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654", "type": "message", "status": "in_progress",
        "role": "assistant", "content": []}},
    {"type": "response.content_part.added", "sequence_number": 9, "item_id": "msg_67c9", "output_index": 1,
     "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    {"type": "response.output_text.delta", "sequence_number": 10, "item_id": "msg_67c9", "output_index": 1,
     "content_index": 0, "delta": "Hi"},
    {"type": "response.output_text.delta", "sequence_number": 11, "item_id": "msg_67c9", "output_index": 1,
     "content_index": 0, "delta": " there!"},
    {"type": "response.output_text.done", "sequence_number": 12, "item_id": "msg_67c9", "output_index": 1,
     "content_index": 0, "text": "Hi there!"},
    {"type": "response.output_item.added", "sequence_number": 13, "output_index": 2, "item": {
        "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "",
        "status": "in_progress"}},
    {"type": "response.function_call_arguments.delta", "sequence_number": 14, "item_id": "fc_1", "output_index": 2,
     "delta": "{\"city\":"},
    {"type": "response.function_call_arguments.delta", "sequence_number": 15, "item_id": "fc_1", "output_index": 2,
     "delta": "\"Paris\"}"},
    {"type": "response.function_call_arguments.done", "sequence_number": 16, "item_id": "fc_1", "output_index": 2,
     "arguments": "{\"city\":\"Paris\"}"},
    {"type": "response.output_item.added", "sequence_number": 17, "output_index": 3, "item": {
        "type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_time", "arguments": "",
        "status": "in_progress"}},
    {"type": "response.function_call_arguments.done", "sequence_number": 18, "item_id": "fc_2", "output_index": 3,
     "arguments": "{}"},
    {"type": "response.completed", "sequence_number": 19, "response": {
        "id": "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", "status": "completed",
        "usage": {"input_tokens": 37, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 11,
                  "output_tokens_details": {"reasoning_tokens": 4}, "total_tokens": 48}}},
]


def test_it_decodes_a_recorded_stream_into_canonical_events() -> None:
    decoder = r.StreamDecoder()
    events = [e for frame in RECORDED_STREAM for e in decoder.feed(frame, frame["type"])] + decoder.finish()
    assert events == [
        c.StreamStart("resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654", "gpt-4.1-2025-04-14"),
        c.ThinkingDelta("**Greeting**"),
        c.ThinkingDelta("\n\n"),
        c.ThinkingDelta("Say hi."),
        c.TextDelta("Hi"),
        c.TextDelta(" there!"),
        c.ToolCallStart(0, "call_1", "get_weather", extra={r.X: {"id": "fc_1"}}),
        c.ToolCallDelta(0, "{\"city\":"),
        c.ToolCallDelta(0, "\"Paris\"}"),
        c.ToolCallStart(1, "call_2", "get_time", extra={r.X: {"id": "fc_2"}}),
        c.ToolCallDelta(1, "{}"),
        c.StreamEnd("tool_use", c.Usage(input_tokens=37, output_tokens=11, reasoning_tokens=4)),
    ]


def test_it_reencodes_a_decoded_stream_with_the_same_event_kinds() -> None:
    decoder = r.StreamDecoder()
    events = [e for frame in RECORDED_STREAM for e in decoder.feed(frame, frame["type"])] + decoder.finish()
    frames = encoded(events)
    kinds = [name for name, _ in frames]
    expected = [f["type"] for f in RECORDED_STREAM if f["type"] != "response.reasoning_summary_part.added"
                or f["summary_index"] == 0]
    assert set(kinds) >= set(expected)
    assert frames[-1][1]["response"]["output"][1]["content"][0]["text"] == "Hi there!"


@pytest.mark.parametrize(("frame", "kind", "status"), [
    ({"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None, "sequence_number": 3},
     "rate_limit", 429),
    ({"type": "response.failed", "sequence_number": 9, "response": {
        "id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "The model failed"}}},
     "api_error", 500),
    ({"type": "error", "code": None, "message": "odd", "param": None, "sequence_number": 1}, "bad_gateway", 502),
])
def test_it_decodes_error_events_mid_stream(frame: dict[str, Any], kind: str, status: int) -> None:
    decoder = r.StreamDecoder()
    decoder.feed(RECORDED_STREAM[0], "response.created")
    (event,) = decoder.feed(frame, frame["type"])
    assert isinstance(event, c.StreamError)
    assert (event.error.kind, event.error.status) == (kind, status)


def test_it_decodes_an_incomplete_stream_as_max_tokens() -> None:
    decoder = r.StreamDecoder()
    decoder.feed(RECORDED_STREAM[0], None)
    decoder.feed({"type": "response.incomplete", "response": {
        "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {"input_tokens": 3, "output_tokens": 16}}}, None)
    assert decoder.finish() == [c.StreamEnd("max_tokens", c.Usage(input_tokens=3, output_tokens=16))]
