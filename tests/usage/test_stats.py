"""Rollups and the stats selector: rollup-backed answers equal raw-only answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from usage_app import stats
from usage_app.models import RollupState, UsageRecord, UsageRollup

NOW = datetime(2025, 3, 10, 14, 37, tzinfo=UTC)


def seed_records(n: int = 600, days: int = 3, seed: int = 7) -> list[UsageRecord]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        created = NOW - timedelta(seconds=rng.randint(0, days * 86400))
        backend, model = rng.choice([("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openrouter", "x/unknown")])
        rows.append(UsageRecord(
            created_at=created, proxy_key_id=rng.choice([None, 1, 2]), project=rng.choice(["a", "b", ""]),
            user=rng.choice(["u1", "u2"]), protocol="openai_chat", path="/v1/chat/completions", backend=backend,
            model=model, status=rng.choice([200, 200, 200, 429, 500]), input_tokens=rng.randint(0, 500),
            output_tokens=rng.randint(0, 200), cached_tokens=rng.randint(0, 5),
            cost_usd=None if model == "x/unknown" else Decimal(rng.randint(1, 10_000)) / Decimal(10**6),
            latency_ms=rng.uniform(5, 5000),
        ))
    UsageRecord.objects.bulk_create(rows)
    return rows


def raw_only(f: stats.StatsFilter) -> dict:
    RollupState.objects.all().delete()
    return stats.usage_stats(f)


@pytest.mark.django_db
@pytest.mark.parametrize("group_by", [None, "project", "backend", "model", "day", "hour"])
def test_rollup_backed_stats_equal_raw_stats(group_by: str | None) -> None:
    seed_records()
    f = stats.StatsFilter(since=NOW - timedelta(days=2, minutes=13), until=NOW, group_by=group_by)
    expected = raw_only(f)
    stats.usage_rollup(now=NOW)
    got = stats.usage_stats(f)
    assert got["sources"]["hourly"] and (group_by == "hour" or got["sources"]["daily"])
    for key in ("totals", "breakdown"):
        assert got.get(key) == expected.get(key)


@pytest.mark.django_db
def test_stats_filter_by_key_project_and_model() -> None:
    rows = seed_records()
    stats.usage_rollup(now=NOW)
    f = stats.StatsFilter(since=NOW - timedelta(days=5), until=NOW, project="a", model="gpt-4o", key_id=1)
    got = stats.usage_stats(f)["totals"]
    mine = [r for r in rows if r.project == "a" and r.model == "gpt-4o" and r.proxy_key_id == 1]
    assert got["requests"] == len(mine)
    assert got["input_tokens"] == sum(r.input_tokens for r in mine)
    assert got["errors"] == sum(1 for r in mine if r.status >= 400)
    assert Decimal(str(got["cost_usd"])) == sum(r.cost_usd for r in mine)


@pytest.mark.django_db
def test_unpriced_requests_are_counted_and_cost_stays_null() -> None:
    UsageRecord.objects.create(created_at=NOW - timedelta(minutes=1), protocol="p", path="/", backend="x",
                               model="m", input_tokens=5, output_tokens=5, cost_usd=None, latency_ms=10)
    got = stats.usage_stats(stats.StatsFilter(since=NOW - timedelta(hours=1), until=NOW))["totals"]
    assert got["cost_usd"] is None and got["unpriced_requests"] == 1


@pytest.mark.django_db
def test_rollup_is_idempotent_and_picks_up_late_records() -> None:
    seed_records(n=200)
    stats.usage_rollup(now=NOW)
    first = list(UsageRollup.objects.order_by("period", "period_start", "proxy_key_id", "project", "model")
                 .values_list("requests", "input_tokens"))
    stats.usage_rollup(now=NOW)
    again = list(UsageRollup.objects.order_by("period", "period_start", "proxy_key_id", "project", "model")
                 .values_list("requests", "input_tokens"))
    assert first == again
    # A record written late into an hour rolled up long ago is found by its id.
    UsageRecord.objects.create(created_at=NOW - timedelta(days=2, hours=5), protocol="p", path="/", backend="openai",
                               model="gpt-4o", input_tokens=1000, latency_ms=10)
    stats.usage_rollup(now=NOW + timedelta(hours=1))
    total = sum(UsageRollup.objects.filter(period="hour").values_list("input_tokens", flat=True))
    assert total == sum(UsageRecord.objects.filter(created_at__lt=stats.floor_hour(NOW + timedelta(hours=1)))
                        .values_list("input_tokens", flat=True))
    daily = sum(UsageRollup.objects.filter(period="day").values_list("input_tokens", flat=True))
    assert daily == total


@pytest.mark.django_db(transaction=True)
def test_a_day_whose_daily_rollup_fails_keeps_no_new_hourly_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    seed_records(n=100, days=2)
    stats.usage_rollup(now=NOW - timedelta(days=1))
    before = sorted(UsageRollup.objects.values_list("period", "period_start", "requests"))
    watermark = RollupState.objects.get().rolled_until

    def broken_day(day: datetime) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(stats, "_rollup_day", broken_day)
    with pytest.raises(RuntimeError):
        stats.usage_rollup(now=NOW)
    assert sorted(UsageRollup.objects.values_list("period", "period_start", "requests")) == before
    assert RollupState.objects.get().rolled_until == watermark


@pytest.mark.django_db
def test_purge_keeps_records_not_rolled_up_yet() -> None:
    UsageRecord.objects.create(created_at=NOW - timedelta(days=100), protocol="p", path="/", latency_ms=1)
    assert stats.usage_purge_raw(retention_days=90, now=NOW) == 0  # never rolled up
    stats.usage_rollup(now=NOW)
    assert stats.usage_purge_raw(retention_days=90, now=NOW) == 1
    assert UsageRollup.objects.filter(period="day").count() == 1


def test_percentile_interpolates_inside_the_bucket() -> None:
    hist = [0] * (len(stats.LATENCY_BOUNDS_MS) + 1)
    hist[1] = 10  # all between 10 and 25 ms
    assert stats.percentile(hist, 0.5) == 17.5
    assert stats.percentile([0] * len(hist), 0.5) is None


@pytest.mark.parametrize(
    ("since", "until", "rolled", "raw", "hourly", "daily"),
    [
        # nothing rolled up: all raw
        ("2025-03-01T10:30", "2025-03-05T12:10", None, 1, 0, 0),
        # partial first hour raw, hours to midnight, full days, hours of the last day, open hour raw
        ("2025-03-01T10:30", "2025-03-05T12:10", "2025-03-05T12:00", 2, 2, 1),
    ],
)
def test_segments(since: str, until: str, rolled: str | None, raw: int, hourly: int, daily: int) -> None:
    def dt(s: str) -> datetime:
        return datetime.fromisoformat(s).replace(tzinfo=UTC)

    seg = stats.stats_segments(dt(since), dt(until), dt(rolled) if rolled else None, None)
    assert (len(seg.raw), len(seg.hourly), len(seg.daily)) == (raw, hourly, daily)
    covered = sorted(seg.raw + seg.hourly + seg.daily)
    assert covered[0][0] == dt(since) and covered[-1][1] == dt(until)
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))


@pytest.mark.django_db
def test_one_rollup_at_a_time_over_every_process_sharing_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    seed_records(n=50)
    later = datetime.now(UTC) + timedelta(minutes=5)
    RollupState.objects.create(name="default", lease_until=later, lease_owner="other-host:4242:1")
    assert stats.usage_rollup(now=NOW).busy and not UsageRollup.objects.exists()  # the other one is at it
    RollupState.objects.filter(name="default").update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    seen: list[bool] = []
    real = stats._rollup

    def rolling(**kwargs: object) -> stats.RollupResult:
        seen.append(stats._lease_take("other-host:4242:1", datetime.now(UTC)))  # a second process tries now
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stats, "_rollup", rolling)
    result = stats.usage_rollup(now=NOW)  # the other's lease lapsed (it crashed): this one takes over
    assert not result.busy and result.rows > 0 and seen == [False]
    state = RollupState.objects.get(name="default")
    assert state.lease_until is None and state.lease_owner == ""  # released
