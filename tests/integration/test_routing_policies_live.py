"""Issue 6's "Done when", as written: Gemini key rotation under RetryInfo 429s, all-keys-cooling 429s
in each SDK's protocol, and each failover policy's attempt order against fakes that fail chosen attempts."""

from __future__ import annotations

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.conftest import Proxy, configure_backends

GEMINI = [f"AIzaSyRotationKey{i}00000000000000000000" for i in range(1, 4)]
OA = ["sk-policy-openai-key-a-000000000001", "sk-policy-openai-key-b-000000000002"]
OR = ["sk-or-v1-policy-router-key-a-0000001", "sk-or-v1-policy-router-key-b-0000002"]


@pytest.fixture
def gemini_three_keys(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Proxy:
    configure_backends(monkeypatch, proxy.fakes, GEMINI_API_KEY="",
                       **{f"GEMINI_API_KEY_{i + 1}": k for i, k in enumerate(GEMINI)})
    return proxy


def gemini_keys_used(proxy: Proxy) -> list[str | None]:
    assert proxy.fakes.gemini is not None
    return [r.key for r in proxy.fakes.gemini.chat_requests()]


def test_three_gemini_keys_with_key_one_rate_limited_serve_100_requests(gemini_three_keys: Proxy) -> None:
    proxy = gemini_three_keys
    assert proxy.fakes.gemini is not None
    proxy.fakes.gemini.fail_key(GEMINI[0], 429, retry_after=60)  # RetryInfo.retryDelay "60s" in the body
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for i in range(100):
        resp = api.chat.completions.create(model="gemini:gemini-2.5-flash",
                                           messages=[{"role": "user", "content": f"q{i}"}])
        assert (resp.choices[0].message.content or "").startswith("Hello from the fake provider")
    used = gemini_keys_used(proxy)
    assert used.count(GEMINI[0]) <= 1
    assert used.count(GEMINI[1]) + used.count(GEMINI[2]) == 100


def test_all_keys_rate_limited_gives_429_with_retry_after_in_every_sdk(gemini_three_keys: Proxy) -> None:
    proxy = gemini_three_keys
    assert proxy.fakes.gemini is not None
    for key in GEMINI:
        proxy.fakes.gemini.fail_key(key, 429, retry_after=45)
    with pytest.raises(openai.RateLimitError) as oa:
        openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0).chat.completions.create(
            model="gemini:gemini-2.5-flash", messages=[{"role": "user", "content": "x"}])
    assert 40 <= int(oa.value.response.headers["retry-after"]) <= 45
    with pytest.raises(anthropic.RateLimitError) as an:
        anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0).messages.create(
            model="gemini:gemini-2.5-flash", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert 40 <= int(an.value.response.headers["retry-after"]) <= 45
    assert an.value.body["error"]["type"] == "rate_limit_error"
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(
        base_url=proxy.url, retry_options=types.HttpRetryOptions(attempts=1)))
    with pytest.raises(genai_errors.ClientError) as gm:
        client.models.generate_content(model="gemini:gemini-2.5-flash", contents="x")
    assert gm.value.code == 429 and gm.value.status == "RESOURCE_EXHAUSTED"
    retry = [d for d in gm.value.details["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert 40 <= float(retry[0]["retryDelay"].rstrip("s")) <= 45
    assert len(gemini_keys_used(proxy)) == 3, "after the first request every key is known to be cooling"


@pytest.fixture
def two_by_two(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Proxy:
    configure_backends(
        monkeypatch, proxy.fakes, OPENAI_API_KEY="", OPENROUTER_API_KEY="",
        OPENAI_API_KEY_1=OA[0], OPENAI_API_KEY_2=OA[1], OPENROUTER_API_KEY_1=OR[0], OPENROUTER_API_KEY_2=OR[1],
    )
    return proxy


def attempts(proxy: Proxy) -> list[str]:
    """Every upstream call in time order, as ``backend/key-letter``."""
    calls = [(r.at, "openai", r.key) for r in proxy.fakes.openai.chat_requests()]
    calls += [(r.at, "openrouter", r.key) for r in proxy.fakes.openrouter.chat_requests()]
    names = {OA[0]: "a", OA[1]: "b", OR[0]: "a", OR[1]: "b"}
    return [f"{backend}/{names[key]}" for _, backend, key in sorted(calls)]


def restart_rotation() -> None:
    """Start every backend's round-robin at its first key, so attempt orders are deterministic."""
    from proxy_app.providers import keys
    from proxy_app.providers.registry import invalidate_registry

    keys._counters.clear()
    invalidate_registry()


@pytest.mark.parametrize("policy, expected", [
    ("k", ["openai/a", "openai/b"]),
    ("m", ["openai/a", "openrouter/a"]),
    ("km", ["openai/a", "openai/b", "openrouter/a", "openrouter/b"]),
    ("mk", ["openai/a", "openrouter/a", "openai/b", "openrouter/b"]),
])
def test_each_policy_tries_attempts_in_the_seeds_order(two_by_two: Proxy, policy: str, expected: list[str],
                                                        settings: object) -> None:
    proxy = two_by_two
    settings.PROXY_RETRY_BACKOFF_BASE = 0.001  # type: ignore[attr-defined]
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"!/create-failover-route(name=r{policy}, policy={policy})"}])
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"!/route-append(name=r{policy}, openai:gpt-4o, openrouter:gpt-4)"}])
    restart_rotation()
    for key in [*OA, *OR]:
        (proxy.fakes.openai if key in OA else proxy.fakes.openrouter).fail_key(key, 503)
    with pytest.raises(openai.APIStatusError) as err:
        api.chat.completions.create(model=f"r{policy}", messages=[{"role": "user", "content": "x"}])
    assert attempts(proxy) == expected
    assert f"all {len(expected)} attempts failed" in err.value.message
    # and the first attempt that does not fail answers
    proxy.fakes.openai.reset()
    proxy.fakes.openrouter.reset()
    restart_rotation()
    proxy.fakes.openai.fail_key(OA[0], 503)
    resp = api.chat.completions.create(model=f"r{policy}", messages=[{"role": "user", "content": "y"}])
    assert (resp.choices[0].message.content or "").endswith("You said: y")
    assert attempts(proxy) == expected[:2]
