"""Anthropic Messages translator: wire payloads as Anthropic documents them <-> canonical."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from proxy_app.protocols.common import pseudonymous_user
from proxy_app.protocols.sse import SSEParser
from tests.unit.payloads import DELETE, changed

MODEL = "claude-sonnet-4-5"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
SIGNATURE = "EuYBCkQYAiJAgCs1le6/Pol5Z4/JMomVOouGrWdhYNsH3ukzUECbB6iWrSQtsQuRHJID6lWV9n"

# ---------------------------------------------------------------- documented requests

BASIC = {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello, world"}]}

PROMPT_CACHING = {
    "model": MODEL,
    "max_tokens": 1024,
    "system": [
        {"type": "text", "text": "You are an AI assistant tasked with analyzing literary works."},
        {"type": "text", "text": "<the entire contents of Pride and Prejudice>", "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [{"role": "user", "content": "Analyze the major themes in 'Pride and Prejudice'."}],
}

VISION = {
    "model": MODEL,
    "max_tokens": 1024,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/ant.jpg"}},
                {"type": "text", "text": "How are these images different?"},
            ],
        }
    ],
}

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}

TOOL_CONVERSATION = {
    "model": MODEL,
    "max_tokens": 1024,
    "tools": [WEATHER_TOOL],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "messages": [
        {"role": "user", "content": "What's the weather like in San Francisco?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "<thinking>I need to use get_weather</thinking>"},
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "get_weather",
                    "input": {"location": "San Francisco, CA", "unit": "celsius"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ],
}

TOOL_RESULT_BLOCKS = {
    "model": MODEL,
    "max_tokens": 1024,
    "tools": [WEATHER_TOOL],
    "messages": [
        {"role": "user", "content": "Weather in SF and NYC?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "SF"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"location": "NYC"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [
                        {"type": "text", "text": "15 degrees"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    ],
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "ConnectionError: the weather service is down"}],
                    "is_error": True,
                    "cache_control": {"type": "ephemeral"},
                },
            ],
        },
    ],
}

THINKING_WITH_TOOLS = {
    "model": MODEL,
    "max_tokens": 16000,
    "thinking": {"type": "enabled", "budget_tokens": 10000},
    "tools": [WEATHER_TOOL],
    "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": "The user wants to know the current weather in Paris. I have access to get_weather.",
                    "signature": SIGNATURE,
                },
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8c"},
                {"type": "tool_use", "id": "toolu_01CswdEQBMshySk6Y9DFKrfq", "name": "get_weather",
                 "input": {"location": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01CswdEQBMshySk6Y9DFKrfq", "content": "88°F"},
            ],
        },
    ],
}

SERVER_TOOLS_AND_DOCUMENTS = {
    "model": MODEL,
    "max_tokens": 2048,
    "tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        {**WEATHER_TOOL, "cache_control": {"type": "ephemeral"}},
    ],
    "tool_choice": {"type": "any"},
    "messages": [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"},
                    "citations": {"enabled": True},
                },
                {"type": "text", "text": "Summarise this and search for news about it."},
            ],
        },
    ],
}

EVERYTHING_ELSE = {
    "model": MODEL,
    "max_tokens": 4096,
    "system": "You are a seasoned data scientist at a Fortune 500 company.",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
        {"role": "user", "content": "Extract the data as JSON."},
    ],
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 40,
    "stop_sequences": ["\n\nHuman:", "END"],
    "stream": False,
    "metadata": {"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
    "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}, "effort": "medium"},
    "service_tier": "standard_only",
    "container": "container_011CQUdyQ9qWkqTv",
    "inference_geo": "us",
    "cache_control": {"type": "ephemeral"},
    "x_future_field": {"nested": [1, 2, 3]},
}

ADAPTIVE_THINKING_BETA_FORMAT = {
    "model": MODEL,
    "max_tokens": 64000,
    "stream": True,
    "thinking": {"type": "adaptive", "display": "summarized"},
    "output_format": {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}},
    "tool_choice": {"type": "tool", "name": "get_weather"},
    "tools": [WEATHER_TOOL],
    "messages": [{"role": "user", "content": "Go."}],
}

DOCUMENTED_REQUESTS = {
    "basic": BASIC,
    "prompt_caching": PROMPT_CACHING,
    "vision": VISION,
    "tool_conversation": TOOL_CONVERSATION,
    "tool_result_blocks": TOOL_RESULT_BLOCKS,
    "thinking_with_tools": THINKING_WITH_TOOLS,
    "server_tools_and_documents": SERVER_TOOLS_AND_DOCUMENTS,
    "everything_else": EVERYTHING_ELSE,
    "adaptive_thinking_beta_format": ADAPTIVE_THINKING_BETA_FORMAT,
    "disabled_thinking": {**BASIC, "thinking": {"type": "disabled"}},
    "tool_choice_none": {**BASIC, "tools": [WEATHER_TOOL], "tool_choice": {"type": "none"}},
    "one_block_system_and_content": {
        **BASIC,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    },
}


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    req = a.request_to_canonical(payload)
    assert a.request_from_canonical(req) == original
    assert payload == original  # decoding never mutates its input


def test_it_reads_system_blocks_as_one_system_message_keeping_cache_control() -> None:
    req = a.request_to_canonical(PROMPT_CACHING)
    system = req.messages[0]
    assert system.role == "system"
    assert [p.text for p in system.parts] == [  # type: ignore[union-attr]
        "You are an AI assistant tasked with analyzing literary works.",
        "<the entire contents of Pride and Prejudice>",
    ]
    assert system.parts[1].extra == {"cache_control": {"type": "ephemeral"}}  # type: ignore[union-attr]
    assert req.messages[1].role == "user"


def test_it_reads_base64_and_url_images() -> None:
    parts = a.request_to_canonical(VISION).messages[0].parts
    assert parts[0] == c.ImagePart(data=PNG, media_type="image/png")
    assert parts[1] == c.ImagePart(url="https://upload.wikimedia.org/ant.jpg")
    assert parts[2] == c.TextPart("How are these images different?")


def test_it_splits_tool_results_into_tool_messages_and_tool_use_into_calls() -> None:
    req = a.request_to_canonical(TOOL_CONVERSATION)
    assert [m.role for m in req.messages] == ["user", "assistant", "tool", "user"]
    call = req.messages[1].parts[1]
    assert call == c.ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather",
                                  '{"location":"San Francisco, CA","unit":"celsius"}')
    result = req.messages[2].parts[0]
    assert isinstance(result, c.ToolResultPart)
    assert (result.tool_call_id, result.content, result.is_error) == (
        "toolu_01A09q90qw90lq917835lq9", [c.TextPart("15 degrees")], False)
    assert req.messages[3].text() == "And tomorrow?"
    assert req.tools == [c.Tool("get_weather", WEATHER_TOOL["description"], WEATHER_TOOL["input_schema"])]
    assert req.tool_choice == c.ToolChoice("auto")
    assert req.parallel_tool_calls is False


def test_it_reads_tool_result_blocks_with_images_and_errors() -> None:
    results = a.request_to_canonical(TOOL_RESULT_BLOCKS).messages[2].parts
    assert len(results) == 2
    first, second = results
    assert isinstance(first, c.ToolResultPart) and isinstance(second, c.ToolResultPart)
    assert first.content == [c.TextPart("15 degrees"), c.ImagePart(data=PNG, media_type="image/png")]
    assert second.is_error is True
    assert second.extra is not None and second.extra["cache_control"] == {"type": "ephemeral"}


def test_it_keeps_thinking_signatures_and_redacted_thinking() -> None:
    req = a.request_to_canonical(THINKING_WITH_TOOLS)
    thinking, redacted, _call = req.messages[1].parts
    assert thinking == c.ThinkingPart(THINKING_WITH_TOOLS["messages"][1]["content"][0]["thinking"], signature=SIGNATURE,
                                      origin="anthropic")
    assert redacted == c.ThinkingPart("", redacted_data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8c",
                                      origin="anthropic")
    assert req.reasoning == c.Reasoning(budget_tokens=10000)
    assert req.max_tokens == 16000


def test_it_keeps_server_tools_and_documents_for_anthropic_only() -> None:
    req = a.request_to_canonical(SERVER_TOOLS_AND_DOCUMENTS)
    assert req.tools is not None
    assert req.tools[0] == c.Tool("web_search", extra={"type": "web_search_20250305", "max_uses": 5})
    assert req.tools[1].extra == {"cache_control": {"type": "ephemeral"}}
    assert isinstance(req.messages[0].parts[0], c.RawPart)
    assert req.tool_choice == c.ToolChoice("required")

    req.source_protocol = "openai_chat"
    wire = a.request_from_canonical(req)
    # the document is an Anthropic RawPart, so it survives; its block fields were never split off
    assert wire["messages"][0]["content"][0]["type"] == "document"
    assert wire["tools"][0] == {"name": "web_search", "input_schema": {"type": "object", "properties": {}}}
    assert "cache_control" not in wire["tools"][1]


def test_it_maps_top_level_fields_and_keeps_unknown_ones_in_extra() -> None:
    req = a.request_to_canonical(EVERYTHING_ELSE)
    assert (req.temperature, req.top_p, req.top_k) == (0.5, 0.9, 40)
    assert req.stop == ["\n\nHuman:", "END"]
    # other providers get a pseudonym; an Anthropic upstream gets the client's user_id back as it came
    assert req.user == pseudonymous_user("13803d75-b4b5-4c3e-b2a2-6f21399b021b")
    assert req.meta["anthropic_user_id"] == "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
    assert req.metadata is None
    assert req.response_format == c.ResponseFormat("json_schema", {"type": "object"})
    assert req.reasoning == c.Reasoning(effort="medium")
    assert req.extra == {
        "service_tier": "standard_only",
        "container": "container_011CQUdyQ9qWkqTv",
        "inference_geo": "us",
        "cache_control": {"type": "ephemeral"},
        "x_future_field": {"nested": [1, 2, 3]},
    }
    assert req.stream is False


def test_it_drops_same_protocol_only_fields_when_the_client_spoke_another_protocol() -> None:
    req = a.request_to_canonical(EVERYTHING_ELSE)
    req.source_protocol = "openai_chat"
    wire = a.request_from_canonical(req)
    # with thinking on, the sampling settings Anthropic refuses alongside it (temperature 0.5, top_p 0.9,
    # top_k) are dropped rather than sent to a certain 400
    assert set(wire) == {
        "model", "max_tokens", "system", "messages", "stop_sequences", "metadata", "output_config", "thinking",
    }
    assert wire["messages"][0] == {"role": "user", "content": "Hi"}
    assert wire["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert wire["thinking"] == {"type": "enabled", "budget_tokens": 4095}  # medium, kept below max_tokens


def test_it_rejects_a_request_without_max_tokens() -> None:
    payload = {k: v for k, v in BASIC.items() if k != "max_tokens"}
    with pytest.raises(c.ProxyError) as exc:
        a.request_to_canonical(payload)
    assert exc.value.param == "max_tokens"
    assert exc.value.status == 400


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    return changed(base or TOOL_CONVERSATION, path, value)


_DELETE = DELETE

INVALID_REQUESTS = {
    "missing_model": (_with(["model"], _DELETE), "model"),
    "missing_messages": (_with(["messages"], _DELETE), "messages"),
    "tool_role_in_messages": (_with(["messages", 0, "role"], "tool"), "messages[0].role"),
    "content_not_a_list": (_with(["messages", 0, "content"], 42), "messages[0].content"),
    "text_block_without_text": (_with(["messages", 1, "content", 0], {"type": "text"}), "messages[1].content[0].text"),
    "image_without_source": (_with(["messages", 0, "content"], [{"type": "image"}]), "messages[0].content[0].source"),
    "base64_image_without_data": (
        _with(["messages", 0, "content"], [{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]),
        "messages[0].content[0].source.data",
    ),
    "tool_result_without_id": (
        _with(["messages", 2, "content", 0, "tool_use_id"], _DELETE), "messages[2].content[0].tool_use_id"
    ),
    "tool_use_input_not_object": (_with(["messages", 1, "content", 1, "input"], "[]"), "messages[1].content[1].input"),
    "tool_without_input_schema": (_with(["tools", 0, "input_schema"], _DELETE), "tools[0].input_schema"),
    "unknown_tool_choice": (_with(["tool_choice"], {"type": "sometimes"}), "tool_choice.type"),
    "tool_choice_tool_without_name": (_with(["tool_choice"], {"type": "tool"}), "tool_choice.name"),
    "thinking_without_budget": (_with(["thinking"], {"type": "enabled"}), "thinking.budget_tokens"),
    "system_not_text": (_with(["system"], 7), "system"),
    "system_block_not_text": (_with(["system"], [{"type": "image"}]), "system[0]"),
    "temperature_not_number": (_with(["temperature"], "hot"), "temperature"),
    "max_tokens_not_int": (_with(["max_tokens"], "1024"), "max_tokens"),
    "stop_sequences_not_list": (_with(["stop_sequences"], "END"), "stop_sequences"),
    "bad_output_format": (_with(["output_config"], {"format": {"type": "json_object"}}), "output_config.format"),
}


@pytest.mark.parametrize(("payload", "param"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_it_names_the_offending_field_in_validation_errors(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as exc:
        a.request_to_canonical(payload)
    assert exc.value.kind == "invalid_request"
    assert exc.value.param == param


# ---------------------------------------------------------------- encoding from other protocols


def _openai_style_request(**overrides: Any) -> c.ChatRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "source_protocol": "openai_chat",
        "messages": [
            c.Message("system", [c.TextPart("You are helpful.")]),
            c.Message("system", [c.TextPart("Answer in French.")]),
            c.Message("user", [c.TextPart("Weather in Paris and Rome?"),
                               c.ImagePart(url="https://example.com/map.png", detail="high")]),
            c.Message("assistant", [
                c.ThinkingPart("OpenAI-side reasoning without a signature"),
                c.ToolCallPart("call_1", "get_weather", '{"location": "Paris"}'),
                c.ToolCallPart("call_2", "get_weather", '{"location": "Rome"}'),
            ]),
            c.Message("tool", [c.ToolResultPart("call_1", [c.TextPart("20C")])]),
            c.Message("tool", [c.ToolResultPart("call_2", [c.ImagePart(data=PNG, media_type="image/png")])]),
            c.Message("user", [c.TextPart("Thanks, which is warmer?")]),
        ],
        "tools": [c.Tool("get_weather", "Weather by city", {"type": "object"}, extra={"strict": True})],
    }
    fields.update(overrides)
    return c.ChatRequest(**fields)


def test_it_merges_consecutive_tool_messages_into_one_user_message_with_results_first() -> None:
    wire = a.request_from_canonical(_openai_style_request())
    assert wire["system"] == [{"type": "text", "text": "You are helpful."}, {"type": "text", "text": "Answer in French."}]
    assert [m["role"] for m in wire["messages"]] == ["user", "assistant", "user"]
    assert wire["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"location": "Rome"}},
    ]
    assert wire["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "20C"},
        {
            "type": "tool_result",
            "tool_use_id": "call_2",
            "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}],
        },
        {"type": "text", "text": "Thanks, which is warmer?"},
    ]
    assert wire["messages"][0]["content"][1] == {
        "type": "image", "source": {"type": "url", "url": "https://example.com/map.png"}
    }
    assert wire["tools"] == [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object"}}]
    assert wire["max_tokens"] == a.DEFAULT_MAX_TOKENS


EFFORT_CASES = [
    # (effort, budget, max_tokens in, expected thinking, expected max_tokens)
    ("low", None, None, {"type": "enabled", "budget_tokens": 1024}, 5120),
    ("minimal", None, None, {"type": "enabled", "budget_tokens": 1024}, 5120),
    ("medium", None, 32000, {"type": "enabled", "budget_tokens": 8192}, 32000),
    ("high", None, None, {"type": "enabled", "budget_tokens": 24576}, 24576 + 4096),
    ("high", None, 2000, {"type": "enabled", "budget_tokens": 1999}, 2000),
    ("high", None, 800, None, 800),
    (None, 512, None, {"type": "enabled", "budget_tokens": 1024}, 5120),
    (None, 16000, 20000, {"type": "enabled", "budget_tokens": 16000}, 20000),
    ("none", None, None, None, 4096),
]


@pytest.mark.parametrize(("effort", "budget", "max_tokens", "thinking", "wire_max"), EFFORT_CASES)
def test_it_turns_reasoning_into_a_thinking_budget_below_max_tokens(
    effort: str | None, budget: int | None, max_tokens: int | None, thinking: dict[str, Any] | None, wire_max: int
) -> None:
    req = _openai_style_request(reasoning=c.Reasoning(effort=effort, budget_tokens=budget), max_tokens=max_tokens)
    wire = a.request_from_canonical(req)
    assert wire.get("thinking") == thinking
    assert wire["max_tokens"] == wire_max
    if thinking:
        assert thinking["budget_tokens"] < wire["max_tokens"]
        assert "output_config" not in wire


def test_it_encodes_disabled_reasoning_as_disabled_thinking() -> None:
    wire = a.request_from_canonical(_openai_style_request(reasoning=c.Reasoning(enabled=False)))
    assert wire["thinking"] == {"type": "disabled"}


TOOL_CHOICES = [
    (c.ToolChoice("auto"), None, {"type": "auto"}),
    (c.ToolChoice("required"), None, {"type": "any"}),
    (c.ToolChoice("none"), False, {"type": "none"}),
    (c.ToolChoice("tool", "get_weather"), False,
     {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}),
    (c.ToolChoice("auto"), True, {"type": "auto", "disable_parallel_tool_use": False}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    (None, True, None),
]


@pytest.mark.parametrize(("choice", "parallel", "expected"), TOOL_CHOICES)
def test_it_maps_tool_choice_and_parallel_tool_calls(
    choice: c.ToolChoice | None, parallel: bool | None, expected: dict[str, Any] | None
) -> None:
    wire = a.request_from_canonical(_openai_style_request(tool_choice=choice, parallel_tool_calls=parallel))
    assert wire.get("tool_choice") == expected


def test_it_encodes_response_format_json_schema_as_output_config_format() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": False}
    req = _openai_style_request(response_format=c.ResponseFormat("json_schema", schema, "person", True), user="u-1",
                                metadata={"openai_only": "x"}, seed=7, stream=True)
    wire = a.request_from_canonical(req)
    assert wire["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert wire["metadata"] == {"user_id": "u-1"}
    assert wire["stream"] is True
    assert "seed" not in wire
    back = a.request_to_canonical(wire)
    assert back.response_format == c.ResponseFormat("json_schema", schema)


def test_it_refuses_tool_call_arguments_that_are_not_a_json_object() -> None:
    req = _openai_style_request()
    req.messages[3].parts[1] = c.ToolCallPart("call_1", "get_weather", "not json")
    with pytest.raises(c.ProxyError) as exc:
        a.request_from_canonical(req)
    assert exc.value.param == "messages[1].content[0].input"


# ---------------------------------------------------------------- responses

TEXT_RESPONSE = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [{"type": "text", "text": "Hi! My name is Claude."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0},
}

TOOL_USE_RESPONSE = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [
        {"type": "text", "text": "<thinking>I need to call the get_weather function</thinking>"},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
         "input": {"location": "San Francisco, CA", "unit": "celsius"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 40, "cache_creation_input_tokens": 1500,
              "cache_read_input_tokens": 3000},
}

THINKING_RESPONSE = {
    "id": "msg_01ThinkingExample",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [
        {"type": "thinking", "thinking": "To approach this, let's think about what we know about prime numbers...",
         "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8c"},
        {"type": "text", "text": "Yes, there are infinitely many prime numbers such that...",
         "citations": [{"type": "char_location", "cited_text": "primes", "document_index": 0,
                        "start_char_index": 0, "end_char_index": 6}]},
    ],
    "stop_reason": "stop_sequence",
    "stop_sequence": "END",
    "usage": {"input_tokens": 50, "output_tokens": 900, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0},
}

DOCUMENTED_RESPONSES = {"text": TEXT_RESPONSE, "tool_use": TOOL_USE_RESPONSE, "thinking": THINKING_RESPONSE}


@pytest.mark.parametrize("payload", DOCUMENTED_RESPONSES.values(), ids=DOCUMENTED_RESPONSES.keys())
def test_it_reencodes_documented_responses_exactly(payload: dict[str, Any]) -> None:
    resp = a.response_to_canonical(copy.deepcopy(payload))
    assert a.response_from_canonical(resp, model=payload["model"]) == payload


def test_it_reads_response_parts_stop_reason_and_usage() -> None:
    resp = a.response_to_canonical(TOOL_USE_RESPONSE)
    assert resp.id == "msg_01Aq9w938a90dw8q"
    assert resp.stop_reason == "tool_use"
    assert resp.parts[1] == c.ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather",
                                           '{"location":"San Francisco, CA","unit":"celsius"}')
    assert resp.usage == c.Usage(input_tokens=4512, output_tokens=40, cached_tokens=3000, cache_creation_tokens=1500)
    thinking = a.response_to_canonical(THINKING_RESPONSE)
    assert thinking.parts[0] == c.ThinkingPart(THINKING_RESPONSE["content"][0]["thinking"], signature=SIGNATURE,
                                               origin="anthropic")
    assert thinking.stop_sequence == "END"


USAGES = [
    {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    {"input_tokens": 21, "output_tokens": 393, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0},
    {"input_tokens": 3, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 188086},
    {"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 4},
]


@pytest.mark.parametrize("usage", USAGES)
def test_it_round_trips_usage_numbers_exactly(usage: dict[str, int]) -> None:
    canonical = a._usage_in(usage)
    assert canonical.input_tokens == sum(v for k, v in usage.items() if k != "output_tokens")
    assert canonical.cached_tokens == usage["cache_read_input_tokens"]
    assert canonical.cache_creation_tokens == usage["cache_creation_input_tokens"]
    assert a.usage_from_canonical(canonical) == usage


def test_it_reports_openai_style_usage_without_double_counting_cache() -> None:
    usage = c.Usage(input_tokens=1000, output_tokens=50, cached_tokens=800, reasoning_tokens=20)
    assert a.usage_from_canonical(usage) == {
        "input_tokens": 200, "output_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800,
    }


STOP_REASONS = [
    ("end_turn", "end_turn", "end_turn"),
    ("max_tokens", "max_tokens", "max_tokens"),
    ("stop_sequence", "stop_sequence", "stop_sequence"),
    ("tool_use", "tool_use", "tool_use"),
    ("pause_turn", "end_turn", "end_turn"),
    ("refusal", "content_filter", "refusal"),
    ("model_context_window_exceeded", "max_tokens", "max_tokens"),
]


@pytest.mark.parametrize(("wire", "canonical", "back"), STOP_REASONS)
def test_it_maps_stop_reasons(wire: str, canonical: str, back: str) -> None:
    resp = a.response_to_canonical({**TEXT_RESPONSE, "stop_reason": wire})
    assert resp.stop_reason == canonical
    assert a.response_from_canonical(resp, model=MODEL)["stop_reason"] == back


def test_it_reports_loop_detection_as_a_normal_end_turn() -> None:
    resp = c.ChatResponse("chatcmpl-1", "gpt", [c.TextPart("hi")], stop_reason="loop_detected")
    wire = a.response_from_canonical(resp, model=MODEL)
    assert wire["stop_reason"] == "end_turn"
    assert wire["id"] == "msg_chatcmpl-1"
    assert wire["model"] == MODEL


def test_it_renders_foreign_responses_without_foreign_fields() -> None:
    resp = c.ChatResponse(
        "abc", "gpt-4o",
        [c.ThinkingPart("hmm"), c.TextPart("Hi", extra={"logprobs": []}), c.ToolCallPart("call_9", "f", "{oops"),
         c.RawPart("openai_chat", {"type": "input_audio"})],
        extra={"system_fingerprint": "fp_1"},
    )
    wire = a.response_from_canonical(resp, model=MODEL)
    assert wire["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": ""},
        {"type": "text", "text": "Hi"},
        {"type": "tool_use", "id": "call_9", "name": "f", "input": {"_raw_arguments": "{oops"}},
    ]
    assert "system_fingerprint" not in wire


# ---------------------------------------------------------------- streaming


def _frames(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def _parse(raw: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    out = []
    for name, data in parser.feed(raw) + parser.close():
        payload = orjson.loads(data)
        assert name == payload["type"]
        out.append(payload)
    return out


def _start(msg_id: str, usage: dict[str, int]) -> dict[str, Any]:
    message = {"id": msg_id, "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    return {"type": "message_start", "message": message}


RECORDED_STREAM = [
    _start("msg_014p7gG3wDgGV9EUtLvnow3U",
           {"input_tokens": 472, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}),
    {"type": "ping"},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I need to find "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "the weather."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Okay, let's check"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " the weather for San Francisco"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2,
     "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"location\":"}},
    {"type": "content_block_delta", "index": 2,
     "delta": {"type": "input_json_delta", "partial_json": " \"San Francisco, CA\"}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "content_block_start", "index": 3,
     "content_block": {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}},
    {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
    {"type": "content_block_stop", "index": 3},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"input_tokens": 472, "output_tokens": 89, "cache_creation_input_tokens": 0,
               "cache_read_input_tokens": 0}},
    {"type": "message_stop"},
]


def _decode(events: list[dict[str, Any]]) -> list[c.StreamEvent]:
    decoder = a.StreamDecoder()
    out: list[c.StreamEvent] = []
    for event in events:
        out.extend(decoder.feed(event, event["type"]))
    return out + decoder.finish()


def test_it_decodes_a_recorded_stream_into_canonical_events() -> None:
    events = _decode(_parse(_frames(*RECORDED_STREAM)))
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
    raw = b"".join(encoder.encode(e) for e in _decode(RECORDED_STREAM))
    assert raw.startswith(b"event: message_start\ndata: {")
    assert raw.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    # the only difference: we do not emit the empty input_json_delta the API sends first
    expected = [e for e in RECORDED_STREAM if e.get("delta", {}).get("partial_json") != ""]
    assert _parse(raw) == expected


def test_it_decodes_stream_usage_with_cache_and_stop_sequence() -> None:
    events = _decode([
        _start("msg_1", {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 20,
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
    events = _decode([
        _start("msg_1", {"input_tokens": 1, "output_tokens": 1}),
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
    parsed = _parse(b"".join(encoder.encode(e) for e in events))
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
    parsed = _parse(encoder.encode(c.TextDelta("hi")) + encoder.encode(c.StreamEnd(None, c.Usage())))
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


# ---------------------------------------------------------------- errors

ERROR_KINDS = [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("request_too_large", "request_too_large", 413),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "api_error", 500),
    ("bad_gateway", "api_error", 502),
    ("unavailable", "api_error", 503),
    ("timeout", "api_error", 504),
    ("overloaded", "overloaded_error", 529),
]


@pytest.mark.parametrize(("kind", "wire_type", "status"), ERROR_KINDS)
def test_it_renders_errors_in_anthropic_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("something went wrong", kind=kind, param="messages[0]")
    assert a.error_body(err) == {"type": "error", "error": {"type": wire_type, "message": "something went wrong"}}
    back = a.error_to_canonical(status, a.error_body(err))  # generic types defer to the HTTP status
    assert (back.kind, back.status, back.message) == (kind, status, "something went wrong")


UPSTREAM_ERRORS = [
    (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}, "invalid_request", "max_tokens: Field required"),
    (500, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "overloaded", "Overloaded"),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "overloaded", "Overloaded"),
    (404, {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error",
                     "code": "model_not_found"}}, "not_found", "The model `x` does not exist"),
    (502, "<html>Bad Gateway</html>", "bad_gateway", "<html>Bad Gateway</html>"),
    (503, None, "unavailable", "upstream returned HTTP 503"),
    (422, {"detail": "unprocessable"}, "invalid_request", "unprocessable"),
    (429, {"error": "slow down"}, "rate_limit", "slow down"),
]


@pytest.mark.parametrize(("status", "body", "kind", "message"), UPSTREAM_ERRORS)
def test_it_reads_upstream_error_bodies_of_any_shape(status: int, body: Any, kind: str, message: str) -> None:
    err = a.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message) == (status, kind, message)


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_json_scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(_text, inner, max_size=3), max_leaves=8)
_json_obj = st.dictionaries(_text, _json, max_size=4)
_ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)

_image = st.one_of(
    st.builds(c.ImagePart, url=_ident.map(lambda s: "https://example.com/" + s)),
    st.builds(c.ImagePart, data=_ident, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"])),
)
_user_part = st.one_of(st.builds(c.TextPart, _text), _image)
_thinking = st.one_of(
    st.builds(c.ThinkingPart, _text, signature=_ident, origin=st.sampled_from([None, "anthropic", "gemini"])),
    st.builds(c.ThinkingPart, st.just(""), redacted_data=_ident, origin=st.sampled_from([None, "anthropic"])),
)


@st.composite
def _tool_call(draw: st.DrawFn) -> c.ToolCallPart:
    return c.ToolCallPart(draw(_ident), draw(_ident), orjson.dumps(draw(_json_obj)).decode())


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", draw(st.lists(st.builds(c.TextPart, _text), min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 4))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3))))
        thinking = draw(st.lists(_thinking, max_size=2))
        text = draw(st.lists(st.builds(c.TextPart, _text), max_size=2))
        calls = draw(st.lists(_tool_call(), max_size=2))
        messages.append(c.Message("assistant", [*thinking, *text, *calls] or [c.TextPart("ok")]))
        if calls:
            results = [
                c.ToolResultPart(call.id, draw(st.lists(_user_part, max_size=2)), is_error=draw(st.booleans()))
                for call in calls
            ]
            messages.append(c.Message("tool", list(results)))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, _ident, st.none() | _text, _json_obj), max_size=3))
    mode = draw(st.sampled_from([None, "budget", "disabled"]))
    budget = draw(st.integers(1024, 32000))
    reasoning = {None: None, "budget": c.Reasoning(budget_tokens=budget), "disabled": c.Reasoning(enabled=False)}[mode]
    max_tokens = draw(st.integers(budget + 1, budget + 64000)) if mode == "budget" else draw(st.integers(1, 64000))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), _ident))
    return c.ChatRequest(
        model=draw(_ident),
        messages=draw(_conversation()),
        source_protocol=draw(st.sampled_from([a.NAME, "openai_chat", "gemini"])),
        stream=draw(st.booleans()),
        max_tokens=max_tokens,
        temperature=draw(st.none() | st.floats(0, 1)),
        top_p=draw(st.none() | st.floats(0, 1)),
        top_k=draw(st.none() | st.integers(1, 500)),
        stop=draw(st.none() | st.lists(_text.filter(bool), min_size=1, max_size=3)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.builds(c.ResponseFormat, st.just("json_schema"), _json_obj)),
        reasoning=reasoning,
        user=draw(st.none() | _ident),
    )


def _strip_markers(messages: list[c.Message]) -> list[c.Message]:
    out = []
    for msg in copy.deepcopy(messages):
        extra = {k: v for k, v in (msg.extra or {}).items() if not k.startswith("__anthropic")} or None
        parts = list(msg.parts)
        for p in parts:
            if isinstance(p, c.ToolResultPart) and p.extra:
                p.extra = {k: v for k, v in p.extra.items() if not k.startswith("__anthropic")} or None
        out.append(c.Message(msg.role, parts, msg.name, extra))
    return out


def _expected(req: c.ChatRequest, thinking_on: bool = False) -> dict[str, Any]:
    """What survives a trip through the wire; ``thinking_on``: the wire turned thinking on for a
    client of another protocol, so the sampling settings Anthropic refuses beside it were dropped."""
    messages = copy.deepcopy(req.messages)
    for msg in messages:
        if req.source_protocol != a.NAME:  # only thinking Anthropic signed replays to Anthropic
            msg.parts = [p for p in msg.parts if not isinstance(p, c.ThinkingPart) or p.origin == a.NAME]
        msg.parts = [dataclasses.replace(p, origin=None) if isinstance(p, c.ThinkingPart) else p for p in msg.parts]
    tool_choice, parallel = req.tool_choice, req.parallel_tool_calls
    if tool_choice is None and parallel is False:
        tool_choice = c.ToolChoice("auto")  # disabling parallel use needs a tool_choice object to ride on
    elif (tool_choice is None and parallel) or (tool_choice is not None and tool_choice.mode == "none"):
        parallel = None  # nothing on the wire to carry it
    temperature, top_p, top_k = req.temperature, req.top_p, req.top_k
    if thinking_on and req.source_protocol != a.NAME:
        temperature = temperature if temperature in (None, 1.0) else None
        top_p = top_p if top_p is None or top_p >= 0.95 else None
        top_k = None
    return {
        "messages": messages, "tools": req.tools, "tool_choice": tool_choice, "parallel_tool_calls": parallel,
        "max_tokens": req.max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k,
        "stop": req.stop, "reasoning": req.reasoning, "user": req.meta.get("anthropic_user_id", req.user),
        "response_format": req.response_format,
        "stream": req.stream, "model": req.model,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_it_keeps_canonical_requests_stable_through_the_wire(req: c.ChatRequest) -> None:
    wire = a.request_from_canonical(req)
    assert orjson.loads(orjson.dumps(wire)) == wire  # plain JSON, nothing else
    back = a.request_to_canonical(wire)
    got = _expected(back) | {"messages": _expected(back)["messages"]}
    got["messages"] = _strip_markers(got["messages"])
    thinking_on = wire.get("thinking", {}).get("type") not in (None, "disabled")
    assert got == _expected(req, thinking_on)
    assert back.source_protocol == a.NAME
    # and once in Anthropic's own hands, re-encoding is the identity
    assert a.request_from_canonical(back) == wire


# ---------------------------------------------------------------- the SDK accepts what we emit


def test_it_emits_responses_and_stream_events_the_anthropic_sdk_parses() -> None:
    from anthropic.types import Message, RawMessageStreamEvent
    from pydantic import TypeAdapter

    for payload in DOCUMENTED_RESPONSES.values():
        resp = a.response_to_canonical(payload)
        Message.model_validate(a.response_from_canonical(resp, model=MODEL))
    encoder = a.StreamEncoder(model=MODEL, include_usage=False)
    events = _parse(b"".join(encoder.encode(e) for e in _decode(RECORDED_STREAM)))
    adapter = TypeAdapter(RawMessageStreamEvent)
    for event in events:
        if event["type"] != "ping":
            parsed = adapter.validate_python(event)
            assert parsed.type == event["type"]


# Claude Code (2.1.332, default model) sends system turns inside ``messages``: per-turn settings
# (``output_config``), a clearing hint, and blocks other than text; the attribution block leads ``system``.
MID_CONVERSATION_SYSTEM: dict[str, Any] = {
    "model": "claude-opus-5-5",
    "max_tokens": 32000,
    "system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.bd5; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
    ],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nAttribution rules\n</system-reminder>"},
            {"type": "text", "text": "Read a.txt"},
        ]},
        {"role": "system", "content": [{"type": "text", "text": "# Environment\ncwd: /tmp/w"}],
         "output_config": {"effort": "medium"}},
        {"role": "assistant", "content": [{"type": "text", "text": "Reading."}]},
        {"role": "user", "content": "go on"},
        {"role": "system", "content": [], "output_config": {"effort": "high"}},
        {"role": "system", "content": "Be brief.", "clear_at": "next_user_message"},
    ],
    "metadata": {"user_id": '{"device_id":"94eb","account_uuid":"","session_id":"0e95"}'},
}


def test_mid_conversation_system_messages_go_back_to_anthropic_exactly_as_sent() -> None:
    req = a.request_to_canonical(copy.deepcopy(MID_CONVERSATION_SYSTEM))
    assert [m.role for m in req.messages] == ["system", "user", "system", "assistant", "user", "system", "system"]
    assert a.request_from_canonical(req) == MID_CONVERSATION_SYSTEM


def test_mid_conversation_system_text_stays_in_place_for_other_protocols() -> None:
    from proxy_app.protocols import gemini as g
    from proxy_app.protocols import openai_chat as oc

    req = a.request_to_canonical(copy.deepcopy(MID_CONVERSATION_SYSTEM))
    req.source_protocol = "openai_chat"
    wire = a.request_from_canonical(req)
    # after a user turn it stays in place; the raw user_id stays behind (the attribution block is for
    # Claude upstreams, whatever the route)
    assert wire["system"] == [MID_CONVERSATION_SYSTEM["system"][0], {"type": "text", "text": "You are a Claude agent."}]
    assert [m["role"] for m in wire["messages"]] == ["user", "system", "assistant", "user", "system"]
    assert wire["messages"][1] == {"role": "system", "content": "# Environment\ncwd: /tmp/w"}
    assert wire["metadata"] == {"user_id": pseudonymous_user(MID_CONVERSATION_SYSTEM["metadata"]["user_id"])}

    req = a.request_to_canonical(copy.deepcopy(MID_CONVERSATION_SYSTEM))
    chat = oc.request_from_canonical(req)
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "system", "assistant", "user", "system"]
    assert chat["messages"][0]["content"] == "You are a Claude agent."
    assert "billing-header" not in orjson.dumps(chat).decode()
    assert "device_id" not in orjson.dumps(chat).decode()

    gem = g.request_from_canonical(a.request_to_canonical(copy.deepcopy(MID_CONVERSATION_SYSTEM)))
    assert gem["systemInstruction"] == {"parts": [{"text": "You are a Claude agent."}]}
    # Gemini has one systemInstruction: later system text joins the conversation where it was, as user text
    assert [c_["role"] for c_ in gem["contents"]] == ["user", "model", "user"]
    assert gem["contents"][0]["parts"][-1] == {"text": "# Environment\ncwd: /tmp/w"}
    assert gem["contents"][2]["parts"][-1] == {"text": "Be brief."}
    assert "billing-header" not in orjson.dumps(gem).decode()


def test_a_system_message_after_an_assistant_turn_joins_the_system_prompt_for_anthropic() -> None:
    req = c.ChatRequest(model="m", source_protocol="openai_chat", max_tokens=10, messages=[
        c.Message("system", [c.TextPart("A")]), c.Message("user", [c.TextPart("hi")]),
        c.Message("assistant", [c.TextPart("hello")]), c.Message("system", [c.TextPart("B")]),
        c.Message("user", [c.TextPart("again")]),
    ])
    wire = a.request_from_canonical(req)
    assert wire["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]
    assert [m["role"] for m in wire["messages"]] == ["user", "assistant", "user"]


def test_a_wish_to_see_thoughts_alone_turns_no_thinking_on() -> None:
    """Gemini CLI's ``includeThoughts`` and Codex's ``summary: auto`` name no effort or budget."""
    req = c.ChatRequest(model="m", source_protocol="gemini", max_tokens=100, top_k=64, temperature=1.0,
                        messages=[c.Message("user", [c.TextPart("hi")])], reasoning=c.Reasoning(include_thoughts=True))
    wire = a.request_from_canonical(req)
    assert "thinking" not in wire and wire["max_tokens"] == 100 and wire["top_k"] == 64


def test_top_k_is_dropped_when_another_protocols_client_turns_thinking_on() -> None:
    req = c.ChatRequest(model="m", source_protocol="gemini", max_tokens=20000, top_k=64, temperature=1.0, top_p=0.95,
                        messages=[c.Message("user", [c.TextPart("hi")])], reasoning=c.Reasoning(budget_tokens=8192))
    wire = a.request_from_canonical(req)
    assert wire["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert "top_k" not in wire and wire["temperature"] == 1.0 and wire["top_p"] == 0.95
