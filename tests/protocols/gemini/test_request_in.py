"""Decoding ``generateContent`` bodies: documented payloads, snake_case, same-protocol round trips, validation."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g
from tests.protocols.gemini.documented_requests import JSON_SCHEMA_MODE, MODEL, REQUESTS, WEATHER_DECL


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
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"maxOutputTokens": 0}},
         "generationConfig.maxOutputTokens"),
        ({"contents": [{"parts": [{"text": "a"}]}], "generationConfig": {"maxOutputTokens": -8}},
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
