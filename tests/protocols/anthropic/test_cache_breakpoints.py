"""Automatic prompt-cache breakpoints (``cache_hints``): where they go for clients that cannot mark them,
and that an Anthropic client's request keeps exactly its own."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from proxy_app.protocols import anthropic as a
from proxy_app.protocols import gemini, openai_chat
from proxy_app.protocols.anthropic.cache_hints import (
    AUTO_CACHE,
    EPHEMERAL,
    MAX_BREAKPOINTS,
    add_cache_breakpoints,
    count_breakpoints,
)
from tests.protocols.anthropic.samples import DOCUMENTED_REQUESTS, MODEL

TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
MARK = {"cache_control": EPHEMERAL}


def _agent_turn() -> dict[str, Any]:
    return {
        "model": MODEL, "max_tokens": 1024, "system": "You are a coding agent.", "tools": [TOOL, SEARCH],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "t", "signature": "s"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]},
        ],
    }


def test_it_marks_the_last_tool_the_system_prompt_and_the_last_stable_turn() -> None:
    body = _agent_turn()
    out = add_cache_breakpoints(body)
    assert out["tools"] == [TOOL, {**SEARCH, **MARK}]
    assert out["system"] == [{"type": "text", "text": "You are a coding agent.", **MARK}]
    assert out["messages"][0] == body["messages"][0]
    # the turn before the newest user message; its tool_use, never the thinking block
    assert out["messages"][1]["content"][0] == body["messages"][1]["content"][0]
    assert out["messages"][1]["content"][1] == {**body["messages"][1]["content"][1], **MARK}
    assert out["messages"][2] == body["messages"][2]
    assert count_breakpoints(out) == 3 <= MAX_BREAKPOINTS


def test_it_leaves_the_given_body_unchanged() -> None:
    body = _agent_turn()
    before = copy.deepcopy(body)
    add_cache_breakpoints(body)
    assert body == before


def test_a_string_turn_becomes_one_marked_text_block() -> None:
    body = {"model": MODEL, "max_tokens": 8, "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How are you?"}]}
    out = add_cache_breakpoints(body)
    assert out["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "Hello!", **MARK}]}
    assert "system" not in out and "tools" not in out
    assert out["messages"][2] == {"role": "user", "content": "How are you?"}


def test_a_first_turn_has_no_stable_turn_to_mark() -> None:
    body = {"model": MODEL, "max_tokens": 8, "system": [{"type": "text", "text": "Be brief."}],
            "messages": [{"role": "user", "content": "Hi"}]}
    out = add_cache_breakpoints(body)
    assert out["messages"] == body["messages"]
    assert out["system"] == [{"type": "text", "text": "Be brief.", **MARK}]


def test_the_stable_turn_is_the_one_before_the_newest_user_message_even_with_a_prefill() -> None:
    body = {"model": MODEL, "max_tokens": 8, "messages": [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "JSON please"}, {"role": "assistant", "content": "{"}]}
    out = add_cache_breakpoints(body)
    assert count_breakpoints(out) == 1 and "cache_control" in out["messages"][1]["content"][0]


def test_a_turn_of_thinking_only_is_left_unmarked() -> None:
    body = {"model": MODEL, "max_tokens": 8, "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}]},
        {"role": "user", "content": "Go on"}]}
    assert count_breakpoints(add_cache_breakpoints(body)) == 0


@pytest.mark.parametrize("name", sorted(DOCUMENTED_REQUESTS))
def test_a_request_with_its_own_breakpoints_keeps_exactly_them(name: str) -> None:
    body = DOCUMENTED_REQUESTS[name]
    if count_breakpoints(body):
        assert add_cache_breakpoints(body) is body


# ---------------------------------------------------------------- through request_out


def _openai_chat(**extra: Any) -> Any:
    return openai_chat.request_to_canonical({
        "model": MODEL, "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": TOOL["input_schema"]}}],
        "messages": [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Weather?"}], **extra})


def test_request_out_adds_them_for_another_protocols_client_when_asked() -> None:
    req = _openai_chat()
    req.meta[AUTO_CACHE] = True
    wire = a.request_from_canonical(req)
    assert wire["tools"][-1]["cache_control"] == EPHEMERAL
    assert wire["system"] == [{"type": "text", "text": "You are a coding agent.", **MARK}]
    assert wire["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "Hello!", **MARK}]}


def test_request_out_adds_none_when_the_setting_is_off() -> None:
    assert count_breakpoints(a.request_from_canonical(_openai_chat())) == 0


def test_request_out_adds_them_for_a_gemini_client() -> None:
    req = gemini.request_to_canonical({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}, {"role": "model", "parts": [{"text": "Hello!"}]},
                     {"role": "user", "parts": [{"text": "Bye"}]}]}, model=MODEL)
    req.meta[AUTO_CACHE] = True
    assert count_breakpoints(a.request_from_canonical(req)) == 2


@pytest.mark.parametrize("name", sorted(DOCUMENTED_REQUESTS))
def test_an_anthropic_clients_request_goes_back_with_exactly_its_own_breakpoints(name: str) -> None:
    req = a.request_to_canonical(copy.deepcopy(DOCUMENTED_REQUESTS[name]))
    req.meta[AUTO_CACHE] = True
    assert a.request_from_canonical(req) == DOCUMENTED_REQUESTS[name]
