"""Out-of-range parameters are refused as the providers refuse them, in the client's protocol, before
any upstream call (the proxy is never laxer than a provider: a negative max_tokens is not sent on)."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.conftest import Proxy


def upstream_calls(proxy: Proxy) -> int:
    return sum(len(f.chat_requests()) for f in proxy.fakes.all())


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_openai_chat_refuses_a_max_tokens_below_one(proxy: Proxy, field: str) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], **{field: 0})
    assert caught.value.body["param"] == field and caught.value.body["code"] == "integer_below_min_value"
    assert upstream_calls(proxy) == 0


def test_responses_refuses_an_empty_input_and_a_small_max_output_tokens(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="empty array"):
        api.responses.create(model="gpt-4o", input=[])
    with pytest.raises(openai.BadRequestError, match="Expected a value >= 16"):
        api.responses.create(model="gpt-4o", input="hi", max_output_tokens=8)
    assert upstream_calls(proxy) == 0


def test_anthropic_refuses_a_max_tokens_below_one(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        api.messages.create(model="claude-sonnet-4-5", max_tokens=-1, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "invalid_request_error"
    assert upstream_calls(proxy) == 0


def test_gemini_refuses_a_max_output_tokens_below_one(proxy: Proxy) -> None:
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(base_url=proxy.url))
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi",
                                       config=types.GenerateContentConfig(max_output_tokens=-3))
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert upstream_calls(proxy) == 0


def test_a_numeric_reasoning_effort_is_refused(proxy: Proxy) -> None:
    response = httpx.post(f"{proxy.openai_base}/chat/completions", headers={"Authorization": f"Bearer {proxy.key}"},
                          json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": 5})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "reasoning_effort"
    assert upstream_calls(proxy) == 0
