"""Responses API requests -> canonical: input items grouped into turns, tools, tool choice, reasoning,
text format and the top-level fields read, validation errors naming their field, and the fields
that need state stored at OpenAI named."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.openai_responses.extras import META_BUILTIN_TOOLS
from tests.protocols.openai_responses.samples import (
    BASE64_AND_FILE_IMAGES,
    CONVERSATION_STATE,
    FUNCTION_CALL_OUTPUT,
    IMAGE_INPUT,
    INSTRUCTIONS_STREAM,
    MODEL,
    PNG,
    STATELESS_REASONING,
    STRUCTURED_OUTPUT,
    TEXT_INPUT,
    WEATHER_TOOL,
    WEB_SEARCH,
)


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
    assert web.tools is None and web.meta[META_BUILTIN_TOOLS] == [{"type": "web_search_preview"}]
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


INVALID_REQUESTS = {
    "no_model": ({"input": "x"}, "model"),
    "empty_input": ({"model": MODEL, "input": []}, "input"),
    "item_type_a_number": ({"model": MODEL, "input": [{"type": 7}]}, "input[0].type"),
    "item_type_not_a_name": ({"model": MODEL, "input": [{"type": "<script>"}]}, "input[0].type"),
    "max_output_tokens_zero": ({"model": MODEL, "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
    "max_output_tokens_below_16": ({"model": MODEL, "input": "x", "max_output_tokens": 15}, "max_output_tokens"),
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


def test_codex_cache_identity_reaches_chat_backends_and_its_client_metadata_does_not() -> None:
    from proxy_app.protocols import openai_chat as oc

    req = r.request_to_canonical({"model": "m", "input": "hi", "prompt_cache_key": "thread-1", "store": False,
                                  "client_metadata": {"installation_id": "i-1"}})
    chat = oc.request_from_canonical(req)
    assert chat["prompt_cache_key"] == "thread-1" and chat["store"] is False
    assert "client_metadata" not in chat and "i-1" not in orjson.dumps(chat).decode()
