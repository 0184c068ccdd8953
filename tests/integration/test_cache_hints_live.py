"""Caching hints through the live proxy: clients that cannot mark Anthropic's ``cache_control`` get
breakpoints added and so cache hits from their second turn; an Anthropic client's request reaches the
backend with exactly its own breakpoints. The fake Anthropic API caches prefixes per key like the real one."""

from __future__ import annotations

import uuid
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from proxy_app.protocols.anthropic.cache_hints import count_breakpoints
from tests.conftest import Proxy
from usage_app.models import UsageRecord
from usage_app.recorder import flush

MODEL = "anthropic:claude-sonnet-4-5"


def long_system() -> str:
    """A system prompt of its own per test: apart from the prefixes any other test caches in the fake."""
    return f"You are a careful coding agent ({uuid.uuid4()}). " + "Follow the house rules. " * 60


def tools() -> list[Any]:
    """Tool definitions of their own per test (for the same reason)."""
    return [{"type": "function", "function": {
        "name": "get_weather", "description": f"Weather by city ({uuid.uuid4()})",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def sent_bodies(proxy: Proxy) -> list[dict[str, Any]]:
    assert proxy.fakes.anthropic is not None
    return [r.body for r in proxy.fakes.anthropic.chat_requests()]


def cached_per_row(session: str) -> list[int]:
    assert flush(timeout=10)
    return list(UsageRecord.objects.filter(session_id=session).order_by("id").values_list("cached_tokens", flat=True))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_openai_client_on_anthropic_gets_cache_hits_from_its_second_turn(proxy: Proxy, stream: bool) -> None:
    session = f"cache-openai-{stream}"
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": session})
    messages: list[Any] = [{"role": "system", "content": long_system()}]
    offered = tools()
    cached: list[int] = []
    for turn in range(3):
        messages.append({"role": "user", "content": f"Tell me about turn {turn}, please."})
        if stream:
            chunks = list(api.chat.completions.create(model=MODEL, messages=messages, tools=offered, stream=True,
                                                      stream_options={"include_usage": True}))
            usage = chunks[-1].usage
            answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            resp = api.chat.completions.create(model=MODEL, messages=messages, tools=offered)
            usage, answer = resp.usage, resp.choices[0].message.content or ""
        assert usage is not None and usage.prompt_tokens_details is not None
        cached.append(usage.prompt_tokens_details.cached_tokens or 0)
        messages.append({"role": "assistant", "content": answer})
    assert cached[0] == 0 and all(n > 0 for n in cached[1:]), cached
    assert cached[2] > cached[1], "turn 3 also reads turn 2's stable turn"
    assert cached_per_row(session) == cached
    assert all(1 <= count_breakpoints(body) <= 4 for body in sent_bodies(proxy))


def test_a_gemini_client_on_anthropic_gets_cache_hits(proxy: Proxy) -> None:
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(
        base_url=proxy.url, api_version="v1beta", headers={"X-Session-ID": "cache-gemini"}))
    config = types.GenerateContentConfig(system_instruction=long_system())
    contents: list[Any] = []
    cached: list[int] = []
    for turn in range(3):
        contents.append(types.Content(role="user", parts=[types.Part(text=f"Tell me about turn {turn}.")]))
        resp = client.models.generate_content(model=MODEL, contents=contents, config=config)
        assert resp.usage_metadata is not None
        cached.append(resp.usage_metadata.cached_content_token_count or 0)
        contents.append(types.Content(role="model", parts=[types.Part(text=resp.text or "")]))
    assert cached[0] == 0 and all(n > 0 for n in cached[1:]), cached


def test_an_anthropic_clients_request_reaches_the_backend_with_exactly_its_own_breakpoints(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=proxy.url, api_key=proxy.key, max_retries=0)
    system = long_system()
    messages: list[Any] = [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": [{"type": "text", "text": "Go on", "cache_control": {"type": "ephemeral"}}]},
    ]
    for _ in range(2):
        api.messages.create(model=MODEL, max_tokens=100, system=system, messages=messages)
    api.messages.create(model=MODEL, max_tokens=100, system=system, messages=messages[:1])
    first, second, unmarked = sent_bodies(proxy)
    assert first["messages"] == second["messages"] == messages and first["system"] == system
    assert count_breakpoints(first) == 1 and count_breakpoints(unmarked) == 0


def test_with_the_setting_off_no_breakpoints_are_added(proxy: Proxy, settings: Any) -> None:
    settings.ANTHROPIC_AUTO_CACHE = False
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    messages: list[Any] = [{"role": "system", "content": long_system()}, {"role": "user", "content": "Hi"},
                           {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Go on"}]
    for _ in range(2):
        resp = api.chat.completions.create(model=MODEL, messages=messages, tools=tools())
        assert resp.usage is not None and resp.usage.prompt_tokens_details is not None
        assert not resp.usage.prompt_tokens_details.cached_tokens
    assert [count_breakpoints(body) for body in sent_bodies(proxy)] == [0, 0]


# ---------------------------------------------------------------- the fake is as strict as the API


def post(proxy: Proxy, body: dict[str, Any], key: str = "sk-ant-cache-test") -> httpx.Response:
    assert proxy.fakes.anthropic is not None
    return httpx.post(f"{proxy.fakes.anthropic.origin}/v1/messages", json=body,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01"})


def test_the_fake_refuses_a_fifth_breakpoint_as_the_api_does(proxy: Proxy) -> None:
    mark = {"cache_control": {"type": "ephemeral"}}
    blocks = [{"type": "text", "text": f"part {i}", **mark} for i in range(5)]
    r = post(proxy, {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": blocks}]})
    assert r.status_code == 400
    assert r.json()["error"] == {"type": "invalid_request_error",
                                 "message": "A maximum of 4 blocks with cache_control may be provided. Found 5."}
    r = post(proxy, {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": blocks[:4]}]})
    assert r.status_code == 200


def test_the_fake_caches_per_key_and_reports_reads_and_writes(proxy: Proxy) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 10, "system": [
        {"type": "text", "text": long_system(), "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Hi"}]}
    first = post(proxy, body).json()["usage"]
    again = post(proxy, body).json()["usage"]
    other_key = post(proxy, body, key="sk-ant-cache-other").json()["usage"]
    assert first["cache_read_input_tokens"] == 0 and first["cache_creation_input_tokens"] > 0
    assert again["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert again["cache_creation_input_tokens"] == 0
    assert other_key["cache_read_input_tokens"] == 0, "each key has its own cache"
    streamed = post(proxy, {**body, "stream": True}).text
    assert f'"cache_read_input_tokens":{first["cache_creation_input_tokens"]}' in streamed.split("\n\n")[0]
