"""Anthropic Messages payloads as Anthropic documents them (requests, responses, a recorded stream),
shared by the tests of this protocol."""

from __future__ import annotations

from typing import Any

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


# ---------------------------------------------------------------- documented responses

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


# ---------------------------------------------------------------- a recorded stream


def message_start(msg_id: str, usage: dict[str, int]) -> dict[str, Any]:
    message = {"id": msg_id, "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    return {"type": "message_start", "message": message}


RECORDED_STREAM = [
    message_start(
        "msg_014p7gG3wDgGV9EUtLvnow3U",
        {"input_tokens": 472, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    ),
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


# ---------------------------------------------------------------- mid-conversation system messages

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
