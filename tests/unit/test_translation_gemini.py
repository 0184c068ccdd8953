"""Gemini API <-> canonical translation, driven by payloads from Google's Gemini API docs."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g
from proxy_app.protocols.sse import SSEParser

MODEL = "gemini-2.5-flash"

# ---------------------------------------------------------------- documented request payloads

TEXT = {"contents": [{"parts": [{"text": "Explain how AI works in a few words"}]}]}

SYSTEM = {
    "systemInstruction": {"parts": [{"text": "You are a cat. Your name is Neko."}]},
    "contents": [{"parts": [{"text": "Hello there"}]}],
}

MULTI_TURN = {
    "contents": [
        {"role": "user", "parts": [{"text": "Hello"}]},
        {"role": "model", "parts": [{"text": "Great to meet you. What would you like to know?"}]},
        {"role": "user", "parts": [{"text": "I have two dogs in my house. How many paws are in my house?"}]},
    ],
    "generationConfig": {"stopSequences": ["Title"], "temperature": 1.0, "topP": 0.8, "topK": 10,
                         "maxOutputTokens": 800},
}

INLINE_IMAGE = {
    "contents": [
        {"parts": [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
                   {"text": "Caption this image."}]}
    ]
}

FILES = "https://generativelanguage.googleapis.com/v1beta/files"
FILE_URI = {
    "contents": [
        {
            "parts": [
                {"fileData": {"mimeType": "image/png", "fileUri": f"{FILES}/abc"}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": f"{FILES}/doc"}},
                {"text": "Summarise both files."},
            ]
        }
    ]
}

WEATHER_DECL = {
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name, e.g. San Francisco"}},
        "required": ["location"],
    },
}

FUNCTION_CALLING = {
    "contents": [
        {"role": "user", "parts": [{"text": "What's the temperature in London?"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_current_temperature", "args": {"location": "London"}},
                 "thoughtSignature": "CiQBcsjafAbCdEf=="}
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_current_temperature",
                                      "response": {"temperature": 25, "unit": "Celsius"}}}
            ],
        },
    ],
    "tools": [{"functionDeclarations": [WEATHER_DECL]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_current_temperature"]}},
}

PARALLEL_CALLS = {
    "contents": [
        {"role": "user", "parts": [{"text": "Turn this place into a party!"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "power_disco_ball", "args": {"power": True}}},
                {"functionCall": {"name": "start_music", "args": {"energetic": True, "loud": True}}},
                {"functionCall": {"name": "dim_lights", "args": {"brightness": 0.5}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "power_disco_ball", "response": {"result": "ok"}}},
                {"functionResponse": {"name": "start_music", "response": {"result": "ok"}}},
                {"functionResponse": {"name": "dim_lights", "response": {"result": "ok"}}},
            ],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {"name": "power_disco_ball", "description": "Powers the spinning disco ball.",
                 "parameters": {"type": "object", "properties": {"power": {"type": "boolean"}}, "required": ["power"]}},
                {"name": "start_music", "description": "Play some music matching the specified parameters.",
                 "parameters": {"type": "object", "properties": {"energetic": {"type": "boolean"},
                                                                 "loud": {"type": "boolean"}},
                                "required": ["energetic", "loud"]}},
                {"name": "dim_lights", "description": "Dim the lights.",
                 "parameters": {"type": "object", "properties": {"brightness": {"type": "number"}},
                                "required": ["brightness"]}},
            ]
        }
    ],
}

THINKING = {
    "contents": [
        {"role": "user", "parts": [{"text": "Provide a list of the top 3 famous physicists"}]},
        {
            "role": "model",
            "parts": [
                {"text": "**Listing physicists** I will pick Einstein, Newton, Curie.", "thought": True},
                {"text": "1. Albert Einstein ...", "thoughtSignature": "EsAGCr0GAcu98PA="},
            ],
        },
        {"role": "user", "parts": [{"text": "And chemists?"}]},
    ],
    "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
}

THINKING_LEVEL = {
    "contents": [{"parts": [{"text": "How does AI work?"}]}],
    "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}},
}

JSON_MODE = {
    "contents": [{"parts": [{"text": "List a few popular cookie recipes, and include the amounts of ingredients."}]}],
    "generationConfig": {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"recipeName": {"type": "STRING"},
                               "ingredients": {"type": "ARRAY", "items": {"type": "STRING"}}},
                "propertyOrdering": ["recipeName", "ingredients"],
            },
        },
    },
}

JSON_SCHEMA_MODE = {
    "contents": [{"parts": [{"text": "Extract the user."}]}],
    "generationConfig": {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object", "properties": {"name": {"type": "string"}},
                               "additionalProperties": False},
    },
}

GROUNDING = {
    "contents": [{"parts": [{"text": "Who won the euro 2024?"}]}],
    "tools": [{"googleSearch": {}}, {"codeExecution": {}}],
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    "generationConfig": {"candidateCount": 1, "responseModalities": ["TEXT"]},
    "cachedContent": "cachedContents/abc123",
}

REQUESTS = {
    "text": TEXT,
    "system_instruction": SYSTEM,
    "multi_turn": MULTI_TURN,
    "inline_image": INLINE_IMAGE,
    "file_uri": FILE_URI,
    "function_calling": FUNCTION_CALLING,
    "parallel_calls": PARALLEL_CALLS,
    "thinking": THINKING,
    "thinking_level": THINKING_LEVEL,
    "json_mode": JSON_MODE,
    "json_schema_mode": JSON_SCHEMA_MODE,
    "grounding": GROUNDING,
}


def _check_text(req: c.ChatRequest) -> None:
    assert [(m.role, m.text()) for m in req.messages] == [("user", "Explain how AI works in a few words")]


def _check_system(req: c.ChatRequest) -> None:
    assert req.messages[0].role == "system"
    assert req.messages[0].text() == "You are a cat. Your name is Neko."
    assert req.messages[1].role == "user"


def _check_multi_turn(req: c.ChatRequest) -> None:
    assert [m.role for m in req.messages] == ["user", "assistant", "user"]
    assert (req.stop, req.temperature, req.top_p, req.top_k, req.max_tokens) == (["Title"], 1.0, 0.8, 10, 800)


def _check_inline_image(req: c.ChatRequest) -> None:
    image, text = req.messages[0].parts
    assert image == c.ImagePart(data="/9j/4AAQSkZJRg==", media_type="image/jpeg")
    assert text == c.TextPart("Caption this image.")


def _check_file_uri(req: c.ChatRequest) -> None:
    image, pdf, _ = req.messages[0].parts
    assert isinstance(image, c.ImagePart) and image.url.endswith("/files/abc") and image.media_type == "image/png"
    assert isinstance(pdf, c.RawPart) and pdf.protocol == "gemini"


def _check_function_calling(req: c.ChatRequest) -> None:
    assert [m.role for m in req.messages] == ["user", "assistant", "tool"]
    call = req.messages[1].parts[0]
    result = req.messages[2].parts[0]
    assert isinstance(call, c.ToolCallPart) and isinstance(result, c.ToolResultPart)
    assert call.id == "call_get_current_temperature_0"
    assert orjson.loads(call.arguments) == {"location": "London"}
    assert call.extra == {"thoughtSignature": "CiQBcsjafAbCdEf=="}
    assert result.tool_call_id == call.id and result.name == "get_current_temperature"
    assert orjson.loads(result.content[0].text) == {"temperature": 25, "unit": "Celsius"}
    assert req.tools[0].name == "get_current_temperature"
    assert req.tools[0].parameters == WEATHER_DECL["parameters"]
    assert req.tool_choice == c.ToolChoice("tool", "get_current_temperature")


def _check_parallel_calls(req: c.ChatRequest) -> None:
    calls = req.messages[1].parts
    results = req.messages[2].parts
    assert [p.id for p in calls] == ["call_power_disco_ball_0", "call_start_music_1", "call_dim_lights_2"]
    assert [p.tool_call_id for p in results] == [p.id for p in calls]
    assert [p.content[0].text for p in results] == ["ok", "ok", "ok"]
    assert len(req.tools) == 3


def _check_thinking(req: c.ChatRequest) -> None:
    thought, answer = req.messages[1].parts
    assert isinstance(thought, c.ThinkingPart) and thought.text.startswith("**Listing")
    assert answer == c.TextPart("1. Albert Einstein ...", extra={"thoughtSignature": "EsAGCr0GAcu98PA="})
    assert req.reasoning == c.Reasoning(budget_tokens=1024, include_thoughts=True)


def _check_thinking_level(req: c.ChatRequest) -> None:
    assert req.reasoning == c.Reasoning(effort="low")


def _check_json_mode(req: c.ChatRequest) -> None:
    rf = req.response_format
    assert rf is not None and rf.type == "json_schema"
    assert rf.schema == {
        "type": "array",
        "items": {"type": "object", "properties": {"recipeName": {"type": "string"},
                                                   "ingredients": {"type": "array", "items": {"type": "string"}}}},
    }


def _check_json_schema_mode(req: c.ChatRequest) -> None:
    assert req.response_format == c.ResponseFormat(
        "json_schema", JSON_SCHEMA_MODE["generationConfig"]["responseJsonSchema"]
    )


def _check_grounding(req: c.ChatRequest) -> None:
    assert req.tools is None
    assert req.extra["cachedContent"] == "cachedContents/abc123"
    assert req.extra["generationConfig"] == {"candidateCount": 1, "responseModalities": ["TEXT"]}


CHECKS = {
    "text": _check_text,
    "system_instruction": _check_system,
    "multi_turn": _check_multi_turn,
    "inline_image": _check_inline_image,
    "file_uri": _check_file_uri,
    "function_calling": _check_function_calling,
    "parallel_calls": _check_parallel_calls,
    "thinking": _check_thinking,
    "thinking_level": _check_thinking_level,
    "json_mode": _check_json_mode,
    "json_schema_mode": _check_json_schema_mode,
    "grounding": _check_grounding,
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_it_decodes_documented_requests(name: str) -> None:
    req = g.request_to_canonical(copy.deepcopy(REQUESTS[name]), model=MODEL)
    assert req.source_protocol == "gemini" and req.model == MODEL
    CHECKS[name](req)


@pytest.mark.parametrize("name", list(REQUESTS))
def test_it_round_trips_gemini_requests_losslessly(name: str) -> None:
    payload = copy.deepcopy(REQUESTS[name])
    assert g.request_from_canonical(g.request_to_canonical(payload, model=MODEL)) == REQUESTS[name]
    assert payload == REQUESTS[name]  # decoding does not mutate its input


def test_it_accepts_snake_case_fields_and_emits_camel_case() -> None:
    snake = {
        "system_instruction": {"parts": [{"text": "You are a cat."}]},
        "contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": "AAAA"}}, {"text": "hi"}]}],
        "generation_config": {"max_output_tokens": 10, "thinking_config": {"thinking_budget": 0}},
        "tool_config": {"function_calling_config": {"mode": "NONE"}},
    }
    req = g.request_to_canonical(snake, model=MODEL)
    assert req.messages[1].parts[0] == c.ImagePart(data="AAAA", media_type="image/png")
    assert req.max_tokens == 10 and req.reasoning == c.Reasoning(enabled=False)
    assert req.tool_choice == c.ToolChoice("none")
    assert g.request_from_canonical(req) == {
        "systemInstruction": {"parts": [{"text": "You are a cat."}]},
        "contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}, {"text": "hi"}]}],
        "generationConfig": {"maxOutputTokens": 10, "thinkingConfig": {"thinkingBudget": 0}},
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}},
    }


def test_it_keeps_consecutive_same_role_contents_and_mixed_user_turns_apart_losslessly() -> None:
    payload = {
        "contents": [
            {"role": "user", "parts": [{"text": "a"}]},
            {"role": "user", "parts": [{"text": "b"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}, "id": "x1"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "id": "x1", "response": {"error": "boom"}}},
                                       {"text": "and now?"}]},
        ]
    }
    req = g.request_to_canonical(copy.deepcopy(payload), model=MODEL)
    assert [m.role for m in req.messages] == ["user", "user", "assistant", "tool", "user"]
    result = req.messages[3].parts[0]
    assert isinstance(result, c.ToolResultPart)
    assert (result.tool_call_id, result.is_error, result.content[0].text) == ("x1", True, "boom")
    assert g.request_from_canonical(req) == payload


# ---------------------------------------------------------------- cross-protocol encoding


def _openai_style_request(model: str = MODEL) -> c.ChatRequest:
    return c.ChatRequest(
        model=model,
        source_protocol="openai_chat",
        messages=[
            c.Message("system", [c.TextPart("Be brief.")], extra={"role": "developer"}),
            c.Message("user", [c.TextPart("Weather in Paris and Rome?"),
                               c.ImagePart(url="data:image/png;base64,AAAA")]),
            c.Message("assistant", [
                c.ThinkingPart("I should call the tool twice", signature="anthropic-sig"),
                c.TextPart(""),
                c.ToolCallPart("call_a", "get_weather", '{"city":"Paris"}'),
                c.ToolCallPart("call_b", "get_weather", '{"city":"Rome"}'),
            ]),
            c.Message("tool", [c.ToolResultPart("call_a", [c.TextPart('{"temp":21}')])]),
            c.Message("tool", [c.ToolResultPart("call_b", [c.TextPart("sunny, 25C")])]),
            c.Message("user", [c.TextPart("Thanks!")]),
        ],
        tools=[c.Tool("get_weather", "Get weather", {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": "string", "default": "Paris"}},
            "required": ["city"],
            "additionalProperties": False,
        }, extra={"strict": True})],
        tool_choice=c.ToolChoice("required"),
        response_format=c.ResponseFormat("json_object"),
        reasoning=c.Reasoning(effort="medium"),
        max_tokens=256,
        extra={"logit_bias": {"1": 2}},
    )


def test_it_encodes_another_protocols_request_for_gemini() -> None:
    body = g.request_from_canonical(_openai_style_request())
    assert body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris and Rome?"},
                                       {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny, 25C"}}},
                {"text": "Thanks!"},
            ]},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [{"functionDeclarations": [{
            "name": "get_weather", "description": "Get weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        "generationConfig": {"maxOutputTokens": 256, "responseMimeType": "application/json",
                             "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True}},
    }


def test_it_uses_thinking_levels_and_dummy_signatures_for_gemini_3() -> None:
    body = g.request_from_canonical(_openai_style_request("gemini-3-pro-preview"))
    calls = body["contents"][1]["parts"]
    assert calls[0]["thoughtSignature"] == g.DUMMY_THOUGHT_SIGNATURE
    assert "thoughtSignature" not in calls[1]
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "medium", "includeThoughts": True}


def test_it_looks_up_the_function_name_for_tool_results_by_call_id() -> None:
    req = _openai_style_request()
    part = req.messages[3].parts[0]
    assert isinstance(part, c.ToolResultPart) and part.name is None
    body = g.request_from_canonical(req)
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


def test_it_rejects_a_tool_result_whose_call_it_cannot_find() -> None:
    req = c.ChatRequest(model=MODEL, source_protocol="openai_chat", messages=[
        c.Message("tool", [c.ToolResultPart("call_missing", [c.TextPart("x")])])])
    with pytest.raises(c.ProxyError, match="call_missing"):
        g.request_from_canonical(req)


@pytest.mark.parametrize(
    ("reasoning", "model", "config"),
    [
        (c.Reasoning(effort="low"), "gemini-2.5-pro", {"thinkingBudget": 1024, "includeThoughts": True}),
        (c.Reasoning(effort="high"), "gemini-2.5-flash", {"thinkingBudget": 24576, "includeThoughts": True}),
        (c.Reasoning(effort="minimal"), "gemini-3-flash-preview", {"thinkingLevel": "minimal", "includeThoughts": True}),
        (c.Reasoning(budget_tokens=2000, include_thoughts=False), "gemini-2.5-pro", {"thinkingBudget": 2000,
                                                                                    "includeThoughts": False}),
        (c.Reasoning(budget_tokens=2000, include_thoughts=True), "gemini-3-pro", {"thinkingBudget": 2000,
                                                                                 "includeThoughts": True}),
        (c.Reasoning(enabled=False), "gemini-2.5-flash", {"thinkingBudget": 0}),
    ],
)
def test_it_maps_reasoning_to_thinking_config(reasoning: c.Reasoning, model: str, config: dict[str, Any]) -> None:
    req = c.ChatRequest(model=model, source_protocol="anthropic", messages=[c.Message("user", [c.TextPart("x")])],
                        reasoning=reasoning)
    assert g.request_from_canonical(req)["generationConfig"]["thinkingConfig"] == config


def test_it_asks_gemini_for_thoughts_when_another_protocol_enables_reasoning() -> None:
    """Bug: an OpenAI ``reasoning_effort`` / Anthropic ``thinking`` request reached Gemini without
    ``includeThoughts``, so the reasoning never came back to the client."""
    for source, reasoning in (("openai_chat", c.Reasoning(effort="high")), ("anthropic", c.Reasoning(budget_tokens=2048))):
        req = c.ChatRequest(model=MODEL, source_protocol=source, messages=[c.Message("user", [c.TextPart("x")])],
                            reasoning=reasoning)
        assert g.request_from_canonical(req)["generationConfig"]["thinkingConfig"]["includeThoughts"] is True
    # a Gemini client decides for itself; disabled thinking asks for nothing
    same = g.request_to_canonical({"contents": TEXT["contents"],
                                   "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}}, model=MODEL)
    assert g.request_from_canonical(same)["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024}
    off = c.ChatRequest(model=MODEL, source_protocol="anthropic", messages=[c.Message("user", [c.TextPart("x")])],
                        reasoning=c.Reasoning(enabled=False))
    assert g.request_from_canonical(off)["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}


# ---------------------------------------------------------------- schema_to_gemini


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param(
            {"$schema": "x", "type": "object", "additionalProperties": False,
             "properties": {"q": {"type": "string", "default": "a", "examples": ["b"]}}, "required": ["q", "ghost"]},
            {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            id="drops-unsupported-keywords",
        ),
        pytest.param(
            {"type": ["string", "null"], "description": "maybe"},
            {"type": "string", "description": "maybe", "nullable": True},
            id="type-list-with-null",
        ),
        pytest.param(
            {"type": ["string", "integer"]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            id="type-list-without-null",
        ),
        pytest.param(
            {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
            {"type": "integer", "minimum": 1, "nullable": True},
            id="nullable-anyof-collapses",
        ),
        pytest.param(
            {"oneOf": [{"type": "string"}, {"type": "number", "format": "float"}]},
            {"anyOf": [{"type": "string"}, {"type": "number", "format": "float"}]},
            id="oneof-becomes-anyof",
        ),
        pytest.param({"const": "fixed"}, {"type": "string", "enum": ["fixed"]}, id="const-becomes-enum"),
        pytest.param(
            {"type": "integer", "enum": [1, 2]},
            {"type": "integer", "description": "Allowed values: 1, 2"},
            id="non-string-enum-moves-to-description",
        ),
        pytest.param({"type": "string", "format": "email"}, {"type": "string"}, id="unsupported-format-dropped"),
        pytest.param({"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time"},
                     id="date-time-kept"),
        pytest.param(
            {"type": "object", "properties": {"p": {"$ref": "#/$defs/Point"}},
             "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}}},
            {"type": "object", "properties": {"p": {"type": "object", "properties": {"x": {"type": "number"}}}}},
            id="inlines-defs",
        ),
        pytest.param(
            {"$ref": "#/definitions/Node", "definitions": {"Node": {
                "type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}}}}},
            {"type": "object", "properties": {"child": {"type": "object"}}},
            id="recursive-ref-stops",
        ),
        pytest.param(
            {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                       {"properties": {"b": {"type": "boolean"}}}]},
            {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}, "required": ["a"]},
            id="merges-allof",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "object", "properties": {}}},
            {"type": "array", "items": {"type": "object"}},
            id="empty-properties-dropped",
        ),
    ],
)
def test_it_converts_json_schema_to_the_gemini_subset(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert g.schema_to_gemini(schema) == expected


def test_it_converts_gemini_schemas_back_to_json_schema() -> None:
    assert g.schema_from_gemini(
        {"type": "OBJECT", "properties": {"n": {"type": "STRING", "nullable": True, "example": "x"}},
         "propertyOrdering": ["n"]}
    ) == {"type": "object", "properties": {"n": {"type": ["string", "null"], "examples": ["x"]}}}


def test_it_omits_parameters_for_tools_without_properties() -> None:
    req = c.ChatRequest(model=MODEL, source_protocol="openai_chat", messages=[c.Message("user", [c.TextPart("x")])],
                        tools=[c.Tool("now", "Current time", {"type": "object", "properties": {}})])
    assert g.request_from_canonical(req)["tools"] == [{"functionDeclarations": [{"name": "now",
                                                                                 "description": "Current time"}]}]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({}, "contents"),
        ({"contents": []}, "contents"),
        ({"contents": ["hi"]}, "contents[0]"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "contents[0].role"),
        ({"contents": [{"parts": {"text": "x"}}]}, "contents[0].parts"),
        ({"contents": [{"parts": [{"text": "a"}]}, {"parts": [{}]}]}, "contents[1].parts[0]"),
        ({"contents": [{"parts": [{"text": "a"}]}, {"parts": [{"text": 5}]}]}, "contents[1].parts[0].text"),
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
         "contents[0].parts[0].inlineData.data"),
        ({"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]},
         "contents[0].parts[0].functionCall.name"),
        ({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": "[]"}}]}]},
         "contents[0].parts[0].functionCall.args"),
        ({"contents": [{"parts": [{"functionResponse": {"response": {}}}]}]},
         "contents[0].parts[0].functionResponse.name"),
        ({"contents": [{"parts": [{"text": "a"}]}], "systemInstruction": 5}, "systemInstruction"),
        ({"contents": [{"parts": [{"text": "a"}]}], "tools": [{"functionDeclarations": [{"description": "x"}]}]},
         "tools[0].functionDeclarations[0].name"),
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"temperature": "hot"}},
         "generationConfig.temperature"),
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"maxOutputTokens": 1.5}},
         "generationConfig.maxOutputTokens"),
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"stopSequences": "x"}},
         "generationConfig.stopSequences"),
        ({"contents": [{"parts": [{"text": "a"}]}], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}},
         "toolConfig.functionCallingConfig.mode"),
    ],
)
def test_it_rejects_invalid_requests_naming_the_field(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as info:
        g.request_to_canonical(payload, model=MODEL)
    assert info.value.param == param
    assert info.value.status == 400


# ---------------------------------------------------------------- responses

RESPONSE_TEXT = {
    "candidates": [{"content": {"parts": [{"text": "AI learns patterns from data."}], "role": "model"},
                    "finishReason": "STOP", "avgLogprobs": -0.27, "index": 0}],
    "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 7, "totalTokenCount": 15,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
    "modelVersion": "gemini-2.0-flash",
    "responseId": "Bx1mZ8XpN4WomtkPw7-t4Ag",
}

RESPONSE_THINKING_CALL = {
    "candidates": [{
        "content": {"parts": [
            {"text": "The user wants the temperature; call the tool.", "thought": True},
            {"functionCall": {"name": "get_current_temperature", "args": {"location": "London"}},
             "thoughtSignature": "CiQBcsjafAbCdEf=="},
        ], "role": "model"},
        "finishReason": "STOP", "index": 0,
    }],
    "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 20, "totalTokenCount": 402,
                      "cachedContentTokenCount": 64, "thoughtsTokenCount": 262},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "resp-2",
}

RESPONSE_RECITATION = {
    "candidates": [{"content": {"parts": [{"text": "partial"}], "role": "model"}, "finishReason": "RECITATION",
                    "index": 0,
                    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6},
    "modelVersion": "gemini-2.5-pro",
    "responseId": "resp-3",
}

RESPONSE_BLOCKED = {
    "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 0, "totalTokenCount": 5},
    "modelVersion": "gemini-2.5-pro",
    "responseId": "resp-4",
}

RESPONSE_TOOL_USE_PROMPT = {
    "candidates": [{"content": {"parts": [{"text": "Spain won."}], "role": "model"}, "finishReason": "STOP",
                    "index": 0, "groundingMetadata": {"webSearchQueries": ["euro 2024 winner"]}}],
    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 3, "totalTokenCount": 113,
                      "toolUsePromptTokenCount": 100},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "resp-5",
}

RESPONSES = {
    "text": (RESPONSE_TEXT, "end_turn", c.Usage(8, 7)),
    "thinking_call": (RESPONSE_THINKING_CALL, "tool_use", c.Usage(120, 282, cached_tokens=64, reasoning_tokens=262)),
    "recitation": (RESPONSE_RECITATION, "content_filter", c.Usage(5, 1)),
    "blocked": (RESPONSE_BLOCKED, "content_filter", c.Usage(5, 0)),
    "tool_use_prompt": (RESPONSE_TOOL_USE_PROMPT, "end_turn", c.Usage(10, 3)),
}


@pytest.mark.parametrize("name", list(RESPONSES))
def test_it_decodes_documented_responses(name: str) -> None:
    payload, stop, usage = RESPONSES[name]
    resp = g.response_to_canonical(copy.deepcopy(payload))
    assert (resp.id, resp.model, resp.stop_reason, resp.usage) == (
        payload["responseId"], payload["modelVersion"], stop, usage)


@pytest.mark.parametrize("name", list(RESPONSES))
def test_it_round_trips_gemini_responses_losslessly(name: str) -> None:
    payload = RESPONSES[name][0]
    resp = g.response_to_canonical(copy.deepcopy(payload))
    assert g.response_from_canonical(resp, model=payload["modelVersion"]) == payload


def test_it_decodes_thoughts_and_signed_function_calls_in_responses() -> None:
    resp = g.response_to_canonical(RESPONSE_THINKING_CALL)
    thought, call = resp.parts
    assert thought == c.ThinkingPart("The user wants the temperature; call the tool.")
    assert isinstance(call, c.ToolCallPart) and call.id.startswith("call_")
    assert (call.name, orjson.loads(call.arguments)) == ("get_current_temperature", {"location": "London"})
    assert call.extra == {"thoughtSignature": "CiQBcsjafAbCdEf=="}


def test_it_encodes_a_canonical_response_from_another_protocol() -> None:
    resp = c.ChatResponse(
        id="chatcmpl-1", model="gpt-4o",
        parts=[c.ThinkingPart("hmm", signature="sig"), c.TextPart("Hi", extra={"cache_control": {}}),
               c.ToolCallPart("call_1", "f", '{"a":1}')],
        stop_reason="tool_use", usage=c.Usage(10, 5, cached_tokens=2, reasoning_tokens=3),
        extra={"system_fingerprint": "fp"},
    )
    assert g.response_from_canonical(resp, model="gemini-2.5-flash") == {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "hmm", "thought": True, "thoughtSignature": "sig"},
            {"text": "Hi"},
            {"functionCall": {"name": "f", "args": {"a": 1}}},
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 15,
                          "cachedContentTokenCount": 2, "thoughtsTokenCount": 3},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "chatcmpl-1",
    }


@pytest.mark.parametrize(
    ("reason", "stop"),
    [("STOP", "end_turn"), ("MAX_TOKENS", "max_tokens"), ("SAFETY", "content_filter"),
     ("RECITATION", "content_filter"), ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
     ("SPII", "content_filter"), ("MALFORMED_FUNCTION_CALL", "error")],
)
def test_it_maps_finish_reasons(reason: str, stop: str) -> None:
    assert g.FINISH_REASON_IN[reason] == stop


@pytest.mark.parametrize(
    "usage",
    [c.Usage(), c.Usage(8, 7), c.Usage(120, 282, cached_tokens=64, reasoning_tokens=262),
     c.Usage(1000, 1000, 999, 1000)],
)
def test_it_round_trips_usage_exactly(usage: c.Usage) -> None:
    wire = g.usage_from_canonical(usage)
    assert wire["totalTokenCount"] == usage.total_tokens
    assert g._usage_in(wire) == usage


def test_it_reproduces_the_original_usage_numbers() -> None:
    original = RESPONSE_THINKING_CALL["usageMetadata"]
    assert g.usage_from_canonical(g._usage_in(original)) == original


# ---------------------------------------------------------------- streaming

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


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("invalid_request", 400, "INVALID_ARGUMENT"), ("authentication", 401, "UNAUTHENTICATED"),
        ("permission", 403, "PERMISSION_DENIED"), ("not_found", 404, "NOT_FOUND"),
        ("request_too_large", 413, "INVALID_ARGUMENT"), ("rate_limit", 429, "RESOURCE_EXHAUSTED"),
        ("api_error", 500, "INTERNAL"), ("bad_gateway", 502, "UNAVAILABLE"), ("unavailable", 503, "UNAVAILABLE"),
        ("timeout", 504, "DEADLINE_EXCEEDED"), ("overloaded", 503, "UNAVAILABLE"),
    ],
)
def test_it_renders_errors_with_google_rpc_statuses(kind: str, code: int, status: str) -> None:
    body = g.error_body(c.ProxyError("nope", kind=kind))
    assert body == {"error": {"code": code, "message": "nope", "status": status}}


def test_it_adds_retry_info_to_rate_limit_errors() -> None:
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=1.5))
    assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=60))
    assert body["error"]["details"][0]["retryDelay"] == "60s"


@pytest.mark.parametrize(("seconds", "delay"), [(59.99962, "60s"), (60.0004, "60s"), (0.25, "0.25s"), (1.0, "1s")])
def test_it_writes_retry_delays_that_round_to_whole_seconds_without_a_fraction(seconds: float, delay: str) -> None:
    """Bug: a cooldown of 59.9996 s was rounded after the integer check and rendered as "60.0s"."""
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=seconds))
    assert body["error"]["details"][0]["retryDelay"] == delay


def test_it_names_the_bad_field_in_invalid_argument_errors() -> None:
    body = g.error_body(c.ProxyError("'contents' is required", param="contents"))
    assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                         "fieldViolations": [{"field": "contents",
                                                              "description": "'contents' is required"}]}]


@pytest.mark.parametrize(
    ("status", "body", "kind", "retry_after", "message"),
    [
        (429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                         "status": "RESOURCE_EXHAUSTED", "details": [
                             {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                             {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "60s"}]}},
         "rate_limit", 60.0, "Resource has been exhausted (e.g. check quota)."),
        (429, [{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}}],
         "rate_limit", 1.5, "quota"),
        (400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                         "status": "INVALID_ARGUMENT", "details": [
                             {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}},
         "authentication", None, "API key not valid. Please pass a valid API key."),
        (503, {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                         "status": "UNAVAILABLE"}}, "unavailable", None,
         "The model is overloaded. Please try again later."),
        (502, "<html>Bad Gateway</html>", "bad_gateway", None, "<html>Bad Gateway</html>"),
        (500, None, "api_error", None, "upstream returned HTTP 500"),
        (404, {"detail": "no such model"}, "not_found", None, "no such model"),
    ],
)
def test_it_reads_upstream_errors(status: int, body: Any, kind: str, retry_after: float | None, message: str) -> None:
    err = g.error_to_canonical(status, body)
    assert (err.kind, err.status, err.retry_after, err.message) == (kind, status, retry_after, message)


def test_it_round_trips_rate_limit_errors_through_the_wire() -> None:
    err = c.ProxyError("slow", kind="rate_limit", retry_after=7)
    back = g.error_to_canonical(429, g.error_body(err))
    assert (back.kind, back.retry_after, back.code) == ("rate_limit", 7.0, "RESOURCE_EXHAUSTED")


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_names = st.sampled_from(["get_weather", "search", "lookup.v2", "run-code"])
_texts = st.text(min_size=1, max_size=30)
_scalars = st.one_of(st.integers(-(2**53), 2**53), st.booleans(), st.none(), st.text(max_size=10))
_args = st.dictionaries(st.text(min_size=1, max_size=8), _scalars, max_size=3)
_result_texts = st.one_of(
    _texts.filter(lambda t: not t.lstrip().startswith("{")),
    st.dictionaries(st.sampled_from(["temp", "ok", "items"]), _scalars, min_size=1, max_size=3).map(
        lambda d: orjson.dumps(d).decode()
    ),
)


@st.composite
def _conversations(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", [c.TextPart(draw(_texts))]))
    for turn in range(draw(st.integers(1, 3))):
        messages.append(c.Message("user", [c.TextPart(draw(_texts))]))
        parts: list[c.Part] = []
        if draw(st.booleans()):
            parts.append(c.TextPart(draw(_texts)))
        calls = [
            c.ToolCallPart(f"call_{turn}_{i}", draw(_names), orjson.dumps(draw(_args)).decode())
            for i in range(draw(st.integers(0, 2)))
        ]
        if not parts and not calls:
            parts.append(c.TextPart(draw(_texts)))
        messages.append(c.Message("assistant", parts + calls))
        for call in calls:
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, [c.TextPart(draw(_result_texts))],
                                                                is_error=draw(st.booleans()))]))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = None
    if draw(st.booleans()):
        tools = [c.Tool(name, draw(st.none() | _texts),
                        {"type": "object", "properties": {"q": {"type": draw(st.sampled_from(["string", "integer"]))}},
                         "required": ["q"]})
                 for name in ["get_weather", "search", "lookup.v2", "run-code"]]
    return c.ChatRequest(
        model=draw(st.sampled_from(["gemini-2.5-flash", "gemini-3-pro-preview"])),
        messages=draw(_conversations()),
        source_protocol=draw(st.sampled_from(["openai_chat", "anthropic", "gemini"])),
        max_tokens=draw(st.none() | st.integers(1, 10_000)),
        temperature=draw(st.none() | st.floats(0, 2, allow_nan=False)),
        top_p=draw(st.none() | st.floats(0, 1, allow_nan=False)),
        top_k=draw(st.none() | st.integers(1, 100)),
        stop=draw(st.none() | st.lists(_texts, min_size=1, max_size=3)),
        seed=draw(st.none() | st.integers(0, 2**31)),
        tools=tools,
        tool_choice=draw(st.none() | st.sampled_from(
            [c.ToolChoice("auto"), c.ToolChoice("none"), c.ToolChoice("required"), c.ToolChoice("tool", "search")])),
        response_format=draw(st.none() | st.sampled_from([
            c.ResponseFormat("text"), c.ResponseFormat("json_object"),
            c.ResponseFormat("json_schema", {"type": "object", "properties": {"a": {"type": "string"}}}),
        ])),
        reasoning=draw(st.none() | st.sampled_from([
            c.Reasoning(effort="low"), c.Reasoning(effort="high"), c.Reasoning(budget_tokens=4096),
            c.Reasoning(enabled=False), c.Reasoning(effort="medium", include_thoughts=True),
        ])),
    )


def _semantics(req: c.ChatRequest) -> list[Any]:
    out: list[Any] = []
    for msg in req.messages:
        for part in msg.parts:
            if isinstance(part, c.TextPart):
                out.append((msg.role, part.text))
            elif isinstance(part, c.ToolCallPart):
                out.append(("call", part.name, orjson.loads(part.arguments)))
            elif isinstance(part, c.ToolResultPart):
                out.append(("result", part.content[0].text, part.is_error))
    return out


@settings(max_examples=150, deadline=None)
@given(_requests())
def test_it_is_stable_from_canonical_to_wire_and_back(req: c.ChatRequest) -> None:
    wire = g.request_from_canonical(req)
    decoded = g.request_to_canonical(orjson.loads(orjson.dumps(wire)), model=req.model)
    assert _semantics(decoded) == _semantics(req)
    assert [t.name for t in decoded.tools or []] == [t.name for t in req.tools or []]
    assert decoded.tool_choice == req.tool_choice
    assert (decoded.max_tokens, decoded.temperature, decoded.top_p, decoded.top_k, decoded.stop, decoded.seed) == (
        req.max_tokens, req.temperature, req.top_p, req.top_k, req.stop, req.seed)
    assert (decoded.response_format is None) == (req.response_format is None)
    # after one trip the request is a fixed point: wire -> canonical -> wire changes nothing
    assert g.request_from_canonical(decoded) == wire
    assert g.request_to_canonical(g.request_from_canonical(decoded), model=req.model) == decoded
    # tool results still point at the calls they answer
    call_ids = {p.id for m in decoded.messages for p in m.parts if isinstance(p, c.ToolCallPart)}
    assert all(p.tool_call_id in call_ids for m in decoded.messages for p in m.parts if isinstance(p, c.ToolResultPart))
