"""Bring your own key (``X-Upstream-Api-Key``): the client's provider key serves its request only, in every
client protocol, and leaves no trace: the suite-wide secret scan watches it in logs, answers and rows."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as gtypes

from proxy_app.services import proxy_key_create
from tests import secret_scan
from tests.conftest import ANTHROPIC_KEYS, GEMINI_KEYS, OPENAI_KEYS, Proxy
from usage_app.models import UsageRecord
from usage_app.recorder import flush

OWN_KEYS = {"openai": "sk-client-own-openai-key-000000000001", "anthropic": "sk-ant-client-own-key-000000000002",
            "gemini": "AIzaClientOwnGeminiKey00000000000003"}
secret_scan.WATCH.add(*OWN_KEYS.values())
HEADER = "X-Upstream-Api-Key"


def ask_openai_chat(proxy: Proxy, key: str, own: str) -> str:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0, default_headers={HEADER: own})
    reply = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"hi, my key is {own}"}])
    return reply.choices[0].message.content or ""


def ask_responses(proxy: Proxy, key: str, own: str) -> str:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0, default_headers={HEADER: own})
    return api.responses.create(model="anthropic:claude-sonnet-4-5", input=f"hi, my key is {own}").output_text


def ask_anthropic(proxy: Proxy, key: str, own: str) -> str:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=key, max_retries=0,
                              default_headers={HEADER: own})
    reply = api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=64,
                                messages=[{"role": "user", "content": f"hi, my key is {own}"}])
    return "".join(block.text for block in reply.content if block.type == "text")


def ask_gemini(proxy: Proxy, key: str, own: str) -> str:
    api = genai.Client(api_key=key, http_options=gtypes.HttpOptions(
        base_url=proxy.url, api_version="v1beta", headers={HEADER: own},
        retry_options=gtypes.HttpRetryOptions(attempts=1)))
    return api.models.generate_content(model="gemini:gemini-2.5-flash", contents=f"hi, my key is {own}").text or ""


CLIENTS: dict[str, tuple[Callable[[Proxy, str, str], str], str]] = {
    "openai_chat": (ask_openai_chat, "openai"),
    "openai_responses": (ask_responses, "anthropic"),
    "anthropic": (ask_anthropic, "anthropic"),
    "gemini": (ask_gemini, "gemini"),
}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_clients_own_key_serves_its_request_and_leaves_no_trace(proxy: Proxy, client: str) -> None:
    ask, backend = CLIENTS[client]
    _, key = proxy_key_create(name=f"byok-{client}", byok_allowed=True)
    own = OWN_KEYS[backend]
    answer = ask(proxy, key, own)
    assert answer.startswith("Hello from the fake provider!")
    (upstream,) = proxy.fakes.by_backend(backend).chat_requests()
    assert upstream.key == own, "the provider got the client's key, not the operator's"
    assert own not in str(upstream.body), "the key typed into the prompt is redacted like any other"
    assert HEADER.lower() not in upstream.headers, "the header itself is not forwarded"
    flush(timeout=10)
    (row,) = UsageRecord.objects.all()
    assert row.byok and row.status == 200 and row.key_hint == "client's own key"


def test_a_proxy_key_not_allowed_to_bring_one_is_refused_before_any_upstream_call(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="plain")
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask_openai_chat(proxy, key, OWN_KEYS["openai"])
    assert "may not bring its own provider key" in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):  # the environment's key neither, unless BYOK_ALLOW_ENV_KEY
        ask_openai_chat(proxy, proxy.key, OWN_KEYS["openai"])
    assert proxy.fakes.openai.chat_requests() == []


def test_the_providers_refusal_of_a_clients_key_is_the_clients_and_touches_no_operator_key(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="byok", byok_allowed=True)
    own = OWN_KEYS["anthropic"]
    proxy.fakes.anthropic.fail_key(own, 401)
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=key, max_retries=0,
                              default_headers={HEADER: own})
    with pytest.raises(anthropic.AuthenticationError):
        api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert [r.key for r in proxy.fakes.anthropic.chat_requests()] == [own], "no retry, no operator key instead"
    proxy.fakes.anthropic.fail_key(own, 429, retry_after=30)
    with pytest.raises(anthropic.RateLimitError):
        api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    proxy.fakes.anthropic.key_failures.clear()
    # no cooldown, no invalid mark: the same key goes through at once, and so does the operator's
    assert api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=16,
                               messages=[{"role": "user", "content": "hi"}]).content
    operator = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    assert operator.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=16,
                                    messages=[{"role": "user", "content": "hi"}]).content
    assert [r.key for r in proxy.fakes.anthropic.chat_requests()] == [own, own, own, ANTHROPIC_KEYS[0]]


def test_a_failover_route_with_a_clients_key_stays_on_that_provider(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="byok-route", byok_allowed=True)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0)
    for command in ("!/create-failover-route(name=mixed, policy=m)",
                    "!/route-append(name=mixed, openai:gpt-4o, gemini:gemini-2.5-flash)"):
        reply = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": command}])
        assert "Error" not in (reply.choices[0].message.content or "")
    own = OWN_KEYS["openai"]
    proxy.fakes.openai.fail_key(own, 503)
    ask_via = openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0, default_headers={HEADER: own})
    with pytest.raises(openai.InternalServerError):
        ask_via.chat.completions.create(model="mixed", messages=[{"role": "user", "content": "hi"}])
    assert proxy.fakes.gemini.chat_requests() == [], "the client's OpenAI key never goes to Gemini, nor the operator's"
    assert {r.key for r in proxy.fakes.openai.chat_requests()} == {own}
    assert OPENAI_KEYS[0] not in {r.key for r in proxy.fakes.openai.chat_requests()}
    assert GEMINI_KEYS[0]  # the operator's Gemini key exists: the route would have used it without BYOK


def test_count_tokens_uses_the_clients_own_key(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="byok-count", byok_allowed=True)
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=key, max_retries=0,
                              default_headers={HEADER: OWN_KEYS["anthropic"]})
    api.messages.count_tokens(model="anthropic:claude-sonnet-4-5", messages=[{"role": "user", "content": "count"}])
    client = genai.Client(api_key=key, http_options=gtypes.HttpOptions(
        base_url=proxy.url, api_version="v1beta", headers={HEADER: OWN_KEYS["gemini"]},
        retry_options=gtypes.HttpRetryOptions(attempts=1)))
    client.models.count_tokens(model="gemini:gemini-2.5-flash", contents="count")
    assert proxy.fakes.anthropic is not None and proxy.fakes.gemini is not None
    assert [r.key for r in proxy.fakes.anthropic.chat_requests()] == [OWN_KEYS["anthropic"]]
    assert [r.key for r in proxy.fakes.gemini.chat_requests()] == [OWN_KEYS["gemini"]]
    _, plain = proxy_key_create(name="count-plain")
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=plain, max_retries=0,
                              default_headers={HEADER: OWN_KEYS["anthropic"]})
    with pytest.raises(anthropic.PermissionDeniedError):
        api.messages.count_tokens(model="anthropic:claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}])
