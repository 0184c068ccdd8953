"""Token counting endpoints: exact from backends that count, estimated elsewhere."""

from __future__ import annotations

import json

import anthropic
from google import genai
from google.genai import types

from tests.conftest import Proxy


def test_anthropic_count_tokens_is_forwarded_to_an_anthropic_backend(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    messages = [{"role": "user", "content": "count me, please, exactly"}]
    counted = api.messages.count_tokens(model="anthropic:claude-sonnet-4-5", messages=messages)
    assert proxy.fakes.anthropic is not None
    upstream = proxy.fakes.anthropic.chat_requests()[-1]
    assert upstream.path == "/v1/messages/count_tokens"
    assert upstream.body["model"] == "claude-sonnet-4-5"
    assert counted.input_tokens == len(json.dumps(upstream.body["messages"])) // 4


def test_anthropic_count_tokens_is_estimated_for_other_backends(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    counted = api.messages.count_tokens(model="openai:gpt-4o", messages=[{"role": "user", "content": "x" * 400}])
    assert 100 <= counted.input_tokens <= 110
    assert not proxy.fakes.openai.chat_requests()


def test_gemini_count_tokens_is_forwarded_to_a_gemini_backend(proxy: Proxy) -> None:
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(base_url=proxy.url, api_version="v1beta"))
    result = client.models.count_tokens(model="gemini:gemini-2.5-flash", contents="how many tokens is this?")
    assert proxy.fakes.gemini is not None
    upstream = proxy.fakes.gemini.chat_requests()[-1]
    assert upstream.path.endswith("gemini-2.5-flash:countTokens")
    assert result.total_tokens == len(json.dumps(upstream.body["generateContentRequest"]["contents"])) // 4
    estimated = client.models.count_tokens(model="openai:gpt-4o", contents="y" * 400)
    assert 100 <= (estimated.total_tokens or 0) <= 110
