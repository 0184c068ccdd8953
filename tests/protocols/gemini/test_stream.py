"""``streamGenerateContent`` chunks <-> canonical stream events, as SSE and as a JSON array."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g
from proxy_app.protocols.sse import SSEParser

STREAM = [
    {"candidates": [{"content": {"parts": [{"text": "Let me think about cookies.", "thought": True}], "role": "model"},
                     "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}, "modelVersion": "gemini-2.5-flash",
     "responseId": "stream-1"},
    {"candidates": [{"content": {"parts": [{"text": "Chocolate chip"}], "role": "model"}, "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}, "modelVersion": "gemini-2.5-flash",
     "responseId": "stream-1"},
    {"candidates": [{"content": {"parts": [
        {"text": " is best."},
        {"functionCall": {"name": "save_recipe", "args": {"name": "Chocolate chip"}}, "thoughtSignature": "c2ln"},
        {"functionCall": {"name": "notify", "args": {}}},
    ], "role": "model"}, "finishReason": "STOP", "index": 0}],
     "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 12, "totalTokenCount": 41,
                       "thoughtsTokenCount": 20},
     "modelVersion": "gemini-2.5-flash", "responseId": "stream-1"},
]


def _decode(chunks: list[dict[str, Any]]) -> list[c.StreamEvent]:
    decoder = g.StreamDecoder()
    events: list[c.StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(copy.deepcopy(chunk), None))
    return events + decoder.finish()


def test_it_decodes_a_streamed_response() -> None:
    events = _decode(STREAM)
    start, thinking, text1, text2, call1, args1, call2, args2, end = events
    assert start == c.StreamStart("stream-1", "gemini-2.5-flash")
    assert thinking == c.ThinkingDelta("Let me think about cookies.")
    assert (text1, text2) == (c.TextDelta("Chocolate chip"), c.TextDelta(" is best."))
    assert isinstance(call1, c.ToolCallStart) and (call1.index, call1.name) == (0, "save_recipe")
    assert call1.extra == {"thoughtSignature": "c2ln"}
    assert args1 == c.ToolCallDelta(0, '{"name":"Chocolate chip"}')
    assert isinstance(call2, c.ToolCallStart) and (call2.index, call2.name) == (1, "notify")
    assert args2 == c.ToolCallDelta(1, "{}")
    assert end == c.StreamEnd("tool_use", c.Usage(9, 32, reasoning_tokens=20))


def _strip_ids(events: list[c.StreamEvent]) -> list[Any]:
    out = []
    for event in events:
        if isinstance(event, c.ToolCallStart):
            out.append((event.index, event.name, event.extra))
        elif not isinstance(event, c.StreamStart):
            out.append(event)
    return out


def _encode(events: list[c.StreamEvent], *, sse: bool) -> bytes:
    encoder = g.StreamEncoder(model="gemini-2.5-flash", include_usage=True, sse=sse)
    assert encoder.content_type == ("text/event-stream" if sse else "application/json")
    return b"".join(encoder.encode(e) for e in events)


def test_it_re_encodes_a_stream_as_sse() -> None:
    events = _decode(STREAM)
    raw = _encode(events, sse=True)
    assert raw.startswith(b"data: {") and raw.endswith(b"\r\n\r\n")
    chunks = [orjson.loads(data) for _, data in SSEParser().feed(raw)]
    assert all(chunk["responseId"] == "stream-1" for chunk in chunks)
    assert chunks[1] == {"candidates": [{"content": {"role": "model", "parts": [{"text": "Chocolate chip"}]},
                                         "index": 0}], "modelVersion": "gemini-2.5-flash", "responseId": "stream-1"}
    final = chunks[-1]
    assert final["candidates"][0]["finishReason"] == "STOP"
    assert final["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "save_recipe", "args": {"name": "Chocolate chip"}}, "thoughtSignature": "c2ln"},
        {"functionCall": {"name": "notify", "args": {}}},
    ]
    assert final["usageMetadata"] == STREAM[-1]["usageMetadata"]
    assert _strip_ids(_decode(chunks)) == _strip_ids(events)


def test_it_re_encodes_a_stream_as_a_json_array() -> None:
    events = _decode(STREAM)
    raw = _encode(events, sse=False)
    assert raw.startswith(b"[{") and raw.endswith(b"}]") and b",\r\n{" in raw
    chunks = orjson.loads(raw)
    assert _strip_ids(_decode(chunks)) == _strip_ids(events)


def test_it_buffers_streamed_tool_call_arguments_until_the_call_is_complete() -> None:
    encoder = g.StreamEncoder(model="m", include_usage=False)
    assert encoder.encode(c.StreamStart("id1", "m")) == b""
    assert encoder.encode(c.ToolCallStart(0, "call_1", "f")) == b""
    assert encoder.encode(c.ToolCallDelta(0, '{"a":')) == b""
    assert encoder.encode(c.ToolCallDelta(0, "1}")) == b""
    flushed = encoder.encode(c.TextDelta("after"))
    first, second = (orjson.loads(data) for _, data in SSEParser().feed(flushed))
    assert first["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "f", "args": {"a": 1}}}]
    assert second["candidates"][0]["content"]["parts"] == [{"text": "after"}]
    end = encoder.encode(c.StreamEnd("max_tokens", c.Usage(3, 4)))
    (final,) = (orjson.loads(data) for _, data in SSEParser().feed(end))
    assert final["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert final["usageMetadata"] == {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}


def test_it_encodes_thinking_deltas_as_thought_parts() -> None:
    encoder = g.StreamEncoder(model="m", include_usage=True)
    chunk = orjson.loads(encoder.encode(c.ThinkingDelta("pondering", signature="sig"))[len(b"data: "):])
    assert chunk["candidates"][0]["content"]["parts"] == [{"text": "pondering", "thought": True,
                                                           "thoughtSignature": "sig"}]


def test_it_decodes_a_blocked_prompt_in_a_stream() -> None:
    events = _decode([{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                       "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}])
    assert events[-1] == c.StreamEnd("content_filter", c.Usage(4, 0))


def test_it_turns_an_error_chunk_into_a_stream_error() -> None:
    (event,) = g.StreamDecoder().feed(
        {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}, None)
    assert isinstance(event, c.StreamError) and event.error.kind == "unavailable"


def test_it_closes_the_json_array_after_a_stream_error() -> None:
    encoder = g.StreamEncoder(model="m", include_usage=True, sse=False)
    raw = encoder.encode(c.TextDelta("x")) + encoder.encode(c.StreamError(c.ProxyError("boom", kind="api_error")))
    assert encoder.encode(c.StreamEnd("end_turn", c.Usage())) == b""
    assert orjson.loads(raw)[1] == {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}
