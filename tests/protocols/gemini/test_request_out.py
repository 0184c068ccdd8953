"""Encoding another protocol's request for Gemini: roles, tool results by name, signatures, thinking, tools."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g
from tests.protocols.gemini.documented_requests import MODEL, TEXT


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


def test_it_omits_parameters_for_tools_without_properties() -> None:
    req = c.ChatRequest(model=MODEL, source_protocol="openai_chat", messages=[c.Message("user", [c.TextPart("x")])],
                        tools=[c.Tool("now", "Current time", {"type": "object", "properties": {}})])
    assert g.request_from_canonical(req)["tools"] == [{"functionDeclarations": [{"name": "now",
                                                                                 "description": "Current time"}]}]
