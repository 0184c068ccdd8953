"""OpenAI chat completions <-> canonical responses, driven by responses from OpenAI's API reference:
each field both ways, finish reasons and usage, foreign responses rendered, the SDK's own model
accepting what we render, and a property round trip."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.openai_chat.extras import REFUSAL
from proxy_app.protocols.openai_chat.response import usage_from_canonical, usage_to_canonical
from tests.protocols.openai_chat.examples import MODEL, UNMODELLED_USAGE
from tests.protocols.openai_chat.strategies import STOP_BACK, stop_reasons, usages
from tests.protocols.strategies import idents, texts, tool_calls

# ---------------------------------------------------------------- responses

BASIC_RESPONSE = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": None,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    },
    "service_tier": "default",
}

TOOL_CALL_RESPONSE = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_abc123", "type": "function",
                     "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}},
                    {"id": "call_def456", "type": "function",
                     "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Paris\"}"}},
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
              "completion_tokens_details": {"reasoning_tokens": 0}},
    "system_fingerprint": "fp_44709d6fcb",
}

REASONING_RESPONSE = {
    "id": "chatcmpl-AyPNinnUqUDYo9SAdA52NobMflmj2",
    "object": "chat.completion",
    "created": 1738960610,
    "model": "o3-mini-2025-01-31",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Here is a bash script...", "refusal": None,
                        "reasoning_content": "The user wants a script that transposes a matrix."},
            "logprobs": None,
            "finish_reason": "length",
        }
    ],
    "usage": {
        "prompt_tokens": 1117, "completion_tokens": 25000, "total_tokens": 26117,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 24000, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_ef58bd3122",
}

REFUSAL_RESPONSE = {
    "id": "chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC",
    "object": "chat.completion",
    "created": 1721596428,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None,
                        "refusal": "I'm sorry, I cannot assist with that request."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 81, "completion_tokens": 11, "total_tokens": 92,
              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
    "system_fingerprint": "fp_3407719c7f",
}

def _as_reencoded(payload: dict[str, Any]) -> dict[str, Any]:
    """What we send back for a documented response: everything but what canonical does not model
    (message annotations, audio/prediction token details), with every usage detail present."""
    out = copy.deepcopy(payload)
    message = out["choices"][0]["message"]
    message.pop("annotations", None)
    message.setdefault("refusal", None)
    usage = out["usage"]
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = {k: v for k, v in (usage.get(key) or {}).items() if k not in UNMODELLED_USAGE}
        usage[key] = details or {"prompt_tokens_details": {"cached_tokens": 0},
                                 "completion_tokens_details": {"reasoning_tokens": 0}}[key]
    return out


DOCUMENTED_RESPONSES = {"basic": BASIC_RESPONSE, "tool_calls": TOOL_CALL_RESPONSE, "reasoning": REASONING_RESPONSE}


@pytest.mark.parametrize("payload", DOCUMENTED_RESPONSES.values(), ids=DOCUMENTED_RESPONSES.keys())
def test_it_reencodes_documented_responses_keeping_all_it_models(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    resp = o.response_to_canonical(payload)
    assert o.response_from_canonical(resp, model=payload["model"]) == _as_reencoded(original)
    assert payload == original


def test_it_reads_text_stop_reason_usage_and_openai_extras() -> None:
    resp = o.response_to_canonical(BASIC_RESPONSE)
    assert resp == c.ChatResponse(
        id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", model="gpt-4.1-2025-04-14",
        parts=[c.TextPart("Hello! How can I assist you today?")], stop_reason="end_turn",
        usage=c.Usage(input_tokens=19, output_tokens=10), created=1741569952, extra={"service_tier": "default"})


def test_it_reads_tool_calls_with_their_arguments_verbatim() -> None:
    resp = o.response_to_canonical(TOOL_CALL_RESPONSE)
    assert resp.parts == [
        c.ToolCallPart("call_abc123", "get_current_weather", "{\n\"location\": \"Boston, MA\"\n}"),
        c.ToolCallPart("call_def456", "get_current_weather", "{\"location\": \"Paris\"}"),
    ]
    assert resp.stop_reason == "tool_use"
    assert resp.extra == {"system_fingerprint": "fp_44709d6fcb"}


def test_it_reads_reasoning_content_and_cached_and_reasoning_tokens() -> None:
    resp = o.response_to_canonical(REASONING_RESPONSE)
    assert resp.parts == [c.ThinkingPart("The user wants a script that transposes a matrix."),
                          c.TextPart("Here is a bash script...")]
    assert resp.stop_reason == "max_tokens"
    assert resp.usage == c.Usage(input_tokens=1117, output_tokens=25000, cached_tokens=1024, reasoning_tokens=24000)
    other = copy.deepcopy(REASONING_RESPONSE)
    other["choices"][0]["message"] = {"role": "assistant", "content": "x", "reasoning": "OpenRouter's spelling"}
    assert o.response_to_canonical(other).parts[0] == c.ThinkingPart("OpenRouter's spelling")


def test_it_keeps_a_refusal() -> None:
    resp = o.response_to_canonical(copy.deepcopy(REFUSAL_RESPONSE))
    wire = o.response_from_canonical(resp, model="gpt-4o-2024-08-06")
    assert wire["choices"][0]["message"]["refusal"] == "I'm sorry, I cannot assist with that request."


def test_it_reads_sparse_and_odd_responses_without_failing() -> None:
    empty = o.response_to_canonical({})
    assert empty.id.startswith("chatcmpl-") and empty.parts == [] and empty.usage == c.Usage()
    assert empty.stop_reason is None and empty.model == ""
    no_choices = o.response_to_canonical({"id": "chatcmpl-1", "choices": [], "usage": None})
    assert no_choices.parts == [] and no_choices.usage == c.Usage()
    assert o.response_to_canonical({"choices": ["junk"]}).parts == []
    nameless = o.response_to_canonical({"choices": [{"message": {"tool_calls": [{"function": {}}]},
                                                     "finish_reason": "tool_calls"}]})
    [call] = nameless.parts
    assert isinstance(call, c.ToolCallPart) and call.id.startswith("call_") and (call.name, call.arguments) == ("", "")
    details = o.response_to_canonical({"usage": {"prompt_tokens": 5, "completion_tokens": 1,
                                                 "prompt_tokens_details": None, "completion_tokens_details": None}})
    assert details.usage == c.Usage(input_tokens=5, output_tokens=1)


# Each top-level field of a completion: (the fields, the canonical attribute, its value).
COMPLETION_FIELDS = {
    "id": ({"id": "chatcmpl-abc123"}, "id", "chatcmpl-abc123"),
    "model": ({"model": "gpt-4o-mini"}, "model", "gpt-4o-mini"),
    "created": ({"created": 1699896916}, "created", 1699896916),
    "usage": ({"usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99,
                         "prompt_tokens_details": {"cached_tokens": 64},
                         "completion_tokens_details": {"reasoning_tokens": 5}}},
              "usage", c.Usage(input_tokens=82, output_tokens=17, cached_tokens=64, reasoning_tokens=5)),
    "openai_extras": ({"system_fingerprint": "fp_44709d6fcb", "service_tier": "default"}, "extra",
                      {"system_fingerprint": "fp_44709d6fcb", "service_tier": "default"}),
    "other_servers_fields_are_not_kept": ({"provider": "OpenAI", "object": "chat.completion"}, "extra", {}),
}


@pytest.mark.parametrize(("fields", "attribute", "value"), COMPLETION_FIELDS.values(), ids=COMPLETION_FIELDS.keys())
def test_it_reads_each_completion_field(fields: dict[str, Any], attribute: str, value: Any) -> None:
    choice = {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
    assert getattr(o.response_to_canonical({"choices": [choice], **fields}), attribute) == value


# Each shape of a completion's message: (the message, its canonical parts).
COMPLETION_MESSAGES = {
    "content": ({"role": "assistant", "content": "Hello!", "refusal": None}, [c.TextPart("Hello!")]),
    "empty_content": ({"role": "assistant", "content": "", "refusal": None}, []),
    "reasoning_content": ({"role": "assistant", "content": "9.8", "reasoning_content": "Compare the decimals."},
                          [c.ThinkingPart("Compare the decimals."), c.TextPart("9.8")]),
    "reasoning_openrouter": ({"role": "assistant", "content": "9.8", "reasoning": "Compare the decimals."},
                             [c.ThinkingPart("Compare the decimals."), c.TextPart("9.8")]),
    "refusal": ({"role": "assistant", "content": None, "refusal": "I can't help with that."},
                [c.TextPart("I can't help with that.", extra={REFUSAL: True})]),
    "tool_calls": (
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}]},
        [c.ToolCallPart("call_1", "get_weather", "{}"), c.ToolCallPart("call_2", "get_time", "{\"tz\":\"CET\"}")],
    ),
    "tool_call_without_arguments": (
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "now"}}]},
        [c.ToolCallPart("call_1", "now", "")],
    ),
    "all_of_it_in_order": (
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}],
         "refusal": "Not that part.", "content": "Here.", "reasoning_content": "Hm."},
        [c.ThinkingPart("Hm."), c.TextPart("Here."), c.TextPart("Not that part.", extra={REFUSAL: True}),
         c.ToolCallPart("call_1", "f", "{}")],
    ),
}


@pytest.mark.parametrize(("message", "parts"), COMPLETION_MESSAGES.values(), ids=COMPLETION_MESSAGES.keys())
def test_it_reads_each_message_shape(message: dict[str, Any], parts: list[c.Part]) -> None:
    payload = copy.deepcopy(BASIC_RESPONSE)
    payload["choices"][0]["message"] = message
    assert o.response_to_canonical(payload).parts == parts


# Canonical parts as a completion's message: (the parts, the message).
MESSAGES_OUT = {
    "nothing": ([], {"role": "assistant", "content": None, "refusal": None}),
    "texts_joined": ([c.TextPart("Hello"), c.TextPart(" there")],
                     {"role": "assistant", "content": "Hello there", "refusal": None}),
    "refusal_apart_from_the_content": (
        [c.TextPart("Here is the first part."), c.TextPart("Not the rest.", extra={REFUSAL: True})],
        {"role": "assistant", "content": "Here is the first part.", "refusal": "Not the rest."},
    ),
    "thinking_joined_without_signatures": (
        [c.ThinkingPart("Let me", signature="sig", origin="anthropic"), c.ThinkingPart(" think."),
         c.ThinkingPart("", redacted_data="opaque")],
        {"role": "assistant", "content": None, "refusal": None, "reasoning_content": "Let me think."},
    ),
    "tool_calls": (
        [c.ToolCallPart("toolu_01", "get_weather", '{"location":"SF"}')],
        {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"id": "toolu_01", "type": "function", "function": {"name": "get_weather",
                                                                 "arguments": '{"location":"SF"}'}}]},
    ),
    "another_protocols_part_is_dropped": (
        [c.RawPart("anthropic", {"type": "web_search_tool_result"}), c.TextPart("Found it.")],
        {"role": "assistant", "content": "Found it.", "refusal": None},
    ),
}


@pytest.mark.parametrize(("parts", "message"), MESSAGES_OUT.values(), ids=MESSAGES_OUT.keys())
def test_it_renders_canonical_parts_as_the_message(parts: list[c.Part], message: dict[str, Any]) -> None:
    wire = o.response_from_canonical(c.ChatResponse("msg_1", "claude", parts), model=MODEL)
    assert wire["choices"][0]["message"] == message


FINISH_REASONS_IN = [
    ("stop", "end_turn", "stop"),
    ("length", "max_tokens", "length"),
    ("tool_calls", "tool_use", "tool_calls"),
    ("function_call", "tool_use", "tool_calls"),
    ("content_filter", "content_filter", "content_filter"),
    ("insufficient_system_resource", "end_turn", "stop"),  # DeepSeek's, unknown here
    (None, None, None),
]


@pytest.mark.parametrize(("wire", "canonical", "back"), FINISH_REASONS_IN)
def test_it_maps_finish_reasons_in(wire: str | None, canonical: str | None, back: str | None) -> None:
    payload = copy.deepcopy(BASIC_RESPONSE)
    payload["choices"][0]["finish_reason"] = wire
    resp = o.response_to_canonical(payload)
    assert resp.stop_reason == canonical
    assert o.response_from_canonical(resp, model=MODEL)["choices"][0]["finish_reason"] == back


FINISH_REASONS_OUT = [
    ("end_turn", "stop"),
    ("stop_sequence", "stop"),
    ("max_tokens", "length"),
    ("tool_use", "tool_calls"),
    ("content_filter", "content_filter"),
    ("loop_detected", "stop"),
    ("error", "stop"),
    (None, None),
]


@pytest.mark.parametrize(("canonical", "wire"), FINISH_REASONS_OUT)
def test_it_maps_every_canonical_stop_reason_out(canonical: c.StopReason | None, wire: str | None) -> None:
    resp = c.ChatResponse("msg_1", "claude", [c.TextPart("hi")], stop_reason=canonical)
    assert o.response_from_canonical(resp, model=MODEL)["choices"][0]["finish_reason"] == wire


def test_it_renders_a_foreign_response_as_a_chat_completion() -> None:
    resp = c.ChatResponse(
        "msg_013Zva2CMHLNnXjNJJKqJ2EF", "claude-sonnet-4-5",
        [c.ThinkingPart("Let me think", signature="sig", origin="anthropic"), c.ThinkingPart(" more."),
         c.ThinkingPart("", redacted_data="opaque"), c.TextPart("Hello"), c.TextPart(" there"),
         c.ToolCallPart("toolu_01", "get_weather", '{"location":"SF"}'), c.RawPart("anthropic", {"type": "citation"})],
        stop_reason="tool_use", usage=c.Usage(input_tokens=4512, output_tokens=40, cached_tokens=3000,
                                              cache_creation_tokens=1500),
        extra={"container": {"id": "c1"}, "stop_details": None},
    )
    wire = o.response_from_canonical(resp, model=MODEL)
    created = wire.pop("created")
    assert isinstance(created, int) and created > 1_700_000_000
    assert wire == {
        "id": "chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant", "content": "Hello there", "refusal": None,
                "reasoning_content": "Let me think more.",
                "tool_calls": [{"id": "toolu_01", "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"location":"SF"}'}}],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }],
        "usage": {"prompt_tokens": 4512, "completion_tokens": 40, "total_tokens": 4552,
                  "prompt_tokens_details": {"cached_tokens": 3000},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def test_an_empty_answer_has_null_content() -> None:
    wire = o.response_from_canonical(c.ChatResponse("chatcmpl-x", "m", [], created=5), model="m")
    assert wire["choices"][0]["message"] == {"role": "assistant", "content": None, "refusal": None}
    assert (wire["id"], wire["created"]) == ("chatcmpl-x", 5)


USAGES = [
    c.Usage(),
    c.Usage(input_tokens=19, output_tokens=10),
    c.Usage(input_tokens=1117, output_tokens=25000, cached_tokens=1024, reasoning_tokens=24000),
]


@pytest.mark.parametrize("usage", USAGES)
def test_it_round_trips_usage_numbers_exactly(usage: c.Usage) -> None:
    wire = usage_from_canonical(usage)
    assert wire["total_tokens"] == wire["prompt_tokens"] + wire["completion_tokens"]
    assert usage_to_canonical(wire) == usage


def test_responses_validate_against_the_sdk_model() -> None:
    from openai.types.chat import ChatCompletion

    for payload in DOCUMENTED_RESPONSES.values():
        wire = o.response_from_canonical(o.response_to_canonical(payload), model=payload["model"])
        parsed = ChatCompletion.model_validate(wire)
        assert parsed.choices[0].message.content == payload["choices"][0]["message"]["content"]
    wire = o.response_from_canonical(o.response_to_canonical(TOOL_CALL_RESPONSE), model="m")
    calls = ChatCompletion.model_validate(wire).choices[0].message.tool_calls or []
    assert [call.id for call in calls] == ["call_abc123", "call_def456"]
    usage = ChatCompletion.model_validate(o.response_from_canonical(o.response_to_canonical(REASONING_RESPONSE),
                                                                    model="o3")).usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 24000


# ---------------------------------------------------------------- property: canonical -> wire -> canonical


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(c.ThinkingPart, texts), max_size=2), st.lists(st.builds(c.TextPart, texts), max_size=3),
       st.lists(tool_calls(), max_size=3), stop_reasons, usages, idents, st.none() | st.integers(1, 2**31))
def test_a_response_survives_a_trip_through_the_wire(
    thinking: list[c.ThinkingPart], text: list[c.TextPart], calls: list[c.ToolCallPart], stop: c.StopReason | None,
    usage: c.Usage, resp_id: str, created: int | None
) -> None:
    resp = c.ChatResponse(resp_id, "upstream", [*thinking, *text, *calls], stop, usage, created=created,
                          extra={"system_fingerprint": "fp_1", "foreign": 1})
    wire = orjson.loads(orjson.dumps(o.response_from_canonical(resp, model=MODEL)))
    back = o.response_to_canonical(wire)
    joined_thinking, joined_text = "".join(p.text for p in thinking), "".join(p.text for p in text)
    assert back.parts == [*([c.ThinkingPart(joined_thinking)] if joined_thinking else []),
                          *([c.TextPart(joined_text)] if joined_text else []), *calls]
    assert back.stop_reason == STOP_BACK.get(stop, stop)  # type: ignore[arg-type]
    assert back.usage == usage
    assert back.id == (resp_id if resp_id.startswith("chatcmpl") else f"chatcmpl-{resp_id}")
    assert back.model == MODEL and back.extra == {"system_fingerprint": "fp_1"}
    if created is not None:
        assert back.created == created
    # same-protocol re-encode is the identity
    assert o.response_from_canonical(back, model=MODEL) == wire
