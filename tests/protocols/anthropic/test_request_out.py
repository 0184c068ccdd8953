"""Writing an upstream request (``request_out``), above all for clients of other protocols: tool
results merged, reasoning as a thinking budget, system messages placed where the API takes them."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from proxy_app.protocols.common import pseudonymous_user
from tests.protocols.anthropic.samples import EVERYTHING_ELSE, MID_CONVERSATION_SYSTEM, MODEL, PNG


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
