"""OpenAI Responses API translator: wire payloads as OpenAI documents them <-> canonical."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.sse import SSEParser

MODEL = "gpt-4.1"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

# ---------------------------------------------------------------- documented requests

TEXT_INPUT = {"model": MODEL, "input": "Tell me a three sentence bedtime story about a unicorn."}

IMAGE_INPUT = {
    "model": MODEL,
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is in this image?"},
                {"type": "input_image",
                 "image_url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"},
            ],
        }
    ],
}

BASE64_AND_FILE_IMAGES = {
    "model": MODEL,
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Compare these."},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"},
                {"type": "input_image", "file_id": "file-abc123", "detail": "auto"},
                {"type": "input_file", "file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"},
            ],
        }
    ],
}

WEATHER_TOOL = {
    "type": "function",
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
    },
}

FUNCTION_CALLING = {
    "model": MODEL,
    "input": "What is the weather like in Boston today?",
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
}

FUNCTION_CALL_OUTPUT = {
    "model": MODEL,
    "input": [
        {"role": "user", "content": "What's the weather like in Paris today?"},
        {"type": "function_call", "id": "fc_12345xyz", "call_id": "call_12345xyz", "name": "get_weather",
         "arguments": "{\"latitude\":48.8566,\"longitude\":2.3522}"},
        {"type": "function_call_output", "call_id": "call_12345xyz", "output": "{\"temperature\": 14}"},
    ],
    "tools": [{**WEATHER_TOOL, "name": "get_weather", "strict": True}],
}

REASONING = {"model": "o3-mini", "input": "How much wood would a woodchuck chuck?",
             "reasoning": {"effort": "high", "summary": "auto"}}

STATELESS_REASONING = {
    "model": "o4-mini",
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "input": [
        {"role": "user", "content": "What's the weather like in Paris today?"},
        {"type": "reasoning", "id": "rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7",
         "summary": [{"type": "summary_text", "text": "**Checking the weather**"}],
         "encrypted_content": "gAAAAABoISQ24OyVRYbkYfukq0JCCHFb"},
        {"type": "function_call", "id": "fc_6820f3855a8c8191", "call_id": "call_X0oLt7mFfovSBDwjzYrDONvl",
         "name": "get_weather", "arguments": "{\"latitude\":48.8566,\"longitude\":2.3522}", "status": "completed"},
        {"type": "function_call_output", "call_id": "call_X0oLt7mFfovSBDwjzYrDONvl", "output": "15.3"},
    ],
    "tools": [{**WEATHER_TOOL, "name": "get_weather"}],
}

WEB_SEARCH = {"model": MODEL, "tools": [{"type": "web_search_preview"}],
              "input": "What was a positive news story from today?"}

INSTRUCTIONS_STREAM = {"model": MODEL, "instructions": "You are a helpful assistant.", "input": "Hello!",
                       "stream": True}

STRUCTURED_OUTPUT = {
    "model": "gpt-4o-2024-08-06",
    "input": [
        {"role": "system", "content": "Extract the event information."},
        {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
    ],
    "text": {
        "format": {
            "type": "json_schema",
            "name": "calendar_event",
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                               "participants": {"type": "array", "items": {"type": "string"}}},
                "required": ["name", "date", "participants"],
                "additionalProperties": False,
            },
            "strict": True,
        }
    },
}

CONVERSATION_STATE = {
    "model": "gpt-4o-mini",
    "input": [
        {"role": "developer", "content": "Answer as a pirate."},
        {"role": "user", "content": "knock knock."},
        {"type": "message", "id": "msg_67b73f697ba4819183a15cc17d011509", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Who's there?", "annotations": []}]},
        {"role": "user", "content": "Orange."},
    ],
    "temperature": 0.7,
    "top_p": 0.9,
    "max_output_tokens": 500,
    "parallel_tool_calls": False,
    "metadata": {"customer": "c-1"},
    "user": "user-1234",
    "service_tier": "flex",
    "text": {"format": {"type": "text"}, "verbosity": "low"},
    "truncation": "auto",
}

DOCUMENTED_REQUESTS = {
    "text": TEXT_INPUT,
    "image": IMAGE_INPUT,
    "base64_and_file_images": BASE64_AND_FILE_IMAGES,
    "function_calling": FUNCTION_CALLING,
    "function_call_output": FUNCTION_CALL_OUTPUT,
    "reasoning": REASONING,
    "stateless_reasoning": STATELESS_REASONING,
    "web_search": WEB_SEARCH,
    "instructions_stream": INSTRUCTIONS_STREAM,
    "structured_output": STRUCTURED_OUTPUT,
    "conversation_state": CONVERSATION_STATE,
}


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    assert r.request_from_canonical(r.request_to_canonical(payload)) == original
    assert payload == original, "decoding must not mutate the payload"


def test_it_reads_a_string_input_as_one_user_message() -> None:
    req = r.request_to_canonical(TEXT_INPUT)
    assert req.source_protocol == r.NAME and req.model == MODEL
    assert req.messages == [c.Message("user", [c.TextPart(TEXT_INPUT["input"])])]


def test_it_reads_instructions_as_a_leading_system_message() -> None:
    req = r.request_to_canonical(INSTRUCTIONS_STREAM)
    assert req.messages[0].role == "system" and req.messages[0].text() == "You are a helpful assistant."
    assert req.messages[1].text() == "Hello!"
    assert req.stream and req.include_usage


def test_it_reads_url_base64_and_file_images() -> None:
    parts = r.request_to_canonical(BASE64_AND_FILE_IMAGES).messages[0].parts
    assert parts[1] == c.ImagePart(data=PNG, media_type="image/png", detail="high")
    assert parts[2] == c.RawPart(r.NAME, {"type": "input_image", "file_id": "file-abc123", "detail": "auto"})
    assert isinstance(parts[3], c.RawPart)
    url = r.request_to_canonical(IMAGE_INPUT).messages[0].parts[1]
    assert isinstance(url, c.ImagePart) and url.url and url.url.startswith("https://upload.wikimedia.org/")


def test_it_groups_function_calls_into_an_assistant_turn_and_outputs_into_tool_messages() -> None:
    req = r.request_to_canonical(STATELESS_REASONING)
    assert [m.role for m in req.messages] == ["user", "assistant", "tool"]
    thinking, call = req.messages[1].parts
    assert isinstance(thinking, c.ThinkingPart) and thinking.text == "**Checking the weather**"
    assert thinking.extra and thinking.extra[r.X]["encrypted_content"] == "gAAAAABoISQ24OyVRYbkYfukq0JCCHFb"
    assert isinstance(call, c.ToolCallPart)
    assert (call.id, call.name) == ("call_X0oLt7mFfovSBDwjzYrDONvl", "get_weather")
    result = req.messages[2].parts[0]
    assert isinstance(result, c.ToolResultPart)
    assert result.tool_call_id == call.id and result.content == [c.TextPart("15.3")]
    assert req.extra == {"store": False, "include": ["reasoning.encrypted_content"]}


def test_it_maps_flat_function_tools_and_keeps_builtin_tools_for_openai_only() -> None:
    req = r.request_to_canonical(FUNCTION_CALL_OUTPUT)
    assert req.tools == [c.Tool("get_weather", WEATHER_TOOL["description"], WEATHER_TOOL["parameters"],
                                extra={"strict": True})]
    assert req.tool_choice is None
    web = r.request_to_canonical(WEB_SEARCH)
    assert web.tools is None and web.meta[r.META_BUILTIN_TOOLS] == [{"type": "web_search_preview"}]
    foreign = r.request_to_canonical(WEB_SEARCH)
    foreign.source_protocol = "anthropic"
    assert "tools" not in r.request_from_canonical(foreign)


def test_it_maps_top_level_fields() -> None:
    req = r.request_to_canonical(CONVERSATION_STATE)
    assert (req.temperature, req.top_p, req.max_tokens, req.parallel_tool_calls) == (0.7, 0.9, 500, False)
    assert req.user == "user-1234" and req.metadata == {"customer": "c-1"}
    assert req.response_format == c.ResponseFormat("text")
    assert req.extra == {"service_tier": "flex", "truncation": "auto"}
    assert req.messages[0].role == "system" and req.messages[0].extra and req.messages[0].extra["role"] == "developer"
    assert req.messages[2] == c.Message("assistant", [req.messages[2].parts[0]])
    assert req.messages[2].text() == "Who's there?"


def test_it_maps_structured_output_to_a_json_schema_response_format() -> None:
    req = r.request_to_canonical(STRUCTURED_OUTPUT)
    fmt = STRUCTURED_OUTPUT["text"]["format"]
    assert req.response_format == c.ResponseFormat("json_schema", fmt["schema"], "calendar_event", True)


REASONING_CASES = [
    ({"effort": "high"}, c.Reasoning(effort="high")),
    ({"effort": "minimal", "summary": "detailed"}, c.Reasoning(effort="minimal", include_thoughts=True)),
    ({"summary": "auto"}, c.Reasoning(include_thoughts=True)),
    ({"effort": "none"}, c.Reasoning(effort="none")),
    ({}, None),
]


@pytest.mark.parametrize(("wire", "canonical"), REASONING_CASES)
def test_it_maps_reasoning_effort_and_summary(wire: dict[str, Any], canonical: c.Reasoning | None) -> None:
    assert r.request_to_canonical({**TEXT_INPUT, "reasoning": wire}).reasoning == canonical


TOOL_CHOICES = [
    ("auto", c.ToolChoice("auto")),
    ("required", c.ToolChoice("required")),
    ("none", c.ToolChoice("none")),
    ({"type": "function", "name": "get_current_weather"}, c.ToolChoice("tool", "get_current_weather")),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_current_weather"}]},
     c.ToolChoice("required")),
    ({"type": "web_search_preview"}, None),
]


@pytest.mark.parametrize(("wire", "canonical"), TOOL_CHOICES)
def test_it_maps_tool_choice_and_reencodes_it_exactly(wire: Any, canonical: c.ToolChoice | None) -> None:
    req = r.request_to_canonical({**FUNCTION_CALLING, "tool_choice": wire})
    assert req.tool_choice == canonical
    assert r.request_from_canonical(req)["tool_choice"] == wire


# ---------------------------------------------------------------- canonical -> wire for other protocols


def _foreign(**fields: Any) -> c.ChatRequest:
    return c.ChatRequest(model="gpt-4o", source_protocol="anthropic", **fields)


def test_it_encodes_a_foreign_conversation_as_input_items() -> None:
    req = _foreign(
        messages=[
            c.Message("system", [c.TextPart("Be brief.")]),
            c.Message("user", [c.TextPart("Weather?"), c.ImagePart(data=PNG, media_type="image/png")]),
            c.Message("assistant", [c.ThinkingPart("hmm", signature="sig"), c.TextPart("Checking."),
                                    c.ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}')]),
            c.Message("tool", [c.ToolResultPart("toolu_1", [c.TextPart("sunny")], is_error=True)]),
        ],
        max_tokens=100, stop=["END"], top_k=5,
        tools=[c.Tool("get_weather", None, None, extra={"cache_control": {"type": "ephemeral"}})],
        tool_choice=c.ToolChoice("tool", "get_weather"),
        reasoning=c.Reasoning(budget_tokens=10000),
        metadata={"user_id": "u"},
        extra={"anthropic_only": True},
    )
    assert r.request_from_canonical(req) == {
        "model": "gpt-4o",
        "input": [
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"}]},
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
            {"type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "toolu_1", "output": "Error: sunny"},
        ],
        "max_output_tokens": 100,
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}},
                   "strict": False}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "reasoning": {"effort": "medium"},
    }


@pytest.mark.parametrize(("reasoning", "wire"), [
    (c.Reasoning(budget_tokens=1024), {"effort": "low"}),
    (c.Reasoning(budget_tokens=32000), {"effort": "high"}),
    (c.Reasoning(effort="minimal"), {"effort": "minimal"}),
    (c.Reasoning(include_thoughts=True), {"summary": "auto"}),  # thoughts shown, no effort chosen
    (c.Reasoning(enabled=False), {"effort": "none"}),
])
def test_it_encodes_canonical_reasoning_as_an_effort(reasoning: c.Reasoning, wire: dict[str, Any]) -> None:
    out = r.request_from_canonical(_foreign(messages=[c.Message("user", [c.TextPart("x")])], reasoning=reasoning))
    assert out["reasoning"] == wire


def test_it_encodes_a_json_schema_response_format_as_text_format() -> None:
    req = _foreign(messages=[c.Message("user", [c.TextPart("x")])],
                   response_format=c.ResponseFormat("json_schema", {"type": "object"}))
    assert r.request_from_canonical(req)["text"] == {
        "format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}}}


# ---------------------------------------------------------------- request validation


INVALID_REQUESTS = {
    "no_model": ({"input": "x"}, "model"),
    "no_input": ({"model": MODEL}, "input"),
    "input_number": ({"model": MODEL, "input": 3}, "input"),
    "item_not_object": ({"model": MODEL, "input": ["x"]}, "input[0]"),
    "bad_role": ({"model": MODEL, "input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
    "bad_content": ({"model": MODEL, "input": [{"role": "user", "content": 3}]}, "input[0].content"),
    "text_part_without_text": ({"model": MODEL, "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
                               "input[0].content[0].text"),
    "image_without_url": ({"model": MODEL, "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
                          "input[0].content[0].image_url"),
    "call_without_name": ({"model": MODEL, "input": [{"type": "function_call", "call_id": "c"}]}, "input[0]"),
    "output_without_call_id": ({"model": MODEL, "input": [{"type": "function_call_output", "output": "x"}]},
                               "input[0].call_id"),
    "tool_without_name": ({**TEXT_INPUT, "tools": [{"type": "function"}]}, "tools[0].name"),
    "bad_tool_choice": ({**TEXT_INPUT, "tool_choice": 3}, "tool_choice"),
    "bad_temperature": ({**TEXT_INPUT, "temperature": "hot"}, "temperature"),
    "bad_max_output_tokens": ({**TEXT_INPUT, "max_output_tokens": 1.5}, "max_output_tokens"),
    "bad_format": ({**TEXT_INPUT, "text": {"format": {"type": "yaml"}}}, "text.format.type"),
    "schema_missing": ({**TEXT_INPUT, "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
    "bad_effort": ({**TEXT_INPUT, "reasoning": {"effort": 3}}, "reasoning.effort"),
}


@pytest.mark.parametrize(("payload", "param"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_it_names_the_offending_field_in_validation_errors(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as exc:
        r.request_to_canonical(payload)
    assert exc.value.status == 400 and exc.value.param == param


@pytest.mark.parametrize(("payload", "field"), [
    ({**TEXT_INPUT, "previous_response_id": "resp_1"}, "previous_response_id"),
    ({"model": MODEL, "previous_response_id": "resp_1"}, "previous_response_id"),
    ({**TEXT_INPUT, "conversation": "conv_1"}, "conversation"),
    ({**TEXT_INPUT, "background": True}, "background"),
    ({"model": MODEL, "input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
    ({**TEXT_INPUT, "store": True}, None),
])
def test_it_names_fields_that_need_state_stored_at_openai(payload: dict[str, Any], field: str | None) -> None:
    assert r.stateful_reference(r.request_to_canonical(payload)) == field


# ---------------------------------------------------------------- documented responses

TEXT_RESPONSE = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {
            "type": "message",
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text",
                 "text": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.",
                 "annotations": [], "logprobs": []}
            ],
        }
    ],
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 123},
}

FUNCTION_CALL_RESPONSE = {
    "id": "resp_67ca09c5efe0819096d0511c92b8c890096610f474011cc0",
    "object": "response",
    "created_at": 1741294021,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {"type": "function_call", "id": "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0",
         "call_id": "call_unLAR8MvFNptuiZK6K6HCy5k", "name": "get_current_weather",
         "arguments": "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}", "status": "completed"}
    ],
    "usage": {"input_tokens": 291, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens": 23, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 314},
}

REASONING_RESPONSE = {
    "id": "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
    "object": "response",
    "created_at": 1746989954,
    "status": "incomplete",
    "error": None,
    "incomplete_details": {"reason": "max_output_tokens"},
    "model": "o4-mini-2025-04-16",
    "output": [
        {"type": "reasoning", "id": "rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7",
         "summary": [{"type": "summary_text", "text": "**Answering a simple question**"}]},
    ],
    "usage": {"input_tokens": 81, "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
              "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 300}, "total_tokens": 381},
}

DOCUMENTED_RESPONSES = {"text": TEXT_RESPONSE, "function_call": FUNCTION_CALL_RESPONSE, "reasoning": REASONING_RESPONSE}


@pytest.mark.parametrize("payload", DOCUMENTED_RESPONSES.values(), ids=DOCUMENTED_RESPONSES.keys())
def test_it_reencodes_documented_responses(payload: dict[str, Any]) -> None:
    out = r.response_from_canonical(r.response_to_canonical(payload), model=payload["model"])
    for key in ("id", "object", "created_at", "status", "error", "incomplete_details", "model", "output", "usage"):
        assert out[key] == payload[key], key


def test_it_reads_response_parts_stop_reason_and_usage() -> None:
    text = r.response_to_canonical(TEXT_RESPONSE)
    assert text.text().startswith("In a peaceful grove") and text.stop_reason == "end_turn"
    assert text.usage == c.Usage(input_tokens=36, output_tokens=87)
    call = r.response_to_canonical(FUNCTION_CALL_RESPONSE)
    assert call.stop_reason == "tool_use"
    assert call.parts == [c.ToolCallPart("call_unLAR8MvFNptuiZK6K6HCy5k", "get_current_weather",
                                         "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}",
                                         extra={r.X: {"id": "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0"}})]
    cut = r.response_to_canonical(REASONING_RESPONSE)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage == c.Usage(input_tokens=81, output_tokens=300, cached_tokens=64, reasoning_tokens=300)
    assert isinstance(cut.parts[0], c.ThinkingPart) and cut.parts[0].text == "**Answering a simple question**"


def _foreign_response(parts: list[c.Part], stop: c.StopReason = "end_turn") -> c.ChatResponse:
    return c.ChatResponse(id="msg_01Abc", model="claude-sonnet-4-5", parts=parts, stop_reason=stop,
                          usage=c.Usage(input_tokens=20, output_tokens=30, cached_tokens=5, reasoning_tokens=7,
                                        cache_creation_tokens=2),
                          created=1700000000, extra={"stop_sequence": None})


def test_it_renders_a_foreign_response_as_a_response_object() -> None:
    resp = _foreign_response([
        c.ThinkingPart("Let me think.", signature="sig", extra={"cache_control": {}}),
        c.ThinkingPart("", redacted_data="xyz"),
        c.TextPart("It is sunny.", extra={"citations": []}),
        c.ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
    ], stop="tool_use")
    echo = r.request_echo({**FUNCTION_CALLING, "instructions": "Be brief.", "temperature": 0.2})
    out = r.response_from_canonical(resp, model="anthropic:claude-sonnet-4-5", echo=echo)
    assert out["id"] == "resp_msg_01Abc" and out["object"] == "response" and out["created_at"] == 1700000000
    assert out["status"] == "completed" and out["incomplete_details"] is None and out["error"] is None
    assert out["model"] == "anthropic:claude-sonnet-4-5"
    reasoning, message, call = out["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert "encrypted_content" not in reasoning
    assert message["id"].startswith("msg_") and message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "It is sunny.", "annotations": [], "logprobs": []}]
    assert call["id"].startswith("fc_")
    assert {k: call[k] for k in ("type", "call_id", "name", "arguments", "status")} == {
        "type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": '{"city":"Paris"}',
        "status": "completed"}
    assert out["usage"] == {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 2},
                            "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 7}, "total_tokens": 50}
    assert (out["instructions"], out["temperature"], out["tool_choice"]) == ("Be brief.", 0.2, "auto")
    assert out["tools"] == [WEATHER_TOOL] and out["parallel_tool_calls"] is True and out["store"] is False
    assert "stop_sequence" not in out


def test_it_marks_a_cut_answer_incomplete() -> None:
    out = r.response_from_canonical(_foreign_response([c.TextPart("Once upon")], stop="max_tokens"), model="m")
    assert out["status"] == "incomplete" and out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["output"][0]["status"] == "incomplete"
    filtered = r.response_from_canonical(_foreign_response([], stop="content_filter"), model="m")
    assert filtered["incomplete_details"] == {"reason": "content_filter"}


def test_the_response_object_validates_against_the_sdk_model() -> None:
    from openai.types.responses import Response

    out = r.response_from_canonical(_foreign_response([c.ThinkingPart("t"), c.TextPart("x"),
                                                       c.ToolCallPart("c1", "f", "{}")]), model="m",
                                    echo=r.request_echo({**FUNCTION_CALLING, "reasoning": {"effort": "low"}}))
    parsed = Response.model_validate(out)
    assert parsed.output_text == "x"


USAGES = [
    c.Usage(),
    c.Usage(input_tokens=10, output_tokens=5),
    c.Usage(input_tokens=1000, output_tokens=300, cached_tokens=800, reasoning_tokens=250, cache_creation_tokens=100),
]


@pytest.mark.parametrize("usage", USAGES)
def test_it_round_trips_usage_numbers_exactly(usage: c.Usage) -> None:
    wire = r.usage_from_canonical(usage)
    assert wire["total_tokens"] == usage.input_tokens + usage.output_tokens
    assert r._usage_in(wire) == usage


# ---------------------------------------------------------------- streaming


def _frames(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    return [(name, orjson.loads(data)) for name, data in SSEParser().feed(raw)]


def _encode(events: list[c.StreamEvent], **kwargs: Any) -> list[tuple[str | None, dict[str, Any]]]:
    encoder = r.StreamEncoder(model="m", include_usage=True, **kwargs)
    return _frames(b"".join(encoder.encode(e) for e in events))


TEXT_STREAM = [
    c.StreamStart("chatcmpl-1", "gpt-4o"),
    c.TextDelta("Hi"),
    c.TextDelta(" there"),
    c.StreamEnd("end_turn", c.Usage(input_tokens=5, output_tokens=2)),
]


def test_it_encodes_a_text_stream_as_the_documented_event_sequence() -> None:
    frames = _encode(TEXT_STREAM)
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
    frames = _encode([
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
    frames = _encode([c.TextDelta("Once"), c.StreamEnd("max_tokens", c.Usage(output_tokens=1))])
    assert frames[0][0] == "response.created", "the response starts even without a StreamStart"
    assert frames[-1][0] == "response.incomplete"
    final = frames[-1][1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_it_encodes_stream_errors_as_error_then_response_failed() -> None:
    frames = _encode([c.StreamStart("x", "m"), c.TextDelta("par"),
                      c.StreamError(c.ProxyError("backend 'openai' stream broke off", kind="bad_gateway")),
                      c.StreamEnd("end_turn", c.Usage())])
    assert [name for name, _ in frames][-2:] == ["error", "response.failed"]
    assert frames[-2][1] == {"type": "error", "sequence_number": frames[-2][1]["sequence_number"],
                             "code": "server_error", "message": "backend 'openai' stream broke off", "param": None}
    failed = frames[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "backend 'openai' stream broke off"}


def test_the_stream_echoes_request_fields_in_every_response_snapshot() -> None:
    echo = r.request_echo({**FUNCTION_CALLING, "instructions": "Be brief."})
    frames = _encode(TEXT_STREAM, echo=echo)
    for _, body in (frames[0], frames[-1]):
        assert body["response"]["instructions"] == "Be brief." and body["response"]["tools"] == [WEATHER_TOOL]


def test_stream_events_validate_against_the_sdk_types() -> None:
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    frames = _encode([c.StreamStart("x", "m"), c.ThinkingDelta("t"), c.TextDelta("a"),
                      c.ToolCallStart(0, "c", "f"), c.ToolCallDelta(0, "{}"), c.StreamEnd("tool_use", c.Usage())])
    frames += _encode([c.TextDelta("a"), c.StreamError(c.ProxyError("boom", kind="api_error"))])
    for _, body in frames:
        assert adapter.validate_python(body).type == body["type"]


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
    frames = _encode(events)
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


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("kind", "wire_type", "status"), [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "server_error", 500),
    ("bad_gateway", "server_error", 502),
    ("timeout", "timeout_error", 504),
])
def test_it_renders_errors_in_openai_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("nope", kind=kind, param="input")
    assert err.status == status
    assert r.error_body(err) == {"error": {"message": "nope", "type": wire_type, "param": "input", "code": None}}


@pytest.mark.parametrize(("status", "body", "kind", "message"), [
    (400, {"error": {"message": "Invalid 'input': empty", "type": "invalid_request_error", "param": "input",
                     "code": "empty_array"}}, "invalid_request", "Invalid 'input': empty"),
    (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
     "rate_limit", "Rate limit reached"),
    (503, "upstream connect error", "unavailable", "upstream connect error"),
    (500, None, "api_error", "upstream returned HTTP 500"),
])
def test_it_reads_upstream_error_bodies(status: int, body: Any, kind: str, message: str) -> None:
    err = r.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message) == (status, kind, message)


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_json_scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_text, inner, max_size=3), max_leaves=8)
_json_obj = st.dictionaries(_text, _json, max_size=4)
_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_image = st.one_of(
    st.builds(c.ImagePart, url=_ident.map(lambda s: "https://example.com/" + s),
              detail=st.sampled_from(["low", "high", "auto"])),
    st.builds(c.ImagePart, data=_ident, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
              detail=st.sampled_from(["low", "high", "auto"])),
)
_user_part = st.one_of(st.builds(c.TextPart, _text), _image)


@st.composite
def _tool_call(draw: st.DrawFn) -> c.ToolCallPart:
    return c.ToolCallPart(draw(_ident), draw(_ident), orjson.dumps(draw(_json_obj)).decode())


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", draw(st.lists(st.builds(c.TextPart, _text), min_size=1, max_size=2))))
    for _ in range(draw(st.integers(1, 4))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3))))
        text = draw(st.lists(st.builds(c.TextPart, _text), max_size=2))
        calls = draw(st.lists(_tool_call(), max_size=2))
        messages.append(c.Message("assistant", [*text, *calls] or [c.TextPart("ok")]))
        for call in calls:  # one tool message per function_call_output item
            content = draw(st.lists(st.builds(c.TextPart, _text), min_size=1, max_size=1)
                           | st.lists(_image, min_size=1, max_size=2))
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, content)]))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, _ident, st.none() | _text, _json_obj), min_size=1, max_size=3))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), _ident))
    return c.ChatRequest(
        model=draw(_ident),
        messages=draw(_conversation()),
        source_protocol=draw(st.sampled_from(["openai_chat", "anthropic", "gemini"])),
        stream=draw(st.booleans()),
        max_tokens=draw(st.none() | st.integers(16, 64000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        top_p=draw(st.none() | st.floats(0, 1)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.builds(c.ResponseFormat, st.just("json_schema"), _json_obj, _ident,
                                                   st.none() | st.booleans())
                             | st.just(c.ResponseFormat("json_object"))),
        reasoning=draw(st.none() | st.builds(c.Reasoning, st.sampled_from(["minimal", "low", "medium", "high"]))),
        user=draw(st.none() | _ident),
    )


def _plain(messages: list[c.Message]) -> list[c.Message]:
    """Messages without this protocol's same-protocol bookkeeping (ids, string markers)."""
    out = []
    for msg in copy.deepcopy(messages):
        for part in msg.parts:
            if isinstance(part, (c.TextPart, c.ToolCallPart, c.ToolResultPart)):
                part.extra = None
        out.append(c.Message(msg.role, msg.parts, msg.name, None))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_canonical_survives_a_trip_through_the_wire(req: c.ChatRequest) -> None:
    wire = orjson.loads(orjson.dumps(r.request_from_canonical(req)))
    back = r.request_to_canonical(wire)
    assert _plain(back.messages) == _plain(req.messages)
    assert back.model == req.model and back.stream == req.stream
    assert (back.max_tokens, back.temperature, back.top_p, back.user) == (req.max_tokens, req.temperature,
                                                                          req.top_p, req.user)
    assert back.tools == (None if req.tools is None else [
        c.Tool(t.name, t.description, t.parameters, extra={"strict": False}) for t in req.tools])
    assert back.tool_choice == req.tool_choice and back.parallel_tool_calls == req.parallel_tool_calls
    expected_format = req.response_format
    if expected_format is not None and expected_format.type == "json_schema" and expected_format.name is None:
        expected_format = c.ResponseFormat("json_schema", expected_format.schema, "response", expected_format.strict)
    assert back.response_format == expected_format
    assert back.reasoning == req.reasoning
    # and the same-protocol path from there is lossless
    assert r.request_from_canonical(back) == wire


_stream_events = st.lists(st.one_of(
    st.builds(c.TextDelta, _text),
    st.builds(c.ThinkingDelta, _text),
), max_size=8)


@settings(max_examples=100, deadline=None)
@given(_stream_events, st.lists(_tool_call(), max_size=3), st.sampled_from(["end_turn", "max_tokens", "tool_use"]))
def test_a_stream_survives_encoding_and_decoding(
    deltas: list[c.StreamEvent], calls: list[c.ToolCallPart], stop: c.StopReason
) -> None:
    events: list[c.StreamEvent] = [c.StreamStart("resp_x", "m"), *deltas]
    for i, call in enumerate(calls):
        events += [c.ToolCallStart(i, call.id, call.name), c.ToolCallDelta(i, call.arguments)]
    usage = c.Usage(input_tokens=3, output_tokens=4, reasoning_tokens=1)
    events.append(c.StreamEnd(stop, usage))
    frames = _encode(events)
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


# ---------------------------------------------------------------- Codex CLI's tools on other backends

CODEX_TOOLS_REQUEST: dict[str, Any] = {
    "model": "gpt-5.1-codex",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "spawn a helper"}]},
        {"type": "function_call", "name": "spawn_agent", "namespace": "multi_agent_v1", "call_id": "call_1",
         "arguments": "{\"message\":\"hi\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "agent a1 started"},
    ],
    "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}},
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
            {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}},
            {"type": "function", "name": "wait_agent", "parameters": {"type": "object", "properties": {}}}]},
        {"type": "web_search", "external_web_access": False},
    ],
}


def test_namespace_tools_reach_chat_backends_as_functions_and_come_back_namespaced() -> None:
    from proxy_app.protocols import anthropic as a
    from proxy_app.protocols import openai_chat as oc

    req = r.request_to_canonical(copy.deepcopy(CODEX_TOOLS_REQUEST))
    assert [t.name for t in req.tools or []] == ["exec_command", "multi_agent_v1__spawn_agent",
                                                 "multi_agent_v1__wait_agent"]
    chat = oc.request_from_canonical(req)
    assert [t["function"]["name"] for t in chat["tools"]] == [t.name for t in req.tools or []]
    assert chat["messages"][2]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"
    # the model's call goes back to Codex as name + namespace, the two fields it resolves calls by
    resp = c.ChatResponse("r", "m", [c.ToolCallPart("call_2", "multi_agent_v1__wait_agent", "{}")], "tool_use")
    body = r.response_from_canonical(resp, model="m", echo=r.request_echo(CODEX_TOOLS_REQUEST))
    assert body["output"][0]["name"] == "wait_agent" and body["output"][0]["namespace"] == "multi_agent_v1"
    encoder = r.StreamEncoder(model="m", echo=r.request_echo(CODEX_TOOLS_REQUEST))
    frames = encoder.encode(c.ToolCallStart(0, "call_3", "multi_agent_v1__spawn_agent")).decode()
    assert '"name":"spawn_agent","namespace":"multi_agent_v1"' in frames.replace(" ", "")
    # a plain function keeps its name and gets no namespace
    plain = r.response_from_canonical(c.ChatResponse("r", "m", [c.ToolCallPart("c", "exec_command", "{}")]),
                                      model="m", echo=r.request_echo(CODEX_TOOLS_REQUEST))
    assert "namespace" not in plain["output"][0]
    # web_search: Anthropic's own server tool; others are told it is not there
    assert a.request_from_canonical(req)["tools"][-1] == {"type": "web_search_20250305", "name": "web_search",
                                                          "max_uses": 5}
    assert "web_search tool is not available" in chat["messages"][0]["content"]


def test_codex_cache_identity_reaches_chat_backends_and_its_client_metadata_does_not() -> None:
    from proxy_app.protocols import openai_chat as oc

    req = r.request_to_canonical({"model": "m", "input": "hi", "prompt_cache_key": "thread-1", "store": False,
                                  "client_metadata": {"installation_id": "i-1"}})
    chat = oc.request_from_canonical(req)
    assert chat["prompt_cache_key"] == "thread-1" and chat["store"] is False
    assert "client_metadata" not in chat and "i-1" not in orjson.dumps(chat).decode()
