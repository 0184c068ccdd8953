"""Gemini's implicit caching needs a byte-stable prefix: one conversation translated to Gemini at turn N
and at turn N+1 (one more exchange) starts with the same ``systemInstruction``, ``tools`` and first
``contents``, byte for byte, whichever protocol the client speaks."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic, gemini, openai_chat, openai_responses

TOOL_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
               "required": ["path"]}


def openai_turns(n: int) -> c.ChatRequest:
    messages: list[Any] = [{"role": "system", "content": "You are a coding agent."}]
    for i in range(n):
        messages += [{"role": "user", "content": f"Read file {i}"},
                     {"role": "assistant", "content": None, "tool_calls": [{"id": f"call_{i}", "type": "function",
                      "function": {"name": "read", "arguments": f'{{"path": "f{i}", "limit": 5}}'}}]},
                     {"role": "tool", "tool_call_id": f"call_{i}", "content": f"contents {i}"},
                     {"role": "assistant", "content": f"Done {i}"}]
    messages.append({"role": "user", "content": "Next"})
    return openai_chat.request_to_canonical({"model": "m", "messages": messages, "tools": [
        {"type": "function", "function": {"name": "read", "description": "Read a file", "parameters": TOOL_SCHEMA}}]})


def anthropic_turns(n: int) -> c.ChatRequest:
    messages: list[Any] = []
    for i in range(n):
        messages += [{"role": "user", "content": f"Read file {i}"},
                     {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{i}", "name": "read",
                                                        "input": {"path": f"f{i}", "limit": 5}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                   "content": f"contents {i}"}]},
                     {"role": "assistant", "content": f"Done {i}"}]
    messages.append({"role": "user", "content": "Next"})
    return anthropic.request_to_canonical({"model": "m", "max_tokens": 100, "system": "You are a coding agent.",
                                           "messages": messages, "tools": [
        {"name": "read", "description": "Read a file", "input_schema": TOOL_SCHEMA}]})


def responses_turns(n: int) -> c.ChatRequest:
    items: list[Any] = []
    for i in range(n):
        items += [{"role": "user", "content": f"Read file {i}"},
                  {"type": "function_call", "call_id": f"call_{i}", "name": "read",
                   "arguments": f'{{"path": "f{i}", "limit": 5}}'},
                  {"type": "function_call_output", "call_id": f"call_{i}", "output": f"contents {i}"},
                  {"role": "assistant", "content": f"Done {i}"}]
    items.append({"role": "user", "content": "Next"})
    return openai_responses.request_to_canonical({"model": "m", "instructions": "You are a coding agent.",
                                                  "input": items, "tools": [
        {"type": "function", "name": "read", "description": "Read a file", "parameters": TOOL_SCHEMA}]})


def prefix(body: dict[str, Any], contents: int) -> bytes:
    return orjson.dumps([body.get("systemInstruction"), body.get("tools"), body["contents"][:contents]])


@pytest.mark.parametrize("turns", [openai_turns, anthropic_turns, responses_turns])
def test_the_next_turn_starts_with_the_same_bytes(turns: Any) -> None:
    now = gemini.request_from_canonical(turns(2))
    later = gemini.request_from_canonical(turns(3))
    shared = len(now["contents"]) - 1  # all but the newest user turn
    assert shared >= 6 and len(later["contents"]) > len(now["contents"])
    assert prefix(now, shared) == prefix(later, shared)
    assert orjson.dumps(gemini.request_from_canonical(turns(2))) == orjson.dumps(now), "no per-request noise"
