"""Key rotation, cooldowns and failover routes, through the real SDKs against the live proxy."""

from __future__ import annotations

import asyncio

import anthropic
import httpx
import openai
import pytest

from tests.conftest import Proxy, configure_backends

KEYS = ["sk-rot-key-one-00000000000001", "sk-rot-key-two-00000000000002", "sk-rot-key-three-0000000000003"]


@pytest.fixture
def three_keys(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Proxy:
    configure_backends(
        monkeypatch, proxy.fakes, OPENAI_API_KEY="", **{f"OPENAI_API_KEY_{i + 1}": k for i, k in enumerate(KEYS)}
    )
    return proxy


def keys_used(proxy: Proxy) -> list[str | None]:
    return [r.key for r in proxy.fakes.openai.chat_requests()]


def test_a_rate_limited_key_cools_down_and_every_request_still_succeeds(three_keys: Proxy) -> None:
    proxy = three_keys
    proxy.fakes.openai.fail_key(KEYS[0], 429, retry_after=60)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for i in range(100):
        resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"q{i}"}])
        assert resp.choices[0].message.content == f"Hello from the fake provider! You said: q{i}"
    used = keys_used(proxy)
    assert used.count(KEYS[0]) == 1, "the rate-limited key is not tried again inside its retry window"
    assert used.count(KEYS[1]) + used.count(KEYS[2]) == 100
    assert abs(used.count(KEYS[1]) - used.count(KEYS[2])) <= 2, "the other keys share the load round-robin"


async def test_under_concurrency_only_requests_already_in_flight_reach_the_cooling_key(three_keys: Proxy) -> None:
    proxy = three_keys
    proxy.fakes.openai.fail_key(KEYS[0], 429, retry_after=60)
    api = openai.AsyncOpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    sem = asyncio.Semaphore(10)

    async def one(i: int) -> str:
        async with sem:
            resp = await api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"q{i}"}])
            return resp.choices[0].message.content or ""

    answers = await asyncio.gather(*(one(i) for i in range(100)))
    await api.close()
    assert all(a.startswith("Hello from the fake provider") for a in answers)
    used = keys_used(proxy)
    assert used.count(KEYS[0]) <= 10, "at most the requests in flight before the first 429 came back"
    assert used.count(KEYS[1]) + used.count(KEYS[2]) == 100


def test_when_every_key_is_cooling_the_client_gets_429_with_retry_after(three_keys: Proxy) -> None:
    proxy = three_keys
    for key in KEYS:
        proxy.fakes.openai.fail_key(key, 429, retry_after=30)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.RateLimitError) as err:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert 25 <= int(err.value.response.headers["retry-after"]) <= 30
    assert len(keys_used(proxy)) == 3
    # the next request does not reach the upstream at all while every key cools
    with pytest.raises(openai.RateLimitError) as again:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert len(keys_used(proxy)) == 3
    assert "cooling" in again.value.message
    assert 25 <= int(again.value.response.headers["retry-after"]) <= 30


def test_a_rejected_key_is_marked_invalid_and_skipped(three_keys: Proxy) -> None:
    proxy = three_keys
    proxy.fakes.openai.fail_key(KEYS[1], 401)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for i in range(6):  # six conversations: one would stay on its key (conversation affinity)
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"x{i}"}])
    assert keys_used(proxy).count(KEYS[1]) == 1


def test_a_server_error_fails_over_to_the_next_key_but_a_bad_request_does_not(three_keys: Proxy) -> None:
    proxy = three_keys
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[error:400]]"}])
    assert len(keys_used(proxy)) == 1
    proxy.fakes.openai.reset()
    with pytest.raises(openai.InternalServerError) as err:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[error:503]]"}])
    assert len(keys_used(proxy)) == 3, "each key is tried once"
    assert "all 3 attempts failed" in err.value.message
    assert "sk-rot" not in err.value.message, "keys never appear in errors"


def test_a_stream_that_fails_after_its_opening_fails_over_before_any_content(three_keys: Proxy) -> None:
    """The client already has the stream's opening when the upstream's error event comes (a 200,
    the role chunk, then OpenAI's in-stream error): the next key answers on the same stream, with
    no second opening, and the usage row shows both attempts."""
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    proxy = three_keys
    proxy.fakes.openai.fail_key(KEYS[0], 500, in_stream=True)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for i in range(3):  # the keys rotate: one of the three streams starts on the failing key
        chunks = list(api.chat.completions.create(model="gpt-4o", stream=True,
                                                  messages=[{"role": "user", "content": f"s{i}"}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
            f"Hello from the fake provider! You said: s{i}"
        assert sum(1 for c in chunks if c.choices and c.choices[0].delta.role) == 1
    used = keys_used(proxy)
    assert used.count(KEYS[0]) == 1 and len(used) == 4
    assert flush(timeout=10)
    failed_over = UsageRecord.objects.get(attempts=2)
    assert [a["status"] for a in failed_over.attempt_log] == [502, 200]
    assert failed_over.status == 200 and failed_over.output_tokens > 0


def test_a_stream_whose_only_upstream_fails_after_its_opening_ends_with_the_providers_error_event(
    proxy: Proxy,
) -> None:
    """With no attempt left, the error reaches the client as the provider's own stream would carry
    it (the head, a 200, is already sent): Anthropic's error event, which its SDK raises."""
    from tests.conftest import ANTHROPIC_KEYS

    proxy.fakes.anthropic.fail_key(ANTHROPIC_KEYS[0], 529, in_stream=True)
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    events = []
    with pytest.raises(anthropic.APIStatusError) as err:
        for event in api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=64, stream=True,
                                         messages=[{"role": "user", "content": "hi"}]):
            events.append(event.type)
    assert events == ["message_start"]
    assert "Overloaded" in str(err.value)
    assert len(proxy.fakes.anthropic.chat_requests()) == 1


def test_the_seed_failover_example_serves_from_the_second_element(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for command in ("!/create-failover-route(name=main_fallback, policy=m)",
                    "!/route-append(name=main_fallback, openrouter:gpt-4, openai:gpt-4o-mini)"):
        reply = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": command}])
        assert "Error" not in (reply.choices[0].message.content or "")
    assert not proxy.fakes.openai.chat_requests() and not proxy.fakes.openrouter.chat_requests()
    proxy.fakes.openrouter.fail_key(proxy.fakes.openrouter and "sk-or-v1-fake-openrouter-key-0000000001", 500)
    resp = api.chat.completions.create(model="main_fallback", messages=[{"role": "user", "content": "who answers?"}])
    assert resp.choices[0].message.content == "Hello from the fake provider! You said: who answers?"
    assert resp.model == "openai:gpt-4o-mini"  # the answer names the route element that served it
    assert [r.body["model"] for r in proxy.fakes.openrouter.chat_requests()] == ["gpt-4"]
    assert [r.body["model"] for r in proxy.fakes.openai.chat_requests()] == ["gpt-4o-mini"]
    # streamed too
    proxy.fakes.openrouter.fail_key("sk-or-v1-fake-openrouter-key-0000000001", 500)
    chunks = list(api.chat.completions.create(model="main_fallback", stream=True,
                                              messages=[{"role": "user", "content": "again"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("You said: again")
    assert {c.model for c in chunks} == {"openai:gpt-4o-mini"}


def test_an_empty_route_is_a_clear_error(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/create-failover-route(name=r1)"}])
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="r1", messages=[{"role": "user", "content": "x"}])
    assert "no elements" in err.value.message


def test_retry_after_is_read_from_the_provider(three_keys: Proxy) -> None:
    proxy = three_keys
    proxy.fakes.openai.fail_key(KEYS[0], 429, retry_after=7)
    proxy.fakes.openai.fail_key(KEYS[1], 429, retry_after=9)
    proxy.fakes.openai.fail_key(KEYS[2], 429, retry_after=8)
    r = httpx.post(f"{proxy.openai_base}/chat/completions", headers={"Authorization": f"Bearer {proxy.key}"},
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert r.json()["error"]["type"] == "rate_limit_error"


def test_a_model_name_with_control_characters_is_a_400_and_never_reaches_the_upstream(proxy: Proxy) -> None:
    """Gemini names the model in the URL path: ``%09`` there decodes to a tab, which the upstream
    client would drop from the upstream URL, asking Gemini for a model the client did not name.
    (CR and LF in that path never match the route: it is Gemini's 404 before any model is read.)
    A model named in a JSON body goes through the same check."""
    r = httpx.post(f"{proxy.url}/v1beta/models/gemini-2.5-flash%09evil:generateContent",
                   headers={"x-goog-api-key": proxy.key},
                   json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == 400 and "control characters" in error["message"]
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="control characters"):
        api.chat.completions.create(model="gemini:gemini-2.5-flash\r\nHost: evil", messages=[{"role": "user", "content": "hi"}])
    assert proxy.fakes.gemini.requests == [] and proxy.fakes.openai.chat_requests() == []


def test_an_unknown_path_under_a_protocols_prefix_is_a_404_in_that_protocol(proxy: Proxy) -> None:
    """Not Django's HTML page: each SDK reads it as its own NotFoundError, and nothing reaches an upstream."""
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(POST /v1/no-such-endpoint\)"):
        api.post("/no-such-endpoint", cast_to=object, body={})
    claude = anthropic.Anthropic(base_url=proxy.url, api_key=proxy.key, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.post("/v1/no-such-endpoint", cast_to=object, body={})
    assert caught.value.body == {"type": "error", "error": {"type": "not_found_error",
                                                           "message": "Invalid URL (POST /v1/no-such-endpoint)"},
                                 "request_id": caught.value.request_id}
    assert caught.value.request_id.startswith("req_"), "a request id of its own, in the body and the header"
    for prefix in ("/anthropic/v1/", "/v1/"):
        r = httpx.get(f"{proxy.url}{prefix}nothing-here", headers={"x-api-key": proxy.key, "anthropic-version": "2023-06-01"})
        assert r.status_code == 404 and r.json()["type"] == "error"
        assert r.json()["error"] == {"type": "not_found_error", "message": f"Invalid URL (GET {prefix}nothing-here)"}
    r = httpx.get(f"{proxy.url}/v1beta/nothing/here")
    assert r.status_code == 404 and r.json()["error"]["code"] == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    r = httpx.post(f"{proxy.url}/v1beta/models/gemini-2.5-flash%0D%0AHost:evil:generateContent", json={})
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    assert "\r\n" in r.json()["error"]["message"]  # echoed, JSON-escaped, never a raw header break
    r = httpx.get(f"{proxy.url}/v1/" + "x" * 5000)
    assert r.status_code == 404 and len(r.json()["error"]["message"]) < 250
    assert proxy.fakes.gemini.requests == [] and proxy.fakes.openai.chat_requests() == []
    assert proxy.fakes.anthropic.requests == []


def test_an_anthropic_client_gets_the_upstreams_error_as_it_came(proxy: Proxy, settings: object) -> None:
    """Claude Code's gateway contract: the body (wording, request_id) and x-should-retry unmodified."""
    from tests.conftest import ANTHROPIC_KEYS

    settings.PROXY_MAX_ATTEMPTS = 1  # type: ignore[attr-defined]
    proxy.fakes.anthropic.fail_key(ANTHROPIC_KEYS[0], 529, times=10)
    resp = httpx.post(f"{proxy.url}/v1/messages", timeout=30, json={
        "model": "anthropic:claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": proxy.key, "anthropic-version": "2023-06-01"})
    assert resp.status_code == 529
    assert resp.json() == {"type": "error", "error": {"type": "overloaded_error", "message": "scripted failure 529"},
                           "request_id": "req_011CFakeRequestId0123456789"}
    assert resp.headers["x-should-retry"] == "true" and resp.headers["request-id"] == "req_011CFakeRequestId0123456789"
