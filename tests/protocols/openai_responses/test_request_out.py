"""Canonical requests -> the Responses API, for a client of another protocol: messages as input items,
tools as strict-less function tools, reasoning as an effort, response format as text format."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from tests.protocols.openai_responses.samples import PNG


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
