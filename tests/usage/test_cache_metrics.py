"""``/metrics`` exports the prompt cache (tokens read and written, USD saved) and what conversation affinity did
with each conversation's key (new, kept, moved). Counters are process-wide: tests compare before and after."""

from __future__ import annotations

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from proxy_app.core.canonical import Usage
from proxy_app.core.context import RequestContext
from tests.conftest import Proxy, configure_backends
from usage_app import metrics, recorder
from usage_app.recorder import Pending, Recorder

SONNET = {"backend": "anthropic", "model": "claude-sonnet-4-5"}
KEYS = ["sk-metrics-aff-key-one-000000001", "sk-metrics-aff-key-two-000000002"]


def scrape(proxy: Proxy) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics``, read as Prometheus does (with an admin key)."""
    answer = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_cache_read_through_the_proxy_counts_cached_tokens_and_the_money_saved(usage_proxy: Proxy) -> None:
    before = scrape(usage_proxy)
    body = {"model": "anthropic:claude-sonnet-4-5", "max_tokens": 50,
            "messages": [{"role": "user", "content": "[[cached]] the same long prefix again"}]}
    answer = httpx.post(f"{usage_proxy.url}/v1/messages", json=body, timeout=20,
                        headers={"x-api-key": usage_proxy.key, "X-Session-ID": "metrics-warm"})
    assert answer.status_code == 200, answer.text
    assert recorder.flush(10)
    after = scrape(usage_proxy)
    tokens = "llmproxy_tokens_total"
    assert value(after, tokens, kind="cached", **SONNET) - value(before, tokens, kind="cached", **SONNET) == 3
    saved = value(after, "llmproxy_cache_saved_usd_total", **SONNET) - value(
        before, "llmproxy_cache_saved_usd_total", **SONNET)
    assert saved > 0


def test_cache_writes_are_counted_and_a_turn_that_only_writes_saves_nothing(usage_proxy: Proxy) -> None:
    """The fakes report no cache writes, so the request's context is built here and goes through the real
    observer and usage writer; ``/metrics`` is read through the proxy."""
    before = scrape(usage_proxy)
    first = RequestContext(protocol="anthropic", path="/v1/messages", session_id="w", status=200, **SONNET,
                           usage=Usage(input_tokens=4_000, output_tokens=10, cache_creation_tokens=4_000))
    second = RequestContext(protocol="anthropic", path="/v1/messages", session_id="w", status=200, **SONNET,
                            usage=Usage(input_tokens=10_000, output_tokens=100, cached_tokens=6_000,
                                        cache_creation_tokens=3_000))
    for ctx in (first, second):
        metrics.observe(ctx)
    Recorder(maxsize=10, batch_size=10, flush_interval=60).write_batch([Pending(first)])
    middle = scrape(usage_proxy)
    Recorder(maxsize=10, batch_size=10, flush_interval=60).write_batch([Pending(second)])
    after = scrape(usage_proxy)
    tokens = "llmproxy_tokens_total"
    assert value(after, tokens, kind="cache_write", **SONNET) - value(
        before, tokens, kind="cache_write", **SONNET) == 7_000
    assert value(after, tokens, kind="cached", **SONNET) - value(before, tokens, kind="cached", **SONNET) == 6_000
    saved = "llmproxy_cache_saved_usd_total"
    assert value(middle, saved, **SONNET) == value(before, saved, **SONNET), "a first write saves nothing (yet)"
    assert value(after, saved, **SONNET) - value(middle, saved, **SONNET) == pytest.approx(0.01395)


def test_affinity_outcomes_are_counted_per_backend(usage_proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    configure_backends(monkeypatch, usage_proxy.fakes, OPENAI_API_KEY="",
                       **{f"OPENAI_API_KEY_{i + 1}": k for i, k in enumerate(KEYS)})
    before = scrape(usage_proxy)
    api = openai.OpenAI(base_url=usage_proxy.openai_base, api_key=usage_proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "metrics-affinity"})
    for turn in range(3):
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"turn {turn}"}])
    (first, *_) = [r.key for r in usage_proxy.fakes.openai.chat_requests()]
    assert first is not None
    usage_proxy.fakes.openai.fail_key(first, 429, retry_after=60)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "turn 3"}])
    after = scrape(usage_proxy)
    counted = {outcome: value(after, "llmproxy_affinity_total", backend="openai", outcome=outcome)
               - value(before, "llmproxy_affinity_total", backend="openai", outcome=outcome)
               for outcome in ("new", "kept", "moved")}
    assert counted == {"new": 1, "kept": 2, "moved": 1}
