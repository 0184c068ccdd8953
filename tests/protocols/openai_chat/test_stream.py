"""OpenAI chat completion streams <-> canonical stream events: recorded chunk sequences decoded
(role chunk, content, tool-call argument deltas, reasoning, refusal, usage chunk, finish reasons,
errors mid-stream), canonical events encoded as the documented chunks, the openai SDK reading what
the encoder writes, and a property round trip."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.openai_chat.response import usage_from_canonical
from proxy_app.protocols.sse import SSEParser
from tests.protocols.openai_chat.examples import MODEL, UNMODELLED_USAGE
from tests.protocols.openai_chat.strategies import STOP_BACK, stop_reasons, usages
from tests.protocols.strategies import texts, tool_calls

# ---------------------------------------------------------------- streaming


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, *, usage: Any = None,
           chunk_id: str = "chatcmpl-AVnKJqkoDBkXYF0ncnHPqOLUP8a0H") -> dict[str, Any]:
    return {
        "id": chunk_id, "object": "chat.completion.chunk", "created": 1732063331, "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_45cf54deae",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }


STREAM_USAGE = {
    "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                  "rejected_prediction_tokens": 0},
}

# "Streaming" in the API reference with stream_options.include_usage: usage null on every chunk, then
# a usage-only chunk with no choices
TEXT_STREAM = [
    _chunk({"role": "assistant", "content": "", "refusal": None}),
    _chunk({"content": "Hello"}),
    _chunk({"content": "!"}),
    _chunk({"content": " How can I assist you today?"}),
    _chunk({}, "stop"),
    _chunk(None, usage=STREAM_USAGE),
]


def _tool_delta(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    """A tool-call delta as the API streams them: the first names the call, the rest carry only the
    index and an argument fragment."""
    if call_id is None:
        return {"index": index, "function": {"arguments": arguments}}
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


TOOL_STREAM = [
    _chunk({"role": "assistant", "content": None, "refusal": None,
            "tool_calls": [_tool_delta(0, "", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather")]}),
    *[_chunk({"tool_calls": [_tool_delta(0, piece)]})
      for piece in ("{\"", "location", "\":\"", "Paris", ",", " France", "\"}")],
    _chunk({"tool_calls": [_tool_delta(1, "", "call_ABC", "get_time")]}),
    _chunk({"tool_calls": [_tool_delta(1, "{\"tz\":")]}),
    _chunk({"tool_calls": [_tool_delta(0, "")]}),  # an empty fragment is no delta
    _chunk({"tool_calls": [_tool_delta(1, "\"CET\"}")]}),
    _chunk({}, "tool_calls"),
    _chunk(None, usage={"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
                        "prompt_tokens_details": {"cached_tokens": 64},
                        "completion_tokens_details": {"reasoning_tokens": 5}}),
]


def _sse(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    return b"".join(b"data: " + orjson.dumps(ch) + b"\n\n" for ch in chunks) + (b"data: [DONE]\n\n" if done else b"")


def _decode(raw: bytes, piece: int | None = None) -> list[c.StreamEvent]:
    """Decode SSE bytes as the backend does: parse, stop at [DONE], then ``finish()``."""
    parser, decoder = SSEParser(), o.StreamDecoder()
    out: list[c.StreamEvent] = []
    pieces = [raw] if piece is None else [raw[i:i + piece] for i in range(0, len(raw), piece)]
    for data in pieces:
        for name, text in parser.feed(data):
            if text == "[DONE]":
                return out + decoder.finish()
            out.extend(decoder.feed(orjson.loads(text), name))
    return out + decoder.finish()


def _encode(events: list[c.StreamEvent], include_usage: bool = True, model: str = MODEL) -> bytes:
    encoder = o.StreamEncoder(model=model, include_usage=include_usage)
    return b"".join(encoder.encode(e) for e in events)


def _frames(raw: bytes) -> list[Any]:
    parser = SSEParser()
    return [data if data == "[DONE]" else orjson.loads(data) for _, data in parser.feed(raw) + parser.close()]


def test_it_decodes_a_documented_text_stream_with_a_usage_only_final_chunk() -> None:
    assert _decode(_sse(TEXT_STREAM)) == [
        c.StreamStart("chatcmpl-AVnKJqkoDBkXYF0ncnHPqOLUP8a0H", "gpt-4o-2024-08-06"),
        c.TextDelta("Hello"),
        c.TextDelta("!"),
        c.TextDelta(" How can I assist you today?"),
        c.StreamEnd("end_turn", c.Usage(input_tokens=19, output_tokens=10)),
    ]


def test_it_decodes_tool_call_deltas_split_across_chunks_by_index() -> None:
    assert _decode(_sse(TOOL_STREAM), piece=7) == [
        c.StreamStart("chatcmpl-AVnKJqkoDBkXYF0ncnHPqOLUP8a0H", "gpt-4o-2024-08-06"),
        c.ToolCallStart(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"),
        *[c.ToolCallDelta(0, piece) for piece in ("{\"", "location", "\":\"", "Paris", ",", " France", "\"}")],
        c.ToolCallStart(1, "call_ABC", "get_time"),
        c.ToolCallDelta(1, "{\"tz\":"),
        c.ToolCallDelta(1, "\"CET\"}"),
        c.StreamEnd("tool_use", c.Usage(input_tokens=82, output_tokens=17, cached_tokens=64, reasoning_tokens=5)),
    ]


def test_it_decodes_fragments_that_spell_out_null_ids_and_names_alike() -> None:
    """The function-calling guide prints the SDK's deltas, where absent fields show as None."""
    spelled = copy.deepcopy(TOOL_STREAM)
    for chunk in spelled:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                call.setdefault("id", None)
                call.setdefault("type", None)
                call["function"].setdefault("name", None)
    assert _decode(_sse(spelled)) == _decode(_sse(TOOL_STREAM))


def test_it_decodes_a_whole_call_in_one_chunk_and_parallel_calls_in_one_delta() -> None:
    events = _decode(_sse([
        _chunk({"role": "assistant", "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
            {"index": 1, "id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{\"x\":1}"}},
        ]}, "tool_calls"),
    ]))
    assert events[1:] == [c.ToolCallStart(0, "call_1", "a"), c.ToolCallDelta(0, "{}"),
                          c.ToolCallStart(1, "call_2", "b"), c.ToolCallDelta(1, "{\"x\":1}"),
                          c.StreamEnd("tool_use", c.Usage())]


def test_it_decodes_reasoning_content_deltas_as_thinking() -> None:
    events = _decode(_sse([
        _chunk({"role": "assistant", "content": None, "reasoning_content": ""}),
        _chunk({"content": None, "reasoning_content": "Compare "}),
        _chunk({"content": None, "reasoning_content": "decimals."}),
        _chunk({"content": None, "reasoning": "OpenRouter's spelling"}),
        _chunk({"content": "9.8", "reasoning_content": None}),
        _chunk({}, "length"),
    ]))
    assert events[1:] == [c.ThinkingDelta("Compare "), c.ThinkingDelta("decimals."),
                          c.ThinkingDelta("OpenRouter's spelling"), c.TextDelta("9.8"),
                          c.StreamEnd("max_tokens", c.Usage())]


def test_a_stream_cut_before_its_finish_reason_ends_as_end_turn_and_ignores_what_follows_done() -> None:
    assert _decode(_sse(TEXT_STREAM[:3], done=False))[-1] == c.StreamEnd("end_turn", c.Usage())
    raw = _sse(TEXT_STREAM[:2]) + _sse([_chunk({"content": "after [DONE]"})])
    assert [e for e in _decode(raw) if isinstance(e, c.TextDelta)] == [c.TextDelta("Hello")]


def test_a_chunk_without_id_or_model_still_starts_the_stream() -> None:
    [start, text] = o.StreamDecoder().feed({"choices": [{"index": 0, "delta": {"content": "x"}}]})
    assert isinstance(start, c.StreamStart) and start.id.startswith("chatcmpl-") and start.model == ""
    assert text == c.TextDelta("x")


def test_it_decodes_refusal_deltas() -> None:
    events = _decode(_sse([
        _chunk({"role": "assistant", "content": None, "refusal": ""}),
        _chunk({"refusal": "I'm sorry, "}),
        _chunk({"refusal": "I cannot assist with that request."}),
        _chunk({}, "stop"),
    ]))
    assert "I'm sorry, I cannot assist with that request." in "".join(
        e.text for e in events if isinstance(e, c.TextDelta))


# Each delta of a chunk after the role chunk: (the delta, the canonical events it is).
DELTAS = {
    "role_only": ({"role": "assistant", "content": "", "refusal": None}, []),
    "content": ({"content": "Hello"}, [c.TextDelta("Hello")]),
    "null_content": ({"content": None}, []),
    "refusal": ({"refusal": "I'm sorry"}, [c.TextDelta("I'm sorry")]),
    "reasoning_content": ({"reasoning_content": "Compare "}, [c.ThinkingDelta("Compare ")]),
    "reasoning_openrouter": ({"reasoning": "Compare "}, [c.ThinkingDelta("Compare ")]),
    "reasoning_before_content": ({"content": "9.8", "reasoning_content": "so"},
                                 [c.ThinkingDelta("so"), c.TextDelta("9.8")]),
    "tool_call_named_without_arguments": (
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        [c.ToolCallStart(0, "call_1", "f")],
    ),
    "tool_call_named_with_arguments": (
        {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                         "function": {"name": "f", "arguments": "{}"}}]},
        [c.ToolCallStart(0, "call_1", "f"), c.ToolCallDelta(0, "{}")],
    ),
    # a server that leaves out the index sends each call whole: the next one is a new call
    "tool_calls_without_index": (
        {"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
        [c.ToolCallStart(0, "call_1", "f"), c.ToolCallDelta(0, "{}"),
         c.ToolCallStart(1, "call_2", "g"), c.ToolCallDelta(1, "{}")],
    ),
}


@pytest.mark.parametrize(("delta", "events"), DELTAS.values(), ids=DELTAS.keys())
def test_it_decodes_each_kind_of_delta(delta: dict[str, Any], events: list[c.StreamEvent]) -> None:
    decoder = o.StreamDecoder()
    decoder.feed(TEXT_STREAM[0])
    assert decoder.feed(_chunk(delta)) == events


# A stream's finish reason: (the last chunk's finish_reason, the canonical stop reason).
STREAM_FINISH_REASONS = [
    ("stop", "end_turn"),
    ("length", "max_tokens"),
    ("tool_calls", "tool_use"),
    ("function_call", "tool_use"),
    ("content_filter", "content_filter"),
    ("insufficient_system_resource", "end_turn"),  # DeepSeek's, unknown here
    (None, "end_turn"),  # no finish reason at all: the stream just ended
]


@pytest.mark.parametrize(("wire", "canonical"), STREAM_FINISH_REASONS)
def test_it_decodes_each_finish_reason(wire: str | None, canonical: c.StopReason) -> None:
    events = _decode(_sse([TEXT_STREAM[0], _chunk({"content": "Hi"}), _chunk({}, wire)]))
    assert events[-1] == c.StreamEnd(canonical, c.Usage())


STREAM_ERRORS = [
    {"error": {"message": "The server had an error while processing your request. Sorry about that!",
               "type": "server_error", "param": None, "code": None}},
    {"error": "upstream connect error"},
]


@pytest.mark.parametrize("frame", STREAM_ERRORS)
def test_it_decodes_error_chunks_mid_stream(frame: dict[str, Any]) -> None:
    decoder = o.StreamDecoder()
    decoder.feed(TEXT_STREAM[0])
    [event] = decoder.feed(frame)
    assert isinstance(event, c.StreamError)
    assert (event.error.kind, event.error.status) == ("bad_gateway", 502)
    message = frame["error"]["message"] if isinstance(frame["error"], dict) else frame["error"]
    assert event.error.message == message


def test_it_decodes_openrouters_mid_stream_error_beside_its_error_choice() -> None:
    """OpenRouter's documented mid-stream error: the error object next to a choice that finishes with
    ``error``, its ``code`` the HTTP status; it must end the stream as an error, not as a normal stop."""
    decoder = o.StreamDecoder()
    decoder.feed(TEXT_STREAM[0])
    frame = {"id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": "openai/gpt-4o",
             "provider": "OpenAI", "error": {"code": 429, "message": "Provider returned error: rate limited"},
             "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
    [event] = decoder.feed(frame)
    assert isinstance(event, c.StreamError)
    assert (event.error.kind, event.error.status, event.error.message) == (
        "rate_limit", 429, "Provider returned error: rate limited")


def test_it_encodes_the_documented_chunk_sequence() -> None:
    events: list[c.StreamEvent] = [
        c.StreamStart("chatcmpl-AVnKJqkoDBkXYF0ncnHPqOLUP8a0H", "upstream-model"),
        c.TextDelta("Hello"),
        c.StreamEnd("end_turn", c.Usage(input_tokens=19, output_tokens=10)),
    ]
    raw = _encode(events, model="gpt-4o-2024-08-06")
    assert raw.startswith(b"data: {") and raw.endswith(b"\n\ndata: [DONE]\n\n")
    frames = _frames(raw)
    assert frames[-1] == "[DONE]"
    created = frames[0]["created"]
    expected = [{k: v for k, v in ch.items() if k != "system_fingerprint"} | {"created": created} for ch in (
        _chunk({"role": "assistant", "content": "", "refusal": None}),
        _chunk({"content": "Hello"}),
        _chunk({}, "stop"),
        _chunk(None, usage=usage_from_canonical(c.Usage(input_tokens=19, output_tokens=10))),
    )]
    assert frames[:-1] == expected


def test_without_include_usage_chunks_carry_no_usage_and_no_usage_chunk_follows() -> None:
    frames = _frames(_encode([c.StreamStart("x", "m"), c.TextDelta("a"), c.StreamEnd("max_tokens", c.Usage(1, 2))],
                             include_usage=False))
    assert all("usage" not in f for f in frames[:-1])
    assert [f["choices"][0]["finish_reason"] for f in frames[:-1]] == [None, None, "length"]
    assert frames[0]["id"] == "chatcmpl-x"
    assert frames[-1] == "[DONE]"


def test_it_encodes_tool_calls_as_a_named_start_then_argument_fragments() -> None:
    frames = _frames(_encode([
        c.StreamStart("msg_01", "claude"),
        c.ThinkingDelta("Need weather."), c.ThinkingDelta(signature="sig"), c.ThinkingDelta(redacted_data="opaque"),
        c.ToolCallStart(0, "toolu_01", "get_weather"), c.ToolCallDelta(0, '{"location":'), c.ToolCallDelta(0, '"SF"}'),
        c.StreamEnd("tool_use", c.Usage()),
    ]))
    deltas = [f["choices"][0]["delta"] for f in frames if isinstance(f, dict) and f["choices"]]
    assert deltas == [
        {"role": "assistant", "content": "", "refusal": None},
        {"reasoning_content": "Need weather."},  # signature- and redacted-only deltas have no Chat shape
        {"tool_calls": [{"index": 0, "id": "toolu_01", "type": "function",
                         "function": {"name": "get_weather", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"SF"}'}}]},
        {},
    ]
    assert frames[0]["id"] == "chatcmpl-msg_01"
    assert len({(f["id"], f["created"], f["model"]) for f in frames if isinstance(f, dict)}) == 1


# Each canonical event after the start: (the event, the delta of the chunk it is, or None for no chunk).
EVENTS = {
    "text": (c.TextDelta("Hello"), {"content": "Hello"}),
    "thinking": (c.ThinkingDelta("Need weather."), {"reasoning_content": "Need weather."}),
    "thinking_signature_only": (c.ThinkingDelta(signature="sig"), None),
    "thinking_redacted": (c.ThinkingDelta(redacted_data="opaque"), None),
    "tool_call_start": (c.ToolCallStart(1, "toolu_01", "get_weather"),
                        {"tool_calls": [{"index": 1, "id": "toolu_01", "type": "function",
                                         "function": {"name": "get_weather", "arguments": ""}}]}),
    "tool_call_delta": (c.ToolCallDelta(1, '{"location":'),
                        {"tool_calls": [{"index": 1, "function": {"arguments": '{"location":'}}]}),
}


@pytest.mark.parametrize(("event", "delta"), EVENTS.values(), ids=EVENTS.keys())
def test_it_encodes_each_event_as_a_chunk(event: c.StreamEvent, delta: dict[str, Any] | None) -> None:
    encoder = o.StreamEncoder(model=MODEL, include_usage=True)
    encoder.encode(c.StreamStart("chatcmpl-1", "m"))
    frames = _frames(encoder.encode(event))
    assert [f["choices"][0]["delta"] for f in frames] == ([] if delta is None else [delta])
    assert all(f["id"] == "chatcmpl-1" and f["usage"] is None for f in frames)


# The last chunk's finish_reason for each canonical stop reason.
STREAM_STOP_REASONS = [
    ("end_turn", "stop"),
    ("stop_sequence", "stop"),
    ("max_tokens", "length"),
    ("tool_use", "tool_calls"),
    ("content_filter", "content_filter"),
    ("loop_detected", "stop"),
    ("error", "stop"),
    (None, "stop"),  # a stream always says why it ended
]


@pytest.mark.parametrize(("canonical", "wire"), STREAM_STOP_REASONS)
def test_it_encodes_each_stop_reason_as_the_last_chunks_finish_reason(
    canonical: c.StopReason | None, wire: str
) -> None:
    frames = _frames(_encode([c.StreamStart("x", "m"), c.StreamEnd(canonical, c.Usage())], include_usage=False))
    assert frames[-2]["choices"][0]["finish_reason"] == wire and frames[-1] == "[DONE]"


def test_a_start_without_an_id_keeps_the_encoders_own() -> None:
    frames = _frames(_encode([c.StreamStart("", "m"), c.TextDelta("Hi"), c.StreamEnd("end_turn", c.Usage())]))
    ids = {f["id"] for f in frames if isinstance(f, dict)}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")


def test_it_encodes_stream_errors_as_an_error_object() -> None:
    encoder = o.StreamEncoder(model=MODEL, include_usage=True)
    encoder.encode(c.StreamStart("chatcmpl-1", MODEL))
    raw = encoder.encode(c.StreamError(c.ProxyError("Overloaded", kind="overloaded", code="overloaded")))
    assert raw == b'data: {"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded"}}\n\n'


def _sdk_stream(raw: bytes) -> list[Any]:
    """Chunks as the openai SDK's own SSE reader yields them for ``raw`` (stops at [DONE], raises on errors)."""
    import httpx2
    from openai import OpenAI, Stream
    from openai.types.chat import ChatCompletionChunk

    request = httpx2.Request("POST", "http://proxy.test/v1/chat/completions")
    response = httpx2.Response(200, content=raw, headers={"content-type": "text/event-stream"}, request=request)
    client = OpenAI(api_key="sk-test", base_url="http://proxy.test/v1")
    return list(Stream(cast_to=ChatCompletionChunk, response=response, client=client))


def _sdk_final(chunks: list[Any]) -> Any:
    from openai.lib.streaming.chat import ChatCompletionStreamState

    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    return state.get_final_completion()


def test_the_openai_sdk_accumulates_what_the_encoder_emits() -> None:
    chunks = _sdk_stream(_encode([
        c.StreamStart("chatcmpl-1", "m"), c.ThinkingDelta("hm"), c.TextDelta("Hi"), c.TextDelta(" there"),
        c.ToolCallStart(0, "call_1", "f"), c.ToolCallDelta(0, '{"a":'), c.ToolCallDelta(0, "1}"),
        c.ToolCallStart(1, "call_2", "g"), c.ToolCallDelta(1, "{}"),
        c.StreamEnd("tool_use", c.Usage(input_tokens=10, output_tokens=5, cached_tokens=2, reasoning_tokens=1)),
    ]))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    final = _sdk_final(chunks)
    assert final.id == "chatcmpl-1" and final.model == MODEL
    choice = final.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.role) == (
        "tool_calls", "Hi there", "assistant")
    assert [(t.id, t.function.name, t.function.arguments) for t in choice.message.tool_calls or []] == [
        ("call_1", "f", '{"a":1}'), ("call_2", "g", "{}")]
    assert final.usage is not None and final.usage.total_tokens == 15
    assert final.usage.prompt_tokens_details is not None and final.usage.prompt_tokens_details.cached_tokens == 2


def test_the_openai_sdk_raises_the_error_the_encoder_emits_mid_stream() -> None:
    from openai import APIError

    raw = _encode([c.StreamStart("chatcmpl-1", "m"), c.TextDelta("Hi"),
                   c.StreamError(c.ProxyError("upstream went away", kind="bad_gateway"))])
    with pytest.raises(APIError) as exc:
        _sdk_stream(raw)
    assert exc.value.message == "upstream went away"
    assert exc.value.body == {"message": "upstream went away", "type": "server_error", "param": None, "code": None}


@pytest.mark.parametrize("recorded", [TEXT_STREAM, TOOL_STREAM], ids=["text", "tool_calls"])
def test_a_reencoded_recorded_stream_accumulates_to_the_same_completion_in_the_sdk(
    recorded: list[dict[str, Any]]
) -> None:
    original = _sdk_final(_sdk_stream(_sse(recorded))).model_dump()
    ours = _sdk_final(_sdk_stream(_encode(_decode(_sse(recorded)), model="gpt-4o-2024-08-06"))).model_dump()
    for completion in (original, ours):
        completion.pop("created")
        completion.pop("system_fingerprint")
        # the role chunk opens with content "" (whether text follows is not known yet); OpenAI sends null
        # there before tool calls, which the SDK accumulates to None
        message = completion["choices"][0]["message"]
        message["content"] = message["content"] or None
        for key in ("prompt_tokens_details", "completion_tokens_details"):
            details = completion["usage"][key]
            for unmodelled in UNMODELLED_USAGE:
                details[unmodelled] = None
    assert ours == original


# ---------------------------------------------------------------- property: encode -> decode

_stream_deltas = st.lists(st.one_of(st.builds(c.TextDelta, texts), st.builds(c.ThinkingDelta, texts)), max_size=8)


@settings(max_examples=100, deadline=None)
@given(_stream_deltas, st.lists(tool_calls(), max_size=3), stop_reasons, usages, st.booleans(),
       st.integers(1, 64))
def test_a_stream_survives_encoding_and_decoding(
    deltas: list[c.StreamEvent], calls: list[c.ToolCallPart], stop: c.StopReason | None, usage: c.Usage,
    include_usage: bool, piece: int
) -> None:
    events: list[c.StreamEvent] = [c.StreamStart("chatcmpl-xyz", "m"), *deltas]
    for i, call in enumerate(calls):
        events += [c.ToolCallStart(i, call.id, call.name), c.ToolCallDelta(i, call.arguments)]
    events.append(c.StreamEnd(stop, usage))
    raw = _encode(events, include_usage=include_usage)
    decoded = _decode(raw, piece=piece)
    assert decoded[0] == c.StreamStart("chatcmpl-xyz", MODEL)
    text = "".join(e.text for e in decoded if isinstance(e, c.TextDelta))
    assert text == "".join(e.text for e in deltas if isinstance(e, c.TextDelta))
    thinking = "".join(e.text for e in decoded if isinstance(e, c.ThinkingDelta))
    assert thinking == "".join(e.text for e in deltas if isinstance(e, c.ThinkingDelta))
    assert [(e.index, e.id, e.name) for e in decoded if isinstance(e, c.ToolCallStart)] == [
        (i, call.id, call.name) for i, call in enumerate(calls)]
    for i, call in enumerate(calls):
        fragments = [e.arguments for e in decoded if isinstance(e, c.ToolCallDelta) and e.index == i]
        assert "".join(fragments) == call.arguments
    end = decoded[-1]
    assert isinstance(end, c.StreamEnd)
    assert end.usage == (usage if include_usage else c.Usage())
    assert end.stop_reason == STOP_BACK.get(stop or "end_turn", stop or "end_turn")
    # and what a decoded stream re-encodes to decodes to the same events again
    assert _decode(_encode(decoded, include_usage=include_usage)) == decoded
