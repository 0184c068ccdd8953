"""OpenAI Chat Completions requests -> canonical: each field and message shape read, and validation
errors naming the offending field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic, gemini
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.openai_chat.extras import JSON_SCHEMA_DESCRIPTION, MAX_TOKENS_FIELD, NO_CONTENT
from tests.protocols.openai_chat.samples import (
    AUDIO_INPUT,
    BASE64_IMAGE,
    BOARDWALK,
    DEFAULT,
    EVERYTHING_ELSE,
    FILE_INPUT,
    IMAGE_INPUT,
    JSON_MODE,
    NAMES_AND_MID_CONVERSATION_SYSTEM,
    PNG,
    STRICT_TOOL,
    TOOL_CONVERSATION,
    WAV,
)
from tests.protocols.payloads import DELETE, changed


def test_it_reads_developer_and_system_messages_as_system_remembering_developer() -> None:
    req = o.request_to_canonical(DEFAULT)
    assert req.messages == [
        c.Message("system", [c.TextPart("You are a helpful assistant.")], extra={"role": "developer"}),
        c.Message("user", [c.TextPart("Hello!")]),
    ]
    assert o.request_to_canonical(JSON_MODE).messages[0].extra is None


def test_it_keeps_names_and_system_messages_where_they_were() -> None:
    req = o.request_to_canonical(NAMES_AND_MID_CONVERSATION_SYSTEM)
    assert [(m.role, m.name) for m in req.messages] == [
        ("system", None), ("system", "example_user"), ("system", "example_assistant"), ("user", "alice"),
        ("assistant", "helper"), ("system", None), ("user", None),
    ]
    assert req.messages[5].text() == "From now on, answer in French."


def test_it_reads_text_url_and_base64_image_parts_with_detail() -> None:
    assert o.request_to_canonical(IMAGE_INPUT).messages[0].parts == [
        c.TextPart("What is in this image?"), c.ImagePart(url=BOARDWALK)]
    assert o.request_to_canonical(BASE64_IMAGE).messages[0].parts == [
        c.TextPart("What's in this image?"),
        c.ImagePart(data=PNG, media_type="image/png", detail="high"),
        c.ImagePart(url=BOARDWALK, detail="low"),
    ]


def test_it_keeps_audio_and_file_parts_for_openai_only() -> None:
    req = o.request_to_canonical(AUDIO_INPUT)
    assert req.messages[0].parts[1] == c.RawPart(o.NAME, {"type": "input_audio",
                                                         "input_audio": {"data": WAV, "format": "wav"}})
    assert req.extra == {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}
    assert isinstance(o.request_to_canonical(FILE_INPUT).messages[0].parts[0], c.RawPart)
    # an Anthropic or Gemini upstream gets the text and neither the audio nor the audio settings
    claude = anthropic.request_from_canonical(req)
    assert claude["messages"] == [{"role": "user", "content": "What is in this recording?"}]
    assert "modalities" not in claude and "audio" not in claude
    gem = gemini.request_from_canonical(req)
    assert gem["contents"] == [{"role": "user", "parts": [{"text": "What is in this recording?"}]}]


def test_it_turns_tool_calls_and_tool_messages_into_calls_and_results() -> None:
    req = o.request_to_canonical(TOOL_CONVERSATION)
    assert [m.role for m in req.messages] == ["user", "assistant", "tool", "tool", "assistant", "user"]
    assert req.messages[1].parts == [
        c.ToolCallPart("call_12345xyz", "get_weather", "{\"location\":\"Paris, France\"}"),
        c.ToolCallPart("call_67890abc", "get_weather", "{\"location\":\"Bogotá, Colombia\"}"),
    ]
    assert req.messages[2].parts == [c.ToolResultPart("call_12345xyz", [c.TextPart("15 degrees Celsius")])]
    assert req.messages[3].parts == [
        c.ToolResultPart("call_67890abc", [c.TextPart("18 degrees"), c.TextPart("Celsius")])]
    assert req.tools == [c.Tool("get_weather", STRICT_TOOL["function"]["description"],
                                STRICT_TOOL["function"]["parameters"], extra={"strict": True})]
    assert req.tool_choice == c.ToolChoice("tool", "get_weather")
    assert req.parallel_tool_calls is False


def test_it_gives_a_tool_call_without_id_a_fresh_one_and_empty_arguments_an_empty_object() -> None:
    req = o.request_to_canonical({**DEFAULT, "messages": [
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "now"}}]}]})
    [call] = req.messages[0].parts
    assert isinstance(call, c.ToolCallPart)
    assert call.id.startswith("call_") and len(call.id) > 5
    assert (call.name, call.arguments) == ("now", "{}")


def test_it_reads_replayed_reasoning_content_in_assistant_history() -> None:
    """OpenAI-compatible reasoning servers (DeepSeek, vLLM, OpenRouter) put reasoning beside content."""
    payload = {**DEFAULT, "messages": [
        {"role": "user", "content": "9.11 and 9.8, which is greater?"},
        {"role": "assistant", "content": "9.8 is greater.", "reasoning_content": "Compare the decimals: .8 > .11"},
        {"role": "assistant", "content": "ok", "reasoning": "OpenRouter's spelling"},
        {"role": "user", "content": "Are you sure?"},
    ]}
    req = o.request_to_canonical(copy.deepcopy(payload))
    assert req.messages[1].parts == [c.ThinkingPart("Compare the decimals: .8 > .11"), c.TextPart("9.8 is greater.")]
    assert req.messages[2].parts == [c.ThinkingPart("OpenRouter's spelling"), c.TextPart("ok")]
    wire = o.request_from_canonical(req)
    assert wire["messages"][1] == payload["messages"][1]
    assert wire["messages"][2] == {"role": "assistant", "content": "ok", "reasoning_content": "OpenRouter's spelling"}


def test_it_maps_sampling_stop_seed_user_and_metadata() -> None:
    req = o.request_to_canonical(EVERYTHING_ELSE)
    assert (req.temperature, req.top_p, req.seed, req.top_k) == (0.2, 0.9, 42, None)
    assert req.stop == ["\n", "END"]
    assert (req.user, req.metadata) == ("user-1234", {"session": "abc"})
    assert req.max_tokens == 64
    assert req.stream is False and req.include_usage is False
    assert req.extra == {
        "n": 1, "presence_penalty": 0.5, "frequency_penalty": -0.5, "logit_bias": {"50256": -100}, "store": True,
        "service_tier": "flex", "prediction": {"type": "content", "content": "This is a test"},
        "web_search_options": {"search_context_size": "low"}, "verbosity": "low", "prompt_cache_key": "cache-key-1",
        "safety_identifier": "sid-1", "x_future_field": {"nested": [1, 2, 3]},
    }
    assert o.request_to_canonical({**DEFAULT, "stop": "END"}).stop == ["END"]
    assert o.request_to_canonical({**DEFAULT, "top_k": 40}).top_k == 40


# One message of each shape an OpenAI client sends, as canonical.
MESSAGES = {
    "system": ({"role": "system", "content": "Be brief."}, c.Message("system", [c.TextPart("Be brief.")])),
    "developer": ({"role": "developer", "content": "Be brief."},
                  c.Message("system", [c.TextPart("Be brief.")], extra={"role": "developer"})),
    "system_without_content": ({"role": "system", "content": None}, c.Message("system", [])),
    "named_user": ({"role": "user", "name": "alice", "content": "Hi"},
                   c.Message("user", [c.TextPart("Hi")], name="alice")),
    "user_parts": (
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": BOARDWALK, "detail": "low"}},
                                     {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}}]},
        c.Message("user", [c.TextPart("What is this?"), c.ImagePart(url=BOARDWALK, detail="low"),
                           c.RawPart(o.NAME, {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}})]),
    ),
    "assistant_text": ({"role": "assistant", "content": "Hello!"}, c.Message("assistant", [c.TextPart("Hello!")])),
    "assistant_reasoning_text_and_calls": (
        {"role": "assistant", "reasoning_content": "Two cities.", "content": "Checking.",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
        c.Message("assistant", [c.ThinkingPart("Two cities."), c.TextPart("Checking."),
                                c.ToolCallPart("call_1", "get_weather", "{\"location\":\"Paris\"}")]),
    ),
    "assistant_refusal": ({"role": "assistant", "content": None, "refusal": "I can't help with that."},
                          c.Message("assistant", [], extra={"refusal": "I can't help with that."})),
    "assistant_audio_without_content": (
        {"role": "assistant", "audio": {"id": "audio_abc123"}},
        c.Message("assistant", [], extra={"audio": {"id": "audio_abc123"}, NO_CONTENT: True}),
    ),
    "tool_text": ({"role": "tool", "tool_call_id": "call_1", "content": "20C"},
                  c.Message("tool", [c.ToolResultPart("call_1", [c.TextPart("20C")])])),
    "tool_named": ({"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "20C"},
                   c.Message("tool", [c.ToolResultPart("call_1", [c.TextPart("20C")], name="get_weather")])),
    "tool_without_content": ({"role": "tool", "tool_call_id": "call_1"},
                             c.Message("tool", [c.ToolResultPart("call_1", [])])),
    "tool_image_kept_other_parts_dropped": (
        {"role": "tool", "tool_call_id": "call_1",
         "content": [{"type": "text", "text": "here"}, {"type": "image_url", "image_url": {"url": BOARDWALK}},
                     {"type": "file", "file": {"file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"}}]},
        c.Message("tool", [c.ToolResultPart("call_1", [c.TextPart("here"), c.ImagePart(url=BOARDWALK)])]),
    ),
}


@pytest.mark.parametrize(("wire", "canonical"), MESSAGES.values(), ids=MESSAGES.keys())
def test_it_reads_each_message_shape(wire: dict[str, Any], canonical: c.Message) -> None:
    assert o.request_to_canonical({**DEFAULT, "messages": [wire]}).messages == [canonical]


# Fields canonical has no place for, kept in ``meta`` for the way back to OpenAI.
REQUEST_META = {
    "max_completion_tokens": ({"max_completion_tokens": 64}, {MAX_TOKENS_FIELD: "max_completion_tokens"}),
    "max_tokens": ({"max_tokens": 64}, {}),
    "json_schema_description": (
        {"response_format": {"type": "json_schema",
                             "json_schema": {"name": "x", "description": "An answer", "schema": {}}}},
        {JSON_SCHEMA_DESCRIPTION: "An answer"},
    ),
    "json_schema_without_description": (
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}, {}),
}


@pytest.mark.parametrize(("fields", "meta"), REQUEST_META.values(), ids=REQUEST_META.keys())
def test_it_remembers_what_canonical_cannot_say_in_meta(fields: dict[str, Any], meta: dict[str, Any]) -> None:
    assert o.request_to_canonical({**DEFAULT, **fields}).meta == meta


def test_absent_fields_take_their_canonical_defaults() -> None:
    req = o.request_to_canonical({**DEFAULT, "stream_options": True})  # options without a stream: ignored
    assert (req.stream, req.include_usage, req.max_tokens, req.temperature, req.top_p, req.top_k) == (
        False, False, None, None, None, None)
    assert (req.stop, req.seed, req.tools, req.tool_choice, req.parallel_tool_calls) == (None, None, None, None, None)
    assert (req.response_format, req.reasoning, req.user, req.metadata, req.extra) == (None, None, None, None, {})


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    return changed(base or TOOL_CONVERSATION, path, value)


_DELETE = DELETE


INVALID_REQUESTS = {
    "missing_model": (_with(["model"], _DELETE), "model"),
    "empty_model": (_with(["model"], ""), "model"),
    "missing_messages": (_with(["messages"], _DELETE), "messages"),
    "empty_messages": (_with(["messages"], []), "messages"),
    "messages_not_a_list": (_with(["messages"], {"role": "user"}), "messages"),
    "message_not_an_object": (_with(["messages", 1], "hi"), "messages[1]"),
    "unknown_role": (_with(["messages", 0, "role"], "bot"), "messages[0].role"),
    "missing_role": (_with(["messages", 0, "role"], _DELETE), "messages[0].role"),
    "content_not_a_list": (_with(["messages", 0, "content"], 42), "messages[0].content"),
    "content_part_not_an_object": (_with(["messages", 0, "content"], ["hi"]), "messages[0].content[0]"),
    "text_part_without_text": (_with(["messages", 0, "content"], [{"type": "text"}]), "messages[0].content[0].text"),
    "image_part_without_url": (
        _with(["messages", 0, "content"], [{"type": "image_url", "image_url": {"detail": "low"}}]),
        "messages[0].content[0].image_url.url",
    ),
    "image_data_url_not_base64": (
        _with(["messages", 0, "content"], [{"type": "image_url", "image_url": {"url": "data:image/png,AAAA"}}]),
        "messages[0].content[0].image_url.url",
    ),
    "tool_message_without_tool_call_id": (_with(["messages", 2, "tool_call_id"], _DELETE), "messages[2].tool_call_id"),
    "tool_call_without_function_name": (
        _with(["messages", 1, "tool_calls", 1, "function", "name"], _DELETE), "messages[1].tool_calls[1]"),
    "tool_call_not_an_object": (_with(["messages", 1, "tool_calls", 0], "call"), "messages[1].tool_calls[0]"),
    "tools_not_a_list": (_with(["tools"], {"type": "function"}), "tools"),
    "tool_without_function": (_with(["tools", 0], {"type": "function"}), "tools[0].function.name"),
    "tool_function_without_name": (_with(["tools", 0, "function", "name"], _DELETE), "tools[0].function.name"),
    "unknown_tool_choice": (_with(["tool_choice"], "sometimes"), "tool_choice"),
    "tool_choice_without_function": (_with(["tool_choice"], {"type": "function"}), "tool_choice"),
    "tool_choice_function_without_name": (_with(["tool_choice", "function"], {}), "tool_choice.function.name"),
    "unknown_response_format": (_with(["response_format"], {"type": "yaml"}), "response_format"),
    "response_format_not_an_object": (_with(["response_format"], "json_object"), "response_format"),
    "json_schema_not_an_object": (
        _with(["response_format"], {"type": "json_schema", "json_schema": "math"}), "response_format.json_schema"),
    "json_schema_schema_not_an_object": (
        _with(["response_format"], {"type": "json_schema", "json_schema": {"name": "x", "schema": []}}),
        "response_format.json_schema"),
    "temperature_not_a_number": (_with(["temperature"], "hot"), "temperature"),
    "temperature_a_bool": (_with(["temperature"], True), "temperature"),
    "top_p_not_a_number": (_with(["top_p"], "0.9"), "top_p"),
    "max_tokens_not_an_int": (_with(["max_tokens"], "1024"), "max_tokens"),
    "max_completion_tokens_a_float": (_with(["max_completion_tokens"], 10.5), "max_completion_tokens"),
    "seed_a_bool": (_with(["seed"], False), "seed"),
    "top_k_not_an_int": (_with(["top_k"], "40"), "top_k"),
    "stop_not_a_string_or_list": (_with(["stop"], 42), "stop"),
    "stop_a_list_with_a_number": (_with(["stop"], ["END", 7]), "stop"),
    "max_tokens_zero": (_with(["max_tokens"], 0), "max_tokens"),
    "max_tokens_negative": (_with(["max_tokens"], -5), "max_tokens"),
    "max_completion_tokens_zero": (_with(["max_completion_tokens"], 0), "max_completion_tokens"),
    "reasoning_effort_a_number": (_with(["reasoning_effort"], 3), "reasoning_effort"),
}


@pytest.mark.parametrize(("payload", "param"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_it_names_the_offending_field_in_validation_errors(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as exc:
        o.request_to_canonical(payload)
    assert (exc.value.kind, exc.value.status) == ("invalid_request", 400)
    assert exc.value.param == param
    body = o.error_body(exc.value)  # and the client sees it in the error object
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"
