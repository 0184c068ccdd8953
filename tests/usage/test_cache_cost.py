"""Prompt-cache writes are recorded and priced at the provider's cache-write rate, and ``/usage/stats`` shows the
cache-hit ratio and the money caching saved, per model and per session (from raw records and from rollups alike)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from proxy_app.core.canonical import Usage
from proxy_app.core.context import RequestContext
from tests.conftest import Proxy
from tests.usage.conftest import operator_get
from usage_app import recorder, stats
from usage_app.models import RollupState, UsageRecord
from usage_app.pricing import seeded_price
from usage_app.recorder import Pending, Recorder

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 10, 14, 37, tzinfo=UTC)

# claude-sonnet-4-5 in genai-prices, per million tokens: input $3, cache read $0.30, cache write $3.75, output $15.
# 10,000 input tokens: 6,000 read from the cache, 3,000 written to it, 1,000 neither.
TURN = Usage(input_tokens=10_000, output_tokens=100, cached_tokens=6_000, cache_creation_tokens=3_000)
TURN_COST = Decimal("0.01755")  # (1,000 × 3 + 6,000 × 0.30 + 3,000 × 3.75 + 100 × 15) / 1M
TURN_SAVED = Decimal("0.01395")  # (6,000 × (3 − 0.30) − 3,000 × (3.75 − 3)) / 1M


def test_the_seeded_anthropic_price_bills_cache_writes_at_their_rate() -> None:
    price = seeded_price("anthropic", "claude-sonnet-4-5")
    assert price is not None and price.cache_write == Decimal("3.75")
    assert price.cost(input_tokens=10_000, output_tokens=100, cached_tokens=6_000, cache_write_tokens=3_000) == TURN_COST
    assert price.cache_saving(input_tokens=10_000, cached_tokens=6_000, cache_write_tokens=3_000) == TURN_SAVED
    # a first turn only writes: caching cost more than it saved (so far)
    assert price.cache_saving(input_tokens=4_000, cached_tokens=0, cache_write_tokens=4_000) == Decimal("-0.003")


def test_a_price_without_cache_rates_bills_cached_tokens_as_input() -> None:
    price = seeded_price("openai", "gpt-4o")
    assert price is not None and price.cache_write is None
    assert price.cost(input_tokens=1_000, output_tokens=0, cache_write_tokens=1_000) == price.cost(
        input_tokens=1_000, output_tokens=0)


def test_the_recorder_stores_cache_writes_the_cost_and_the_saving() -> None:
    ctx = RequestContext(protocol="anthropic", path="/v1/messages", session_id="agent", backend="anthropic",
                         model="claude-sonnet-4-5", usage=TURN)
    Recorder(maxsize=10, batch_size=10, flush_interval=60).write_batch([Pending(ctx)])
    row = UsageRecord.objects.get()
    assert (row.cached_tokens, row.cache_write_tokens) == (6_000, 3_000)
    assert (row.cost_usd, row.cache_saved_usd) == (TURN_COST, TURN_SAVED)


def record(session: str, model: str, *, input_tokens: int, cached: int, written: int, saved: str | None,
           hours_ago: float = 30) -> None:
    UsageRecord.objects.create(
        created_at=NOW - timedelta(hours=hours_ago), session_id=session, protocol="anthropic", path="/v1/messages",
        backend="anthropic", model=model, input_tokens=input_tokens, output_tokens=10, cached_tokens=cached,
        cache_write_tokens=written, cost_usd=None if saved is None else Decimal("0.01"),
        cache_saved_usd=None if saved is None else Decimal(saved))


def seed() -> None:
    record("s1", "claude-sonnet-4-5", input_tokens=4_000, cached=0, written=4_000, saved="-0.003")
    record("s1", "claude-sonnet-4-5", input_tokens=10_000, cached=6_000, written=3_000, saved="0.01395")
    record("s2", "claude-haiku-4-5", input_tokens=2_000, cached=1_000, written=0, saved="0.0009", hours_ago=2)
    record("s2", "unpriced", input_tokens=1_000, cached=500, written=0, saved=None, hours_ago=1)


def breakdown(group_by: str) -> dict[str, dict[str, object]]:
    f = stats.StatsFilter(since=NOW - timedelta(days=3), until=NOW, group_by=group_by)
    return {row["key"]: row for row in stats.usage_stats(f)["breakdown"]}


def test_stats_show_the_cache_hit_ratio_and_the_saving_per_model() -> None:
    seed()
    by_model = breakdown("model")
    sonnet = by_model["claude-sonnet-4-5"]
    assert (sonnet["cached_tokens"], sonnet["cache_write_tokens"]) == (6_000, 7_000)
    assert sonnet["cache_hit_ratio"] == round(6_000 / 14_000, 4)
    assert sonnet["cache_saved_usd"] == pytest.approx(0.01095)
    assert by_model["unpriced"]["cache_saved_usd"] is None and by_model["unpriced"]["cache_hit_ratio"] == 0.5


def test_stats_from_rollups_keep_the_cache_figures() -> None:
    seed()
    raw = breakdown("model")
    stats.usage_rollup(now=NOW)
    assert RollupState.objects.get().rolled_until is not None
    assert breakdown("model") == raw


def test_stats_per_session_read_raw_records_even_when_rolled_up() -> None:
    seed()
    stats.usage_rollup(now=NOW)
    by_session = breakdown("session")
    assert set(by_session) == {"s1", "s2"}
    assert by_session["s1"]["cache_saved_usd"] == pytest.approx(0.01095)
    assert by_session["s2"]["cache_hit_ratio"] == 0.5 and by_session["s2"]["cache_saved_usd"] == pytest.approx(0.0009)


def test_usage_stats_per_session_show_a_cache_hit_through_the_proxy(usage_proxy: Proxy) -> None:
    """An Anthropic backend's cache read, end to end: recorded, priced and shown by ``/usage/stats``."""
    body = {"model": "anthropic:claude-sonnet-4-5", "max_tokens": 50,
            "messages": [{"role": "user", "content": "[[cached]] the same long prefix again"}]}
    answer = httpx.post(f"{usage_proxy.url}/v1/messages", json=body, timeout=20,
                        headers={"x-api-key": usage_proxy.key, "X-Session-ID": "warm"})
    assert answer.status_code == 200, answer.text
    recorder.flush(10)
    row = UsageRecord.objects.get(session_id="warm")
    assert row.cached_tokens == 3 and row.cache_saved_usd is not None and row.cache_saved_usd > 0
    by_session = {r["key"]: r for r in operator_get(usage_proxy, "/usage/stats", group_by="session",
                                                     days=1).json()["data"]["breakdown"]}
    warm = by_session["warm"]
    assert warm["cache_hit_ratio"] == round(3 / row.input_tokens, 4)
    assert warm["cache_saved_usd"] == pytest.approx(float(row.cache_saved_usd))
