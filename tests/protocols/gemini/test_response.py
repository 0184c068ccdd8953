"""Gemini answers <-> canonical responses (payloads from Google's docs), usage and finish reasons."""

from __future__ import annotations

import copy

import orjson
import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g
from proxy_app.protocols.gemini.response import usage_in

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
    assert usage_in(wire) == usage


def test_it_reproduces_the_original_usage_numbers() -> None:
    original = RESPONSE_THINKING_CALL["usageMetadata"]
    assert g.usage_from_canonical(usage_in(original)) == original
