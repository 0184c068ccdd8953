"""Canonical requests -> OpenAI Chat Completions: each field and message shape encoded for a client of
another protocol (what only OpenAI has is dropped, what Chat Completions lacks is said another way)
and for an OpenAI client (its own fields kept)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic, gemini, openai_chat
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.common import WEB_SEARCH, WEB_SEARCH_UNAVAILABLE
from proxy_app.protocols.openai_chat.extras import JSON_SCHEMA_DESCRIPTION, MAX_TOKENS_FIELD
from tests.protocols.openai_chat.examples import MODEL
from tests.protocols.openai_chat.samples import DEFAULT, EVERYTHING_ELSE, PNG, STRICT_TOOL, TOOL_CONVERSATION


def _foreign(**fields: Any) -> c.ChatRequest:
    """A request from a client of another protocol (Anthropic's) for an OpenAI backend."""
    fields.setdefault("messages", [c.Message("user", [c.TextPart("Hi")])])
    return c.ChatRequest(model=MODEL, source_protocol="anthropic", **fields)


# Each canonical field, as the body for a client of another protocol: (canonical fields, wire fields
# besides model and messages).
FOREIGN_FIELDS = {
    "stream_asks_for_usage": ({"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}),
    "include_usage_is_the_clients_own": ({"include_usage": True}, {}),
    "max_tokens": ({"max_tokens": 1024}, {"max_tokens": 1024}),
    "max_tokens_field_is_for_openai_clients": (
        {"max_tokens": 1024, "meta": {MAX_TOKENS_FIELD: "max_completion_tokens"}}, {"max_tokens": 1024}),
    "temperature": ({"temperature": 0.2}, {"temperature": 0.2}),
    "top_p": ({"top_p": 0.9}, {"top_p": 0.9}),
    "top_k_is_not_openais": ({"top_k": 40}, {}),
    "stop": ({"stop": ["END"]}, {"stop": ["END"]}),
    "empty_stop": ({"stop": []}, {}),
    "seed": ({"seed": 42}, {"seed": 42}),
    "user": ({"user": "user-1234"}, {"user": "user-1234"}),
    "tools": ({"tools": [c.Tool("get_weather", "Weather by city", {"type": "object"},
                                extra={"cache_control": {"type": "ephemeral"}})]},
              {"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                                           "parameters": {"type": "object"}}}]}),
    "no_tools": ({"tools": []}, {"tools": []}),
    "tool_choice_auto": ({"tool_choice": c.ToolChoice("auto")}, {"tool_choice": "auto"}),
    "tool_choice_tool": ({"tool_choice": c.ToolChoice("tool", "get_weather")},
                         {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    "parallel_tool_calls": ({"parallel_tool_calls": False}, {"parallel_tool_calls": False}),
    "response_format_text": ({"response_format": c.ResponseFormat("text")}, {"response_format": {"type": "text"}}),
    "json_schema_strict": (
        {"response_format": c.ResponseFormat("json_schema", {"type": "object"}, "answer", True)},
        {"response_format": {"type": "json_schema",
                             "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True}}},
    ),
    "json_schema_description_is_for_openai_clients": (
        {"response_format": c.ResponseFormat("json_schema", {"type": "object"}, "answer"),
         "meta": {JSON_SCHEMA_DESCRIPTION: "An answer"}},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}},
    ),
    "reasoning_effort": ({"reasoning": c.Reasoning(effort="high")}, {"reasoning_effort": "high"}),
    "reasoning_budget": ({"reasoning": c.Reasoning(budget_tokens=8192)}, {"reasoning_effort": "medium"}),
    "reasoning_off": ({"reasoning": c.Reasoning(effort="high", enabled=False)}, {}),
    "metadata_is_anthropics": ({"metadata": {"user_id": "u"}}, {}),
    "extra_fields_are_anthropics": ({"extra": {"container": "container_1", "service_tier": "auto"}}, {}),
}


@pytest.mark.parametrize(("fields", "wire"), FOREIGN_FIELDS.values(), ids=FOREIGN_FIELDS.keys())
def test_each_field_of_a_foreign_request_is_encoded_as_chat_completions_has_it(
    fields: dict[str, Any], wire: dict[str, Any]
) -> None:
    body = o.request_from_canonical(_foreign(**fields))
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == wire


# Each message shape from a client of another protocol: (canonical message, wire messages).
FOREIGN_MESSAGES = {
    "system": (c.Message("system", [c.TextPart("Be brief.")]), [{"role": "system", "content": "Be brief."}]),
    "system_without_text_is_dropped": (c.Message("system", [], extra={"output_config": {"effort": "high"}}), []),
    "developer_marker_is_for_openai_clients": (
        c.Message("system", [c.TextPart("Be brief.")], extra={"role": "developer"}),
        [{"role": "system", "content": "Be brief."}],
    ),
    "user_without_parts": (c.Message("user", []), [{"role": "user", "content": ""}]),
    "user_text_and_inline_image": (
        c.Message("user", [c.TextPart("What is this?"), c.ImagePart(data=PNG, media_type="image/png", detail="low")]),
        [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}}]}],
    ),
    "another_protocols_part_is_dropped": (
        c.Message("user", [c.TextPart("Summarise"), c.RawPart("anthropic", {"type": "document"})]),
        [{"role": "user", "content": [{"type": "text", "text": "Summarise"}]}],
    ),
    "named_user": (c.Message("user", [c.TextPart("Hi")], name="alice"),
                   [{"role": "user", "content": "Hi", "name": "alice"}]),
    "assistant_thinking_joined_without_signatures": (
        c.Message("assistant", [c.ThinkingPart("Two cities", signature="sig", origin="anthropic"),
                                c.ThinkingPart(", two calls."), c.ThinkingPart("", redacted_data="opaque"),
                                c.TextPart("Checking.")]),
        [{"role": "assistant", "content": "Checking.", "reasoning_content": "Two cities, two calls."}],
    ),
    "assistant_calls_only": (
        c.Message("assistant", [c.ToolCallPart("toolu_1", "get_weather", '{"location":"Paris"}')]),
        [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}}]}],
    ),
    "assistant_refusal_and_audio_are_for_openai_clients": (
        c.Message("assistant", [c.TextPart("ok")], extra={"refusal": "no", "audio": {"id": "audio_1"}}),
        [{"role": "assistant", "content": "ok"}],
    ),
    "tool_results_one_message_each_errors_unmarked": (
        c.Message("tool", [c.ToolResultPart("toolu_1", [c.TextPart("20C")]),
                           c.ToolResultPart("toolu_2", [c.TextPart("service down")], is_error=True)]),
        [{"role": "tool", "tool_call_id": "toolu_1", "content": "20C"},
         {"role": "tool", "tool_call_id": "toolu_2", "content": "service down"}],
    ),
    "tool_result_images_follow_in_a_user_message": (
        c.Message("tool", [c.ToolResultPart("toolu_1", [c.TextPart("here"),
                                                        c.ImagePart(data=PNG, media_type="image/png")])]),
        [{"role": "tool", "tool_call_id": "toolu_1", "content": "here"},
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}],
    ),
    "tool_turn_keeps_only_its_results": (
        c.Message("tool", [c.TextPart("stray"), c.ToolResultPart("toolu_1", [c.TextPart("20C")])]),
        [{"role": "tool", "tool_call_id": "toolu_1", "content": "20C"}],
    ),
}


@pytest.mark.parametrize(("message", "wire"), FOREIGN_MESSAGES.values(), ids=FOREIGN_MESSAGES.keys())
def test_each_message_of_a_foreign_request_is_encoded_as_chat_messages(
    message: c.Message, wire: list[dict[str, Any]]
) -> None:
    assert o.request_from_canonical(_foreign(messages=[message]))["messages"] == wire


def test_it_names_a_nameless_foreign_json_schema_response() -> None:
    req = c.ChatRequest(model="m", source_protocol="anthropic", messages=[c.Message("user", [c.TextPart("hi")])],
                        response_format=c.ResponseFormat("json_schema", {"type": "object"}))
    assert o.request_from_canonical(req)["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}}


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
