"""Streams, both directions (``stream``): recorded upstream streams decoded, canonical events encoded."""

from __future__ import annotations

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from tests.protocols.anthropic.samples import MODEL, RECORDED_STREAM, SIGNATURE, message_start
from tests.protocols.anthropic.streams import decode, frames, parse


def test_it_decodes_a_recorded_stream_into_canonical_events() -> None:
    events = decode(parse(frames(*RECORDED_STREAM)))
    usage = c.Usage(input_tokens=472, output_tokens=89)
    assert events == [
        c.StreamStart("msg_014p7gG3wDgGV9EUtLvnow3U", MODEL, c.Usage(input_tokens=472, output_tokens=2)),
        c.ThinkingDelta("I need to find "),
        c.ThinkingDelta("the weather."),
        c.ThinkingDelta(signature=SIGNATURE),
        c.TextDelta("Okay, let's check"),
        c.TextDelta(" the weather for San Francisco"),
        c.ToolCallStart(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        c.ToolCallDelta(0, "{\"location\":"),
        c.ToolCallDelta(0, " \"San Francisco, CA\"}"),
        c.ToolCallStart(1, "toolu_02", "get_time"),
        c.ToolCallDelta(1, "{}"),
        c.StreamEnd("tool_use", usage),
    ]


def test_it_reencodes_a_recorded_stream_event_for_event() -> None:
    encoder = a.StreamEncoder(model=MODEL, include_usage=False)
    raw = b"".join(encoder.encode(e) for e in decode(RECORDED_STREAM))
    assert raw.startswith(b"event: message_start\ndata: {")
    assert raw.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    # the only difference: we do not emit the empty input_json_delta the API sends first
    expected = [e for e in RECORDED_STREAM if e.get("delta", {}).get("partial_json") != ""]
    assert parse(raw) == expected


def test_it_decodes_stream_usage_with_cache_and_stop_sequence() -> None:
    events = decode([
        message_start("msg_1", {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 20,
                                "cache_read_input_tokens": 30}),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
         "usage": {"output_tokens": 15}},
        {"type": "message_stop"},
    ])
    end = events[-1]
    assert end == c.StreamEnd("stop_sequence", c.Usage(input_tokens=60, output_tokens=15, cached_tokens=30,
                                                       cache_creation_tokens=20), "END")


def test_it_skips_server_tool_blocks_when_numbering_tool_calls() -> None:
    events = decode([
        message_start("msg_1", {"input_tokens": 1, "output_tokens": 1}),
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1,
         "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    ])
    assert [e for e in events if isinstance(e, (c.ToolCallStart, c.ToolCallDelta))] == [
        c.ToolCallStart(0, "toolu_1", "f"), c.ToolCallDelta(0, "{}")
    ]


STREAM_ERRORS = [
    ("overloaded_error", "overloaded", 529),
    ("api_error", "api_error", 500),
    ("rate_limit_error", "rate_limit", 429),
    ("something_new", "bad_gateway", 502),
]


@pytest.mark.parametrize(("wire_type", "kind", "status"), STREAM_ERRORS)
def test_it_decodes_error_events_mid_stream(wire_type: str, kind: str, status: int) -> None:
    decoder = a.StreamDecoder()
    [event] = decoder.feed({"type": "error", "error": {"type": wire_type, "message": "Overloaded"}}, "error")
    assert isinstance(event, c.StreamError)
    assert (event.error.kind, event.error.status, event.error.message) == (kind, status, "Overloaded")


def test_it_encodes_foreign_streams_with_consecutive_blocks_and_closes_them() -> None:
    encoder = a.StreamEncoder(model=MODEL, include_usage=True)
    events: list[c.StreamEvent] = [
        c.StreamStart("chatcmpl-1", "gpt-4o"),
        c.ThinkingDelta("hmm"),
        c.ThinkingDelta(signature="sig-1"),
        c.ThinkingDelta(" more"),
        c.TextDelta("Hello"),
        c.TextDelta(""),
        c.TextDelta(" there"),
        c.ToolCallStart(0, "call_1", "a"),
        c.ToolCallDelta(0, '{"x":'),
        c.ToolCallDelta(0, "1}"),
        c.ToolCallStart(1, "call_2", "b"),
        c.ThinkingDelta(redacted_data="opaque"),
        c.TextDelta("bye"),
        c.StreamEnd("tool_use", c.Usage(input_tokens=100, output_tokens=20, cached_tokens=40)),
        c.TextDelta("after the end is ignored"),
    ]
    parsed = parse(b"".join(encoder.encode(e) for e in events))
    kinds = [(e["type"], e.get("index")) for e in parsed]
    assert kinds == [
        ("message_start", None), ("ping", None),
        ("content_block_start", 0), ("content_block_delta", 0), ("content_block_delta", 0),
        ("content_block_delta", 0), ("content_block_stop", 0),
        ("content_block_start", 1), ("content_block_delta", 1), ("content_block_delta", 1), ("content_block_stop", 1),
        ("content_block_start", 2), ("content_block_delta", 2), ("content_block_delta", 2), ("content_block_stop", 2),
        ("content_block_start", 3), ("content_block_stop", 3),
        ("content_block_start", 4), ("content_block_stop", 4),
        ("content_block_start", 5), ("content_block_delta", 5), ("content_block_stop", 5),
        ("message_delta", None), ("message_stop", None),
    ]
    assert parsed[0]["message"]["id"] == "msg_chatcmpl-1"
    assert parsed[0]["message"]["model"] == MODEL
    assert parsed[5]["delta"] == {"type": "signature_delta", "signature": "sig-1"}  # last, before the stop
    assert parsed[15]["content_block"] == {"type": "tool_use", "id": "call_2", "name": "b", "input": {}}
    assert parsed[17]["content_block"] == {"type": "redacted_thinking", "data": "opaque"}
    assert parsed[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert parsed[-2]["usage"] == {"input_tokens": 60, "output_tokens": 20, "cache_creation_input_tokens": 0,
                                   "cache_read_input_tokens": 40}


def test_it_starts_the_message_even_when_no_stream_start_arrives() -> None:
    encoder = a.StreamEncoder(model=MODEL, include_usage=False)
    parsed = parse(encoder.encode(c.TextDelta("hi")) + encoder.encode(c.StreamEnd(None, c.Usage())))
    assert [e["type"] for e in parsed] == [
        "message_start", "ping", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]
    assert parsed[-2]["delta"]["stop_reason"] == "end_turn"


def test_it_encodes_stream_errors_as_error_events() -> None:
    encoder = a.StreamEncoder(model=MODEL, include_usage=False)
    encoder.encode(c.StreamStart("msg_1", MODEL))
    raw = encoder.encode(c.StreamError(c.ProxyError("Overloaded", kind="overloaded")))
    assert raw == b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
