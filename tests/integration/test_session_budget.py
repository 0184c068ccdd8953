"""A session's budget (``!/budget``) stops its next request in every client protocol's own quota-error shape,
never cuts a stream that started within budget, and leaves other sessions alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import Proxy

PROTOCOLS = ("openai", "responses", "anthropic", "gemini")


def request_for(protocol: str, text: str, *, stream: bool) -> tuple[str, dict[str, Any]]:
    """The path and body of a one-message request in ``protocol``."""
    if protocol == "openai":
        return "/v1/chat/completions", {"model": "gpt-4o", "stream": stream,
                                        "messages": [{"role": "user", "content": text}]}
    if protocol == "responses":
        return "/v1/responses", {"model": "gpt-4o", "input": text, "stream": stream}
    if protocol == "anthropic":
        return "/v1/messages", {"model": "openai:gpt-4o", "max_tokens": 200, "stream": stream,
                                "messages": [{"role": "user", "content": text}]}
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/openai:gpt-4o:{method}", {"contents": [{"role": "user", "parts": [{"text": text}]}]}


def headers(proxy: Proxy, session: str) -> dict[str, str]:
    key = proxy.key
    return {"Authorization": f"Bearer {key}", "x-api-key": key, "x-goog-api-key": key, "X-Session-ID": session}


def call(proxy: Proxy, protocol: str, session: str, text: str, *, stream: bool = False) -> httpx.Response:
    path, body = request_for(protocol, text, stream=stream)
    return httpx.post(f"{proxy.url}{path}", json=body, timeout=20, headers=headers(proxy, session))


def quota_error(protocol: str, response: httpx.Response) -> str:
    """The refusal's message, after checking it is the provider's own answer to a spent quota."""
    assert response.status_code == 429, response.text
    assert "retry-after" not in response.headers  # spent: waiting does not help
    body = response.json()
    if protocol == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    elif protocol == "gemini":
        assert body["error"]["code"] == 429 and body["error"]["status"] == "RESOURCE_EXHAUSTED"
    else:
        assert body["error"]["code"] == "insufficient_quota" and body["error"]["type"] == "insufficient_quota"
    return str(body["error"]["message"])


def upstream_calls(proxy: Proxy) -> int:
    return len(proxy.fakes.openai.chat_requests())


@pytest.fixture(autouse=True)
def fresh_spend(settings: Any) -> Iterator[None]:
    """Re-sum a session's spend at every check, so a test sees each request's usage once it is written."""
    from proxy_app.access import session_budget

    settings.SESSION_SPEND_REFRESH_SECONDS = 0
    session_budget._spend.clear()
    yield
    session_budget._spend.clear()


def spent_usage() -> None:
    from usage_app import recorder

    assert recorder.flush(10)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_session_over_its_token_budget_gets_the_protocols_quota_error(proxy: Proxy, protocol: str) -> None:
    session = f"tokens-{protocol}"
    assert call(proxy, protocol, session, "!/budget(tokens=5)").status_code == 200
    assert call(proxy, protocol, session, "hi").status_code == 200  # nothing spent yet
    spent_usage()
    message = quota_error(protocol, call(proxy, protocol, session, "hi again"))
    assert "this session has used its budget of 5 tokens" in message and "!/budget" in message
    assert upstream_calls(proxy) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_stream_that_starts_within_budget_is_served_whole_and_the_next_is_refused(proxy: Proxy, protocol: str) -> None:
    session = f"stream-{protocol}"
    call(proxy, protocol, session, "!/budget(tokens=5)")
    text = "tell me a story: " + " ".join(f"part{i}" for i in range(80))  # tokens well over the budget
    path, body = request_for(protocol, text, stream=True)
    with httpx.stream("POST", f"{proxy.url}{path}", json=body, timeout=20, headers=headers(proxy, session)) as response:
        assert response.status_code == 200
        streamed = "".join(response.iter_text())
    ending = {"openai": "[DONE]", "responses": "response.completed", "anthropic": "message_stop", "gemini": "STOP"}
    assert ending[protocol] in streamed and '"error":{' not in streamed and "event: error" not in streamed
    assert "part79" in streamed
    spent_usage()
    quota_error(protocol, call(proxy, protocol, session, "more", stream=True))
    assert upstream_calls(proxy) == 1


def test_a_usd_budget_refuses_through_the_openai_sdk_and_another_session_is_unaffected(proxy: Proxy) -> None:
    def client(session: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                             default_headers={"X-Session-ID": session})

    def ask(api: openai.OpenAI, text: str) -> str:
        resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
        return resp.choices[0].message.content or ""

    capped, free = client("capped"), client("free")
    assert "of $0.000001" in ask(capped, "!/budget(usd=0.000001)")
    assert ask(capped, "hi").startswith("Hello")
    spent_usage()
    with pytest.raises(openai.RateLimitError) as err:
        ask(capped, "hi again")
    assert err.value.code == "insufficient_quota" and "budget of $0.000001" in err.value.message
    assert ask(free, "hi").startswith("Hello")
    assert upstream_calls(proxy) == 2


def test_budget_shows_spend_against_budget_and_off_clears_it(proxy: Proxy) -> None:
    from usage_app.models import UsageRecord

    call(proxy, "openai", "shown", "!/budget(tokens=5, usd=3)")
    call(proxy, "openai", "shown", "hi")
    spent_usage()
    tokens = sum(r.input_tokens + r.output_tokens for r in UsageRecord.objects.filter(session_id="shown"))
    assert tokens > 5
    shown = call(proxy, "openai", "shown", "!/budget").json()["choices"][0]["message"]["content"]
    assert f"tokens {tokens:,} of 5" in shown and "of $3" in shown
    quota_error("openai", call(proxy, "openai", "shown", "blocked"))
    usd_off = call(proxy, "openai", "shown", "!/budget(usd=off)").json()["choices"][0]["message"]["content"]
    assert "(no limit)" in usd_off and "of 5" in usd_off
    assert "no budget" in call(proxy, "openai", "shown", "!/budget(off)").json()["choices"][0]["message"]["content"]
    assert call(proxy, "openai", "shown", "free again").status_code == 200


def test_a_budget_set_in_the_admins_overrides_applies(proxy: Proxy) -> None:
    from commands_app.models import Session

    Session.objects.create(session_id="admin-set", owner=None, overrides={"budget-usd": "0"})
    quota_error("gemini", call(proxy, "gemini", "admin-set", "hi"))
    assert upstream_calls(proxy) == 0


@pytest.mark.parametrize("command, error", [
    ("!/budget(usd=lots)", "usd must be an amount of dollars"),
    ("!/budget(tokens=1.5)", "tokens must be a whole number"),
    ("!/budget(dollars=2)", "unknown budget 'dollars'"),
    ("!/budget(maybe)", "expected budget(usd=2)"),
])
def test_bad_budgets_are_explained(proxy: Proxy, command: str, error: str) -> None:
    assert error in call(proxy, "openai", "bad", command).json()["choices"][0]["message"]["content"]


def test_a_zero_budget_is_a_limit_not_a_clear(proxy: Proxy) -> None:
    assert "of 0" in call(proxy, "openai", "zero", "!/budget(tokens=0)").json()["choices"][0]["message"]["content"]
    quota_error("openai", call(proxy, "openai", "zero", "hi"))
