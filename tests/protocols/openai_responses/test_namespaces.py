"""Codex CLI's namespace tools on other backends: plain functions under flat names on the way there,
name + namespace on the way back (JSON and streamed)."""

from __future__ import annotations

import copy
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.openai_responses.request_in import request_echo

CODEX_TOOLS_REQUEST: dict[str, Any] = {
    "model": "gpt-5.1-codex",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "spawn a helper"}]},
        {"type": "function_call", "name": "spawn_agent", "namespace": "multi_agent_v1", "call_id": "call_1",
         "arguments": "{\"message\":\"hi\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "agent a1 started"},
    ],
    "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}},
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
            {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}},
            {"type": "function", "name": "wait_agent", "parameters": {"type": "object", "properties": {}}}]},
        {"type": "web_search", "external_web_access": False},
    ],
}


def test_namespace_tools_reach_chat_backends_as_functions_and_come_back_namespaced() -> None:
    from proxy_app.protocols import anthropic as a
    from proxy_app.protocols import openai_chat as oc

    req = r.request_to_canonical(copy.deepcopy(CODEX_TOOLS_REQUEST))
    assert [t.name for t in req.tools or []] == ["exec_command", "multi_agent_v1__spawn_agent",
                                                 "multi_agent_v1__wait_agent"]
    chat = oc.request_from_canonical(req)
    assert [t["function"]["name"] for t in chat["tools"]] == [t.name for t in req.tools or []]
    assert chat["messages"][2]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"
    # the model's call goes back to Codex as name + namespace, the two fields it resolves calls by
    resp = c.ChatResponse("r", "m", [c.ToolCallPart("call_2", "multi_agent_v1__wait_agent", "{}")], "tool_use")
    body = r.response_from_canonical(resp, model="m", echo=request_echo(CODEX_TOOLS_REQUEST))
    assert body["output"][0]["name"] == "wait_agent" and body["output"][0]["namespace"] == "multi_agent_v1"
    encoder = r.StreamEncoder(model="m", echo=request_echo(CODEX_TOOLS_REQUEST))
    frames = encoder.encode(c.ToolCallStart(0, "call_3", "multi_agent_v1__spawn_agent")).decode()
    assert '"name":"spawn_agent","namespace":"multi_agent_v1"' in frames.replace(" ", "")
    # a plain function keeps its name and gets no namespace
    plain = r.response_from_canonical(c.ChatResponse("r", "m", [c.ToolCallPart("c", "exec_command", "{}")]),
                                      model="m", echo=request_echo(CODEX_TOOLS_REQUEST))
    assert "namespace" not in plain["output"][0]
    # web_search: Anthropic's own server tool; others are told it is not there
    assert a.request_from_canonical(req)["tools"][-1] == {"type": "web_search_20250305", "name": "web_search",
                                                          "max_uses": 5}
    assert "web_search tool is not available" in chat["messages"][0]["content"]
