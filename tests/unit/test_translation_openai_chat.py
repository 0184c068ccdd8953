"""OpenAI Chat Completions <-> canonical translation, driven by payloads from OpenAI's API reference
(plus the regression tests for bugs found by the SDK matrix, at the end)."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic, gemini, openai_chat
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.common import WEB_SEARCH, WEB_SEARCH_UNAVAILABLE
from proxy_app.protocols.sse import SSEParser
from tests.unit.payloads import DELETE, changed

MODEL = "gpt-4.1"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
BOARDWALK = ("https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
             "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg")

# ---------------------------------------------------------------- documented requests

DEFAULT = {
    "model": MODEL,
    "messages": [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ],
}

IMAGE_INPUT = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": BOARDWALK}},
            ],
        }
    ],
    "max_tokens": 300,
}

BASE64_IMAGE = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What's in this image?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": BOARDWALK, "detail": "low"}},
            ],
        }
    ],
}

AUDIO_INPUT = {
    "model": "gpt-4o-audio-preview",
    "modalities": ["text", "audio"],
    "audio": {"voice": "alloy", "format": "wav"},
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this recording?"},
                {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
            ],
        }
    ],
}

FILE_INPUT = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "file", "file": {"file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"}},
                {"type": "text", "text": "What is the first dragon in the book?"},
            ],
        }
    ],
}

STREAMING = {**DEFAULT, "stream": True, "stream_options": {"include_usage": True}}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}

FUNCTIONS = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "What's the weather like in Boston today?"}],
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
}

STRICT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Retrieves current weather for the given location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location", "units"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

# the function-calling guide's conversation: parallel calls, then one tool message per call
TOOL_CONVERSATION = {
    "model": MODEL,
    "messages": [
        {"role": "user", "content": "What's the weather like in Paris and Bogotá today?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_12345xyz", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
                {"id": "call_67890abc", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Bogotá, Colombia\"}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_12345xyz", "content": "15 degrees Celsius"},
        {"role": "tool", "tool_call_id": "call_67890abc",
         "content": [{"type": "text", "text": "18 degrees"}, {"type": "text", "text": "Celsius"}]},
        {"role": "assistant", "content": "It is 15°C in Paris and 18°C in Bogotá."},
        {"role": "user", "content": "Thanks! Should I bring an umbrella?"},
    ],
    "tools": [STRICT_TOOL],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
}

MATH_SCHEMA = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"],
                "additionalProperties": False,
            },
        },
        "final_answer": {"type": "string"},
    },
    "required": ["steps", "final_answer"],
    "additionalProperties": False,
}

STRUCTURED_OUTPUTS = {
    "model": "gpt-4o-2024-08-06",
    "messages": [
        {"role": "system",
         "content": "You are a helpful math tutor. Guide the user through the solution step by step."},
        {"role": "user", "content": "how can I solve 8x + 7 = -23"},
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "math_reasoning", "schema": MATH_SCHEMA, "strict": True},
    },
}

JSON_MODE = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant designed to output JSON."},
        {"role": "user", "content": "Who won the world series in 2020?"},
    ],
    "response_format": {"type": "json_object"},
}

REASONING = {
    "model": "o3",
    "reasoning_effort": "high",
    "max_completion_tokens": 25000,
    "messages": [{"role": "user", "content": "Write a bash script that takes a matrix represented as a string."}],
}

LOGPROBS = {"model": MODEL, "messages": [{"role": "user", "content": "Hello!"}], "logprobs": True, "top_logprobs": 2}

# few-shot prompting with named example speakers, and a system message between turns
NAMES_AND_MID_CONVERSATION_SYSTEM = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant",
         "content": "Things working well together will increase revenue."},
        {"role": "user", "name": "alice", "content": "This late pivot means we don't have time to boil the ocean."},
        {"role": "assistant", "name": "helper", "content": "No time to do everything."},
        {"role": "system", "content": "From now on, answer in French."},
        {"role": "user", "content": "Summarise."},
    ],
}

EVERYTHING_ELSE = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say this is a test"}],
    "temperature": 0.2,
    "top_p": 0.9,
    "seed": 42,
    "stop": ["\n", "END"],
    "n": 1,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "user": "user-1234",
    "metadata": {"session": "abc"},
    "store": True,
    "service_tier": "flex",
    "prediction": {"type": "content", "content": "This is a test"},
    "web_search_options": {"search_context_size": "low"},
    "verbosity": "low",
    "prompt_cache_key": "cache-key-1",
    "safety_identifier": "sid-1",
    "max_completion_tokens": 64,
    "x_future_field": {"nested": [1, 2, 3]},
}

DOCUMENTED_REQUESTS = {
    "default": DEFAULT,
    "image_input": IMAGE_INPUT,
    "base64_image": BASE64_IMAGE,
    "audio_input": AUDIO_INPUT,
    "file_input": FILE_INPUT,
    "streaming": STREAMING,
    "functions": FUNCTIONS,
    "tool_conversation": TOOL_CONVERSATION,
    "structured_outputs": STRUCTURED_OUTPUTS,
    "json_mode": JSON_MODE,
    "text_format": {**DEFAULT, "response_format": {"type": "text"}},
    "reasoning": REASONING,
    "logprobs": LOGPROBS,
    "names_and_mid_conversation_system": NAMES_AND_MID_CONVERSATION_SYSTEM,
    "everything_else": EVERYTHING_ELSE,
    "tool_choice_required": {**FUNCTIONS, "tool_choice": "required", "parallel_tool_calls": True},
    "tool_choice_none": {**FUNCTIONS, "tool_choice": "none"},
    "legacy_functions": {**DEFAULT, "functions": [WEATHER_TOOL["function"]], "function_call": "auto"},
    "top_k_for_compatible_servers": {**DEFAULT, "top_k": 40},
    "empty_tools": {**DEFAULT, "tools": []},
}


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    req = o.request_to_canonical(payload)
    assert req.source_protocol == o.NAME
    assert o.request_from_canonical(req) == original
    assert payload == original  # decoding never mutates its input


# Same meaning on the wire, another spelling: what a re-encode makes of a documented shorthand.
NORMALISED_REQUESTS = {
    "stop_string_becomes_a_list": ({**DEFAULT, "stop": "END"}, {**DEFAULT, "stop": ["END"]}),
    "empty_stop_list_is_dropped": ({**DEFAULT, "stop": []}, DEFAULT),
    "null_fields_are_dropped": (
        {**DEFAULT, "temperature": None, "stop": None, "tools": None, "tool_choice": None, "response_format": None,
         "reasoning_effort": None, "seed": None},
        DEFAULT,
    ),
    "stream_false_is_the_default": ({**DEFAULT, "stream": False}, DEFAULT),
    "single_text_part_becomes_a_string": (
        {**DEFAULT, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}]},
        {**DEFAULT, "messages": [{"role": "user", "content": "Hello!"}]},
    ),
    "image_url_shorthand_string": (
        {**DEFAULT, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": BOARDWALK}]}]},
        {**DEFAULT,
         "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": BOARDWALK}}]}]},
    ),
    "sdk_echoed_assistant_message_loses_its_nulls": (
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": None, "annotations": [],
             "audio": None, "function_call": None, "tool_calls": None},
            {"role": "user", "content": "Tell me a joke."},
        ]},
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I assist you today?"},
            {"role": "user", "content": "Tell me a joke."},
        ]},
    ),
    "assistant_without_content_stays_without_and_empty_arguments_become_an_object": (
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant",
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ]},
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant",
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ]},
    ),
    "system_without_content_gets_an_empty_string": (
        {**DEFAULT, "messages": [{"role": "system", "content": None}, {"role": "user", "content": "Hi"}]},
        {**DEFAULT, "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]},
    ),
    "json_schema_without_schema_gets_an_empty_one": (
        {**DEFAULT, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        {**DEFAULT, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
    ),
    "max_completion_tokens_wins_over_max_tokens": (
        {**DEFAULT, "max_tokens": 100, "max_completion_tokens": 50},
        {**DEFAULT, "max_completion_tokens": 50},
    ),
}


@pytest.mark.parametrize(("payload", "expected"), NORMALISED_REQUESTS.values(), ids=NORMALISED_REQUESTS.keys())
def test_it_reencodes_shorthands_in_their_canonical_spelling(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    wire = o.request_from_canonical(o.request_to_canonical(copy.deepcopy(payload)))
    assert wire == expected
    assert o.request_from_canonical(o.request_to_canonical(copy.deepcopy(wire))) == wire  # and that is a fixed point


# ---------------------------------------------------------------- request fields one by one


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


TOOL_CHOICES = [
    ("auto", c.ToolChoice("auto")),
    ("none", c.ToolChoice("none")),
    ("required", c.ToolChoice("required")),
    ({"type": "function", "function": {"name": "get_current_weather"}}, c.ToolChoice("tool", "get_current_weather")),
    (None, None),
]


@pytest.mark.parametrize(("wire", "canonical"), TOOL_CHOICES)
def test_it_maps_tool_choice_both_ways(wire: Any, canonical: c.ToolChoice | None) -> None:
    req = o.request_to_canonical({**FUNCTIONS, "tool_choice": wire})
    assert req.tool_choice == canonical
    assert o.request_from_canonical(req).get("tool_choice") == wire
    req.source_protocol = "anthropic"
    assert o.request_from_canonical(req).get("tool_choice") == wire


RESPONSE_FORMATS = [
    ({"type": "text"}, c.ResponseFormat("text")),
    ({"type": "json_object"}, c.ResponseFormat("json_object")),
    (STRUCTURED_OUTPUTS["response_format"], c.ResponseFormat("json_schema", MATH_SCHEMA, "math_reasoning", True)),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
     c.ResponseFormat("json_schema", {"type": "object"}, "x")),
]


@pytest.mark.parametrize(("wire", "canonical"), RESPONSE_FORMATS)
def test_it_maps_response_format_both_ways(wire: dict[str, Any], canonical: c.ResponseFormat) -> None:
    req = o.request_to_canonical({**DEFAULT, "response_format": wire})
    assert req.response_format == canonical
    assert o.request_from_canonical(req)["response_format"] == wire


def test_it_names_a_nameless_foreign_json_schema_response() -> None:
    req = c.ChatRequest(model="m", source_protocol="anthropic", messages=[c.Message("user", [c.TextPart("hi")])],
                        response_format=c.ResponseFormat("json_schema", {"type": "object"}))
    assert o.request_from_canonical(req)["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}}


def test_it_keeps_the_json_schema_description() -> None:
    wire = {"type": "json_schema", "json_schema": {"name": "math_reasoning", "description": "Step-by-step answer",
                                                   "schema": MATH_SCHEMA, "strict": True}}
    req = o.request_to_canonical({**DEFAULT, "response_format": copy.deepcopy(wire)})
    assert o.request_from_canonical(req)["response_format"] == wire


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high"])
def test_it_maps_reasoning_effort_both_ways(effort: str) -> None:
    req = o.request_to_canonical({**REASONING, "reasoning_effort": effort})
    assert req.reasoning == c.Reasoning(effort=effort)
    assert o.request_from_canonical(req)["reasoning_effort"] == effort


MAX_TOKEN_FIELDS = [
    # (wire fields, canonical max_tokens, same-protocol wire, cross-protocol wire)
    ({"max_tokens": 300}, 300, {"max_tokens": 300}, {"max_tokens": 300}),
    ({"max_completion_tokens": 25000}, 25000, {"max_completion_tokens": 25000}, {"max_tokens": 25000}),
    ({"max_tokens": 1, "max_completion_tokens": 2}, 2, {"max_completion_tokens": 2}, {"max_tokens": 2}),
    ({}, None, {}, {}),
]


@pytest.mark.parametrize(("fields", "canonical", "same", "cross"), MAX_TOKEN_FIELDS)
def test_it_keeps_the_clients_max_tokens_field_for_openai_only(
    fields: dict[str, int], canonical: int | None, same: dict[str, int], cross: dict[str, int]
) -> None:
    req = o.request_to_canonical({**DEFAULT, **fields})
    assert req.max_tokens == canonical
    wire = o.request_from_canonical(req)
    assert {k: v for k, v in wire.items() if "max" in k} == same
    req.source_protocol = "gemini"
    wire = o.request_from_canonical(req)
    assert {k: v for k, v in wire.items() if "max" in k} == cross


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


STREAM_FLAGS = [
    # (client's fields, canonical stream, canonical include_usage)
    ({"stream": True, "stream_options": {"include_usage": True}}, True, True),
    ({"stream": True}, True, False),
    ({"stream": True, "stream_options": {"include_usage": False}}, True, False),
    ({"stream": True, "stream_options": None}, True, False),
    ({}, False, False),
]


@pytest.mark.parametrize(("fields", "stream", "include_usage"), STREAM_FLAGS)
def test_a_stream_always_asks_upstream_for_usage_but_remembers_what_the_client_asked(
    fields: dict[str, Any], stream: bool, include_usage: bool
) -> None:
    req = o.request_to_canonical({**DEFAULT, **fields})
    assert (req.stream, req.include_usage) == (stream, include_usage)
    wire = o.request_from_canonical(req)
    if stream:  # the gateway counts tokens, so the upstream always reports them
        assert (wire["stream"], wire["stream_options"]) == (True, {"include_usage": True})
    else:
        assert "stream" not in wire and "stream_options" not in wire


def test_it_drops_openai_only_fields_when_the_client_spoke_another_protocol() -> None:
    req = o.request_to_canonical(copy.deepcopy(EVERYTHING_ELSE) | {"top_k": 40, "messages": DEFAULT["messages"]})
    req.source_protocol = "anthropic"
    wire = o.request_from_canonical(req)
    assert wire == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "Hello!"}],
        "max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "seed": 42, "user": "user-1234", "stop": ["\n", "END"],
    }


def test_it_keeps_strict_and_other_function_fields_for_openai_only() -> None:
    req = o.request_to_canonical(TOOL_CONVERSATION)
    assert o.request_from_canonical(req)["tools"] == [STRICT_TOOL]
    req.source_protocol = "anthropic"
    assert o.request_from_canonical(req)["tools"] == [
        {"type": "function", "function": {k: v for k, v in STRICT_TOOL["function"].items() if k != "strict"}}]


def test_it_passes_the_responses_fields_chat_completions_shares_and_nothing_else() -> None:
    req = c.ChatRequest(model="m", source_protocol="openai_responses", messages=[c.Message("user", [c.TextPart("hi")])],
                        extra={"prompt_cache_key": "thread-1", "store": False, "safety_identifier": "s",
                               "service_tier": "priority", "include": ["reasoning.encrypted_content"],
                               "truncation": "auto"})
    wire = o.request_from_canonical(req)
    assert {k: v for k, v in wire.items() if k not in ("model", "messages")} == {
        "prompt_cache_key": "thread-1", "store": False, "safety_identifier": "s", "service_tier": "priority"}


def test_it_tells_the_model_web_search_is_unavailable_after_the_system_prompt() -> None:
    messages = [c.Message("system", [c.TextPart("Be brief.")]), c.Message("user", [c.TextPart("news?")])]
    req = c.ChatRequest(model="m", source_protocol="openai_responses", messages=messages, meta={WEB_SEARCH: True})
    assert o.request_from_canonical(req)["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "system", "content": WEB_SEARCH_UNAVAILABLE},
        {"role": "user", "content": "news?"}]
    req.source_protocol = o.NAME  # an OpenAI client's own request is not rewritten
    assert len(o.request_from_canonical(req)["messages"]) == 2


# ---------------------------------------------------------------- encoding from other protocols


def _anthropic_style_request(**overrides: Any) -> c.ChatRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "source_protocol": "anthropic",
        "messages": [
            c.Message("system", [c.TextPart("You are helpful.", extra={"cache_control": {"type": "ephemeral"}})]),
            c.Message("system", [], extra={"output_config": {"effort": "high"}}),  # settings only: no text
            c.Message("user", [c.TextPart("Weather in Paris and Rome?"),
                               c.ImagePart(data=PNG, media_type="image/png"),
                               c.RawPart("anthropic", {"type": "document", "source": {"type": "text", "data": "x"}})]),
            c.Message("assistant", [
                c.ThinkingPart("Two cities, two calls.", signature="EuYBCkQYAiJA", origin="anthropic"),
                c.ThinkingPart("", redacted_data="EmwKAhgB", origin="anthropic"),
                c.TextPart("Checking both."),
                c.ToolCallPart("toolu_1", "get_weather", '{"location":"Paris"}'),
                c.ToolCallPart("toolu_2", "get_weather", '{"location":"Rome"}'),
            ]),
            c.Message("tool", [c.ToolResultPart("toolu_1", [c.TextPart("20C")]),
                               c.ToolResultPart("toolu_2", [c.TextPart("weather service down")], is_error=True)]),
            c.Message("user", [c.TextPart("Which is warmer?")]),
        ],
        "tools": [c.Tool("get_weather", "Weather by city", {"type": "object"}, extra={"cache_control": {}})],
        "tool_choice": c.ToolChoice("required"),
        "max_tokens": 1024,
        "top_k": 40,
        "metadata": {"user_id": "u"},
        "extra": {"container": "container_1", "cache_control": {"type": "ephemeral"}},
        "reasoning": c.Reasoning(budget_tokens=10000),
    }
    fields.update(overrides)
    return c.ChatRequest(**fields)


def test_it_encodes_a_foreign_conversation_as_chat_messages() -> None:
    wire = o.request_from_canonical(_anthropic_style_request())
    assert wire == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Rome?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ]},
            {"role": "assistant", "content": "Checking both.", "reasoning_content": "Two cities, two calls.",
             "tool_calls": [
                 {"id": "toolu_1", "type": "function", "function": {"name": "get_weather",
                                                                     "arguments": '{"location":"Paris"}'}},
                 {"id": "toolu_2", "type": "function", "function": {"name": "get_weather",
                                                                     "arguments": '{"location":"Rome"}'}},
             ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "20C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "weather service down"},
            {"role": "user", "content": "Which is warmer?"},
        ],
        "max_tokens": 1024,
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                                    "parameters": {"type": "object"}}}],
        "tool_choice": "required",
        "reasoning_effort": "medium",
    }


def test_it_encodes_an_empty_tool_result_as_an_empty_string() -> None:
    req = _anthropic_style_request(messages=[c.Message("tool", [c.ToolResultPart("toolu_1", [])])])
    assert o.request_from_canonical(req)["messages"] == [{"role": "tool", "tool_call_id": "toolu_1", "content": ""}]


def test_it_encodes_a_tool_without_schema_or_description_as_a_bare_function() -> None:
    req = _anthropic_style_request(tools=[c.Tool("now")], tool_choice=c.ToolChoice("tool", "now"),
                                   parallel_tool_calls=True)
    wire = o.request_from_canonical(req)
    assert wire["tools"] == [{"type": "function", "function": {"name": "now"}}]
    assert wire["tool_choice"] == {"type": "function", "function": {"name": "now"}}
    assert wire["parallel_tool_calls"] is True


def test_tool_messages_carry_only_text_parts() -> None:
    req = _anthropic_style_request(messages=[
        c.Message("user", [c.TextPart("Take a screenshot")]),
        c.Message("assistant", [c.ToolCallPart("toolu_1", "screenshot", "{}")]),
        c.Message("tool", [c.ToolResultPart("toolu_1", [c.TextPart("here"),
                                                        c.ImagePart(data=PNG, media_type="image/png")])]),
    ])
    wire = o.request_from_canonical(req)
    for msg in wire["messages"]:
        if msg["role"] == "tool" and isinstance(msg["content"], list):
            assert all(part["type"] == "text" for part in msg["content"]), msg
    # the image follows the tool results in a user message
    assert [m["role"] for m in wire["messages"]][-2:] == ["tool", "user"]
    assert wire["messages"][-1]["content"][0]["type"] == "image_url"


# ---------------------------------------------------------------- validation


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
}


@pytest.mark.parametrize(("payload", "param"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_it_names_the_offending_field_in_validation_errors(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as exc:
        o.request_to_canonical(payload)
    assert (exc.value.kind, exc.value.status) == ("invalid_request", 400)
    assert exc.value.param == param
    body = o.error_body(exc.value)  # and the client sees it in the error object
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"


def test_it_keeps_assistant_audio_references_for_openai() -> None:
    payload = {**AUDIO_INPUT, "messages": [
        *AUDIO_INPUT["messages"],
        {"role": "assistant", "audio": {"id": "audio_abc123"}},
        {"role": "assistant", "content": None, "refusal": "I can't help with that."},
        {"role": "user", "content": "Tell me more."},
    ]}
    req = o.request_to_canonical(copy.deepcopy(payload))
    assert o.request_from_canonical(req)["messages"][1:3] == payload["messages"][1:3]


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

_UNMODELLED_USAGE = ("audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens")


def _as_reencoded(payload: dict[str, Any]) -> dict[str, Any]:
    """What we send back for a documented response: everything but what canonical does not model
    (message annotations, audio/prediction token details), with every usage detail present."""
    out = copy.deepcopy(payload)
    message = out["choices"][0]["message"]
    message.pop("annotations", None)
    message.setdefault("refusal", None)
    usage = out["usage"]
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = {k: v for k, v in (usage.get(key) or {}).items() if k not in _UNMODELLED_USAGE}
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
    wire = o.usage_from_canonical(usage)
    assert wire["total_tokens"] == wire["prompt_tokens"] + wire["completion_tokens"]
    assert o._usage_in(wire) == usage


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
        _chunk(None, usage=o.usage_from_canonical(c.Usage(input_tokens=19, output_tokens=10))),
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
            for unmodelled in _UNMODELLED_USAGE:
                details[unmodelled] = None
    assert ours == original


# ---------------------------------------------------------------- errors

ERROR_KINDS = [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("request_too_large", "invalid_request_error", 413),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "server_error", 500),
    ("bad_gateway", "server_error", 502),
    ("unavailable", "server_error", 503),
    ("timeout", "timeout_error", 504),
    ("overloaded", "server_error", 529),
    ("something_new", "invalid_request_error", 500),
]


@pytest.mark.parametrize(("kind", "wire_type", "status"), ERROR_KINDS)
def test_it_renders_errors_in_openai_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("something went wrong", kind=kind, param="messages[0]", code="some_code")
    assert err.status == status
    assert o.error_body(err) == {"error": {"message": "something went wrong", "type": wire_type,
                                           "param": "messages[0]", "code": "some_code"}}
    if kind != "something_new":
        back = o.error_to_canonical(status, o.error_body(err))  # the kind comes back from the HTTP status
        assert (back.kind, back.status, back.message, back.code) == (kind, status, "something went wrong", "some_code")


def test_error_bodies_validate_against_the_sdk_error_model() -> None:
    from openai.types import ErrorObject

    parsed = ErrorObject.model_validate(o.error_body(c.ProxyError("bad", param="model"))["error"])
    assert (parsed.message, parsed.type, parsed.param, parsed.code) == ("bad", "invalid_request_error", "model", None)


UPSTREAM_ERRORS = [
    (401, {"error": {"message": "Incorrect API key provided: sk-abc. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", "type": "invalid_request_error",
                     "param": None, "code": "invalid_api_key"}},
     "authentication", "Incorrect API key provided: sk-abc. You can find your API key at "
                       "https://platform.openai.com/account/api-keys.", "invalid_api_key"),
    (403, {"error": {"message": "Country, region, or territory not supported", "type": "request_forbidden",
                     "param": None, "code": "unsupported_country_region_territory"}},
     "permission", "Country, region, or territory not supported", "unsupported_country_region_territory"),
    (404, {"error": {"message": "The model `gpt-5-turbo` does not exist or you do not have access to it.",
                     "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
     "not_found", "The model `gpt-5-turbo` does not exist or you do not have access to it.", "model_not_found"),
    (400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                     "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}},
     "invalid_request", "This model's maximum context length is 128000 tokens.", "context_length_exceeded"),
    (429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                     "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}},
     "rate_limit", "You exceeded your current quota, please check your plan and billing details.",
     "insufficient_quota"),
    (429, {"error": {"message": "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
                     "type": "tokens", "param": None, "code": "rate_limit_exceeded"}},
     "rate_limit", "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
     "rate_limit_exceeded"),
    (500, {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                     "type": "server_error", "param": None, "code": None}},
     "api_error", "The server had an error while processing your request. Sorry about that!", None),
    (503, {"error": {"message": "The engine is currently overloaded, please try again later", "type": "server_error",
                     "param": None, "code": 503}},
     "unavailable", "The engine is currently overloaded, please try again later", None),
    (502, "<html>Bad Gateway</html>", "bad_gateway", "<html>Bad Gateway</html>", None),
    (504, None, "timeout", "upstream returned HTTP 504", None),
    (504, "", "timeout", "upstream returned HTTP 504", None),
    (422, {"detail": "unprocessable"}, "invalid_request", "unprocessable", None),
    (400, {"message": "vLLM-style top-level message"}, "invalid_request", "vLLM-style top-level message", None),
    (429, {"error": "slow down"}, "rate_limit", "slow down", None),
    (418, {"error": {"type": "teapot"}}, "invalid_request", "upstream returned HTTP 418", None),
    (599, ["not", "an", "object"], "api_error", "upstream returned HTTP 599", None),
]


@pytest.mark.parametrize(("status", "body", "kind", "message", "code"), UPSTREAM_ERRORS)
def test_it_reads_upstream_error_bodies_of_any_shape(
    status: int, body: Any, kind: str, message: str, code: str | None
) -> None:
    err = o.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message, err.code) == (status, kind, message, code)


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_json_scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_text, inner, max_size=3), max_leaves=8)
_json_obj = st.dictionaries(_text, _json, max_size=4)
_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_detail = st.none() | st.sampled_from(["low", "high", "auto"])
_image = st.one_of(
    st.builds(c.ImagePart, url=_ident.map(lambda s: "https://example.com/" + s), detail=_detail),
    st.builds(c.ImagePart, data=_ident, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
              detail=_detail),
)
_audio = st.builds(
    lambda data: c.RawPart(o.NAME, {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}), _ident)
_user_part = st.one_of(st.builds(c.TextPart, _text), _image, _audio)
_name = st.none() | _ident


@st.composite
def _tool_call(draw: st.DrawFn) -> c.ToolCallPart:
    return c.ToolCallPart(draw(_ident), draw(_ident), orjson.dumps(draw(_json_obj)).decode())


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []

    def system() -> c.Message:
        developer = draw(st.booleans())
        return c.Message("system", draw(st.lists(st.builds(c.TextPart, _text.filter(bool)), min_size=1, max_size=2)),
                         name=draw(_name), extra={"role": "developer"} if developer else None)

    if draw(st.booleans()):
        messages.append(system())
    for _ in range(draw(st.integers(1, 3))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3)), name=draw(_name)))
        thinking = draw(st.lists(st.builds(c.ThinkingPart, _text.filter(bool), signature=st.none() | _ident,
                                           origin=st.sampled_from([None, "anthropic"])), max_size=2))
        text = draw(st.lists(st.builds(c.TextPart, _text), max_size=2))
        calls = draw(st.lists(_tool_call(), max_size=2))
        messages.append(c.Message("assistant", [*thinking, *text, *calls] or [c.TextPart("ok")], name=draw(_name)))
        for call in calls:  # one tool message per call; OpenAI tool messages take text only
            content = draw(st.lists(st.builds(c.TextPart, _text), min_size=1, max_size=2))
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, content, is_error=draw(st.booleans()))]))
        if draw(st.integers(0, 4)) == 0:
            messages.append(system())  # mid-conversation
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, _ident, st.none() | _text, st.none() | _json_obj,
                                                extra=st.none() | st.builds(lambda s: {"strict": s}, st.booleans())),
                                      max_size=3))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), _ident))
    source = draw(st.sampled_from([o.NAME, "anthropic", "gemini"]))
    meta = {"openai_max_tokens_field": "max_completion_tokens"} if draw(st.booleans()) else {}
    return c.ChatRequest(
        model=draw(_ident),
        messages=draw(_conversation()),
        source_protocol=source,
        stream=draw(st.booleans()),
        max_tokens=draw(st.none() | st.integers(1, 128000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        top_p=draw(st.none() | st.floats(0, 1)),
        top_k=draw(st.none() | st.integers(1, 500)),
        stop=draw(st.none() | st.lists(_text.filter(bool), min_size=1, max_size=4)),
        seed=draw(st.none() | st.integers(-2**31, 2**31)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.sampled_from([c.ResponseFormat("text"), c.ResponseFormat("json_object")])
                             | st.builds(c.ResponseFormat, st.just("json_schema"), st.none() | _json_obj,
                                         st.none() | _ident, st.none() | st.booleans())),
        reasoning=draw(st.none() | st.builds(c.Reasoning, st.sampled_from(["minimal", "low", "medium", "high"]))
                       | st.builds(c.Reasoning, budget_tokens=st.integers(1, 64000))),
        user=draw(_name),
        metadata=draw(st.none() | st.dictionaries(_ident, _ident, max_size=3)),
        meta=meta,
    )


def _expected_messages(req: c.ChatRequest) -> list[c.Message]:
    """``req.messages`` as they come back from the wire: thinking joined first, without signatures; tool
    results without is_error; the developer marker for OpenAI clients only."""
    same = req.source_protocol == o.NAME
    out = []
    for msg in req.messages:
        parts = list(msg.parts)
        extra = msg.extra if same else None
        if msg.role == "assistant":
            thinking = "".join(p.text for p in parts if isinstance(p, c.ThinkingPart))
            parts = [*([c.ThinkingPart(thinking)] if thinking else []),
                     *[p for p in parts if not isinstance(p, c.ThinkingPart)]]
        if msg.role == "tool":
            parts = [c.ToolResultPart(p.tool_call_id, p.content) for p in parts if isinstance(p, c.ToolResultPart)]
        out.append(c.Message(msg.role, parts, msg.name, extra))
    return out


def _expected_reasoning(req: c.ChatRequest) -> c.Reasoning | None:
    effort = o._reasoning_effort_out(req.reasoning)
    return c.Reasoning(effort=effort) if effort else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_canonical_survives_a_trip_through_the_wire(req: c.ChatRequest) -> None:
    same = req.source_protocol == o.NAME
    wire = o.request_from_canonical(req)
    assert orjson.loads(orjson.dumps(wire)) == wire  # plain JSON, nothing else
    back = o.request_to_canonical(orjson.loads(orjson.dumps(wire)))
    assert back.source_protocol == o.NAME
    assert back.messages == _expected_messages(req)
    assert (back.model, back.stream, back.include_usage) == (req.model, req.stream, req.stream)
    assert (back.max_tokens, back.temperature, back.top_p, back.seed, back.user) == (
        req.max_tokens, req.temperature, req.top_p, req.seed, req.user)
    assert back.top_k == (req.top_k if same else None)
    assert back.metadata == (req.metadata if same else None)
    assert back.stop == req.stop
    assert back.tools == (None if req.tools is None else [
        c.Tool(t.name, t.description, t.parameters, extra=t.extra if same else None) for t in req.tools])
    assert (back.tool_choice, back.parallel_tool_calls) == (req.tool_choice, req.parallel_tool_calls)
    rf = req.response_format
    if rf is not None and rf.type == "json_schema":
        rf = c.ResponseFormat("json_schema", rf.schema or {}, rf.name or "response", rf.strict)
    assert back.response_format == rf
    assert back.reasoning == _expected_reasoning(req)
    uses_completion_field = same and req.max_tokens is not None and bool(req.meta)
    assert back.meta.get("openai_max_tokens_field") == ("max_completion_tokens" if uses_completion_field else None)
    assert back.extra == {}
    # and once in OpenAI's own hands, re-encoding is the identity
    assert o.request_from_canonical(back) == wire


_stop_reasons = st.sampled_from(["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter",
                                 "loop_detected", "error", None])
_STOP_BACK = {"stop_sequence": "end_turn", "loop_detected": "end_turn", "error": "end_turn"}
_usage = st.builds(c.Usage, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.builds(c.ThinkingPart, _text), max_size=2), st.lists(st.builds(c.TextPart, _text), max_size=3),
       st.lists(_tool_call(), max_size=3), _stop_reasons, _usage, _ident, st.none() | st.integers(1, 2**31))
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
    assert back.stop_reason == _STOP_BACK.get(stop, stop)  # type: ignore[arg-type]
    assert back.usage == usage
    assert back.id == (resp_id if resp_id.startswith("chatcmpl") else f"chatcmpl-{resp_id}")
    assert back.model == MODEL and back.extra == {"system_fingerprint": "fp_1"}
    if created is not None:
        assert back.created == created
    # same-protocol re-encode is the identity
    assert o.response_from_canonical(back, model=MODEL) == wire


_stream_deltas = st.lists(st.one_of(st.builds(c.TextDelta, _text), st.builds(c.ThinkingDelta, _text)), max_size=8)


@settings(max_examples=100, deadline=None)
@given(_stream_deltas, st.lists(_tool_call(), max_size=3), _stop_reasons, _usage, st.booleans(),
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
    assert end.stop_reason == _STOP_BACK.get(stop or "end_turn", stop or "end_turn")
    # and what a decoded stream re-encodes to decodes to the same events again
    assert _decode(_encode(decoded, include_usage=include_usage)) == decoded


# ---------------------------------------------------------------- regressions (SDK matrix)


def _request(reasoning: c.Reasoning | None, source: str = "anthropic") -> c.ChatRequest:
    return c.ChatRequest(model="gpt-4o", source_protocol=source, messages=[c.Message("user", [c.TextPart("x")])],
                         reasoning=reasoning)


@pytest.mark.parametrize(
    ("reasoning", "effort"),
    [
        (c.Reasoning(effort="high"), "high"),
        (c.Reasoning(budget_tokens=1024), "low"),
        (c.Reasoning(budget_tokens=2048), "low"),
        (c.Reasoning(budget_tokens=8192), "medium"),
        (c.Reasoning(budget_tokens=16000), "high"),
        (c.Reasoning(budget_tokens=32768), "high"),
        (c.Reasoning(include_thoughts=True), None),  # Gemini includeThoughts alone: no effort chosen
        (c.Reasoning(), None),
        (c.Reasoning(budget_tokens=4096, enabled=False), None),
        (None, None),
    ],
)
def test_it_maps_thinking_budgets_to_reasoning_effort(reasoning: c.Reasoning | None, effort: str | None) -> None:
    """Bug: an Anthropic ``thinking.budget_tokens`` or Gemini ``thinkingBudget`` request reached an
    OpenAI-compatible backend without ``reasoning_effort``, so no reasoning came back."""
    body = openai_chat.request_from_canonical(_request(reasoning))
    assert body.get("reasoning_effort") == effort


def test_anthropic_and_gemini_thinking_requests_reach_openai_with_an_effort() -> None:
    chat = anthropic.request_to_canonical({
        "model": "m", "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "hi"}]})
    assert openai_chat.request_from_canonical(chat)["reasoning_effort"] == "low"
    chat = gemini.request_to_canonical({
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 24576}}}, model="m")
    assert openai_chat.request_from_canonical(chat)["reasoning_effort"] == "high"
