"""A provider's signed reasoning survives a tool loop through clients of other protocols.

The strict fakes refuse what the real APIs refuse: Anthropic a tool-loop turn without the thinking
block it signed, Gemini 3 a replayed call without the thought signature it issued.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from tests.conftest import Proxy

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_openai_chat_client_keeps_anthropic_thinking_through_a_tool_loop(proxy: Proxy, stream: bool) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": f"chat-loop-{stream}"})
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": "anthropic:claude-sonnet-4-5", "tools": TOOLS, "reasoning_effort": "high", "max_tokens": 30000}
    if stream:
        calls: dict[int, dict[str, str]] = {}
        for chunk in api.chat.completions.create(messages=messages, stream=True, **kwargs):  # type: ignore[call-overload]
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                entry["name"] = (call.function.name if call.function else None) or entry["name"]
                entry["arguments"] += (call.function.arguments if call.function else None) or ""
        tool_calls = [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                      for c in calls.values()]
    else:
        first = api.chat.completions.create(messages=messages, **kwargs)  # type: ignore[call-overload]
        tool_calls = [call.model_dump() for call in first.choices[0].message.tool_calls or []]
    assert tool_calls
    messages += [{"role": "assistant", "content": None, "tool_calls": tool_calls},
                 {"role": "tool", "tool_call_id": tool_calls[0]["id"], "content": "15 degrees"}]
    second = api.chat.completions.create(messages=messages, **kwargs)  # type: ignore[call-overload]
    assert "15 degrees" in (second.choices[0].message.content or "")
    replayed = proxy.fakes.anthropic.chat_requests()[-1].body["messages"][1]["content"]
    assert replayed[0]["type"] == "thinking" and replayed[0]["signature"]


def test_a_codex_style_responses_client_keeps_anthropic_thinking(proxy: Proxy) -> None:
    """Codex sends store:false, include reasoning.encrypted_content, and replays reasoning items with
    ``encrypted_content: null``."""
    headers = {"Authorization": f"Bearer {proxy.key}", "session-id": "codex-loop"}
    body = {"model": "anthropic:claude-sonnet-4-5", "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "Weather in Paris?"}]}], "tools": [
        {"type": "function", "name": "get_weather", "parameters": TOOLS[0]["function"]["parameters"]}],
        "reasoning": {"effort": "high", "summary": "auto"}, "store": False,
        "include": ["reasoning.encrypted_content"], "max_output_tokens": 30000}
    first = httpx.post(f"{proxy.url}/v1/responses", json=body, headers=headers, timeout=10).json()
    output = first["output"]
    call = next(item for item in output if item["type"] == "function_call")
    replay = [dict(item, encrypted_content=None) if item["type"] == "reasoning" else item for item in output]
    body["input"] = [*body["input"], *replay, {"type": "function_call_output", "call_id": call["call_id"],
                                               "output": "15 degrees"}]
    second = httpx.post(f"{proxy.url}/v1/responses", json=body, headers=headers, timeout=10)
    assert second.status_code == 200, second.text
    assert "15 degrees" in json.dumps(second.json()["output"])


def test_an_anthropic_client_keeps_gemini_3_thought_signatures(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": "gemini-3-loop"})
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": TOOLS[0]["function"]["parameters"]}]
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = api.messages.create(model="gemini:gemini-3-pro-preview", max_tokens=1000, tools=tools,  # type: ignore[arg-type]
                                messages=messages)  # type: ignore[arg-type]
    call = next(block for block in first.content if block.type == "tool_use")
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "15 degrees"}]}]
    second = api.messages.create(model="gemini:gemini-3-pro-preview", max_tokens=1000, tools=tools,  # type: ignore[arg-type]
                                 messages=messages)  # type: ignore[arg-type]
    assert "15 degrees" in "".join(b.text for b in second.content if b.type == "text")
    model_turn = proxy.fakes.gemini.chat_requests()[-1].body["contents"][1]
    signature = next(p["thoughtSignature"] for p in model_turn["parts"] if "functionCall" in p)
    assert signature != "skip_thought_signature_validator"  # the one Gemini issued, not the stand-in


def _codex_turns(proxy: Proxy, *, stream: bool) -> tuple[dict[str, object], dict[str, str], list[dict[str, object]]]:
    """A Codex-shaped first request and the output items it got (collected from the stream's
    ``response.completed`` when streaming)."""
    headers = {"Authorization": f"Bearer {proxy.key}", "session-id": f"codex-sealed-{stream}"}
    body: dict[str, object] = {
        "model": "anthropic:claude-sonnet-4-5", "stream": stream, "store": False,
        "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "high", "summary": "auto"},
        "max_output_tokens": 30000,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}],
        "tools": [{"type": "function", "name": "get_weather", "parameters": TOOLS[0]["function"]["parameters"]}]}
    resp = httpx.post(f"{proxy.url}/v1/responses", json=body, headers=headers, timeout=10)
    if stream:
        done = [json.loads(line[5:]) for line in resp.text.splitlines()
                if line.startswith("data:") and '"response.completed"' in line]
        output = done[0]["response"]["output"]
    else:
        output = resp.json()["output"]
    return body, headers, output


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_codex_carries_anthropic_thinking_itself_sealed_in_encrypted_content(proxy: Proxy, stream: bool) -> None:
    from django.core.cache import cache

    body, headers, output = _codex_turns(proxy, stream=stream)
    reasoning = next(item for item in output if item["type"] == "reasoning")
    assert reasoning["encrypted_content"].startswith("lip1.")
    from proxy_app.chat.reasoning_seal import unseal

    state = unseal(reasoning["encrypted_content"])  # opens only with the server's key
    assert state and state[0]["origin"] == "anthropic" and state[0]["signature"]
    call = next(item for item in output if item["type"] == "function_call")
    _settle()
    cache.clear()  # nothing kept server-side: the client's own copy must do
    body["stream"] = False
    body["input"] = [*body["input"], *output,  # type: ignore[misc]
                     {"type": "function_call_output", "call_id": call["call_id"], "output": "15 degrees"}]
    second = httpx.post(f"{proxy.url}/v1/responses", json=body, headers=headers, timeout=10)
    assert second.status_code == 200, second.text
    replayed = proxy.fakes.anthropic.chat_requests()[-1].body["messages"][1]["content"]
    assert replayed[0]["type"] == "thinking" and replayed[0]["signature"]


def test_a_tampered_encrypted_content_is_ignored(proxy: Proxy) -> None:
    from django.core.cache import cache

    body, headers, output = _codex_turns(proxy, stream=False)
    call = next(item for item in output if item["type"] == "function_call")
    for item in output:
        if item["type"] == "reasoning":
            blob = item["encrypted_content"]
            item["encrypted_content"] = blob[:-6] + ("A" if blob[-6] != "A" else "B") + blob[-5:]
    _settle()
    cache.clear()
    body["input"] = [*body["input"], *output,  # type: ignore[misc]
                     {"type": "function_call_output", "call_id": call["call_id"], "output": "15 degrees"}]
    second = httpx.post(f"{proxy.url}/v1/responses", json=body, headers=headers, timeout=10)
    # not trusted, not a crash: the turn goes upstream without the thinking, which Anthropic refuses
    assert second.status_code == 400 and "thinking" in second.json()["error"]["message"]


def _settle() -> None:
    """Wait for the proxy's background write of the reasoning it keeps (so clearing the cache
    afterwards really leaves nothing kept server-side)."""
    import time

    from proxy_app.chat import reasoning_state

    deadline = time.monotonic() + 5
    while reasoning_state._PENDING and time.monotonic() < deadline:
        time.sleep(0.01)
