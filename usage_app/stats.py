"""Aggregation of usage: rollup services and the stats selector behind ``/usage/stats``.

Raw records are aggregated in SQL (sums plus a latency histogram of conditional counts);
rollups store the same sums and histogram, so closed periods are read from a few rollup rows
and only the open period (and unaligned edges) from raw records.
"""

from __future__ import annotations

import functools
import logging
import operator
import os
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, CharField, Count, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDay, TruncHour
from django.utils import timezone

from usage_app.models import CapturedExchange, RollupState, UsageRecord, UsageRollup

# Upper bounds (ms) of the latency histogram; one more bucket holds everything slower.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    10, 25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500,
    10000, 15000, 20000, 30000, 60000, 120000, 300000,
)
# ``session`` is not a rollup dimension (sessions are many): grouping by it reads raw records.
GROUP_BY_CHOICES = ("project", "backend", "model", "session", "day", "hour")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
logger = logging.getLogger("llmproxy.usage.stats")
# Re-roll this much before the previous watermark so records written late still land in their hour.
ROLLUP_LOOKBACK = timedelta(hours=1)
ROLLUP_LEASE = timedelta(minutes=30)  # longer than any rollup; a crashed one's lease lapses after it
UNPRICED = Q(cost_usd__isnull=True) & (Q(input_tokens__gt=0) | Q(output_tokens__gt=0))

# What the backend dimension says of a request no backend served: a command the proxy answered
# itself, or a request refused before a backend was chosen (bad key, bad body, unknown model).
# Rollup rows store these labels as their backend; raw records keep an empty backend.
ANSWERED_BY_PROXY = "answered by the proxy"
FAILED_BEFORE_ROUTING = "failed before routing"
NO_BACKEND = {ANSWERED_BY_PROXY: Q(backend="", answered_by_proxy=True),
              FAILED_BEFORE_ROUTING: Q(backend="", answered_by_proxy=False)}
BACKEND_DIMENSION = Case(
    *(When(condition, then=Value(label)) for label, condition in NO_BACKEND.items()),
    default=F("backend"), output_field=CharField(),
)

# Prefixed names: an aggregate named like the field it sums confuses the GROUP BY.
RAW_AGGREGATES: dict[str, Any] = {
    "a_requests": Count("id"),
    "a_errors": Count("id", filter=Q(status__gte=400)),
    "a_input_tokens": Sum("input_tokens"),
    "a_output_tokens": Sum("output_tokens"),
    "a_cached_tokens": Sum("cached_tokens"),
    "a_cache_write_tokens": Sum("cache_write_tokens"),
    "a_reasoning_tokens": Sum("reasoning_tokens"),
    "a_cost_usd": Sum("cost_usd"),
    "a_cache_saved_usd": Sum("cache_saved_usd"),
    "a_unpriced_requests": Count("id", filter=UNPRICED),
    "a_latency_sum_ms": Sum("latency_ms"),
    **{f"a_le_{i}": Count("id", filter=Q(latency_ms__lte=bound)) for i, bound in enumerate(LATENCY_BOUNDS_MS)},
}
SUM_FIELDS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens",
              "reasoning_tokens", "unpriced_requests")
# The same sums over rollup rows; histogram buckets are summed element-wise in SQL (portable JSON
# array access), so a stats query returns one row per group rather than every rollup row.
ROLLUP_AGGREGATES: dict[str, Any] = {
    **{f"a_{name}": Sum(name) for name in (*SUM_FIELDS, "cost_usd", "cache_saved_usd", "latency_sum_ms")},
    **{f"a_h_{i}": Sum(Cast(KeyTextTransform(str(i), "latency_hist"), BigIntegerField()))
       for i in range(len(LATENCY_BOUNDS_MS) + 1)},
}


def floor_hour(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_hour(dt: datetime) -> datetime:
    floored = floor_hour(dt)
    return floored if floored == dt else floored + HOUR


def ceil_day(dt: datetime) -> datetime:
    floored = floor_day(dt)
    return floored if floored == dt else floored + DAY


def percentile(hist: list[int], q: float) -> float | None:
    """The q-quantile of a latency histogram, interpolated linearly inside its bucket."""
    total = sum(hist)
    if not total:
        return None
    target, seen = q * total, 0
    for i, count in enumerate(hist):
        if count and seen + count >= target:
            low = LATENCY_BOUNDS_MS[i - 1] if i > 0 else 0.0
            high = LATENCY_BOUNDS_MS[i] if i < len(LATENCY_BOUNDS_MS) else LATENCY_BOUNDS_MS[-1]
            return round(low + (high - low) * (target - seen) / count, 1)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


@dataclass
class Agg:
    """Sums for one group of requests."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    unpriced_requests: int = 0
    cost_usd: Decimal | None = None
    cache_saved_usd: Decimal | None = None
    latency_sum_ms: float = 0.0
    hist: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def add(self, *, cost_usd: Decimal | None, cache_saved_usd: Decimal | None, latency_sum_ms: float | None,
            hist: Iterable[int], **sums: int) -> None:
        for name in SUM_FIELDS:
            setattr(self, name, getattr(self, name) + (sums.get(name) or 0))
        if cost_usd is not None:
            self.cost_usd = cost_usd if self.cost_usd is None else self.cost_usd + cost_usd
        if cache_saved_usd is not None:
            self.cache_saved_usd = cache_saved_usd if self.cache_saved_usd is None else self.cache_saved_usd + cache_saved_usd
        self.latency_sum_ms += latency_sum_ms or 0.0
        own = self.hist
        for i, count in enumerate(hist):
            own[i] += count

    def merge(self, other: Agg) -> None:
        self.add(cost_usd=other.cost_usd, cache_saved_usd=other.cache_saved_usd, latency_sum_ms=other.latency_sum_ms,
                 hist=other.hist,
                 **{name: getattr(other, name) for name in SUM_FIELDS})

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_hit_ratio": round(self.cached_tokens / self.input_tokens, 4) if self.input_tokens else None,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "cost_usd": None if self.cost_usd is None else float(round(self.cost_usd, 8)),
            "cache_saved_usd": None if self.cache_saved_usd is None else float(round(self.cache_saved_usd, 8)),
            "unpriced_requests": self.unpriced_requests,
            "latency_avg_ms": round(self.latency_sum_ms / self.requests, 1) if self.requests else None,
            "latency_p50_ms": percentile(self.hist, 0.50),
            "latency_p95_ms": percentile(self.hist, 0.95),
        }


def _hist_from_cumulative(row: dict[str, Any]) -> list[int]:
    cumulative = [int(row[f"a_le_{i}"] or 0) for i in range(len(LATENCY_BOUNDS_MS))]
    hist, previous = [], 0
    for value in cumulative:
        hist.append(value - previous)
        previous = value
    hist.append(int(row["a_requests"]) - previous)
    return hist


def _rollup_hist(row: dict[str, Any]) -> list[int]:
    return [int(row[f"a_h_{i}"] or 0) for i in range(len(LATENCY_BOUNDS_MS) + 1)]


def _group(qs: QuerySet[Any], columns: list[str], aggregates: dict[str, Any],
           hist: Callable[[dict[str, Any]], list[int]]) -> dict[tuple[Any, ...], Agg]:
    """One SQL query: ``aggregates`` grouped by ``columns`` (or over everything), as Aggs by group key."""
    rows = qs.values(*columns).annotate(**aggregates) if columns else [qs.aggregate(**aggregates)]
    out: dict[tuple[Any, ...], Agg] = {}
    for row in rows:
        if not row["a_requests"]:
            continue
        agg = Agg()
        agg.add(cost_usd=row["a_cost_usd"], cache_saved_usd=row["a_cache_saved_usd"],
                latency_sum_ms=row["a_latency_sum_ms"], hist=hist(row),
                **{name: row[f"a_{name}"] for name in SUM_FIELDS})
        out[tuple(row[c] for c in columns)] = agg
    return out


def aggregate_records(qs: QuerySet[UsageRecord], dims: dict[str, Any]) -> dict[tuple[Any, ...], Agg]:
    """SQL GROUP BY ``dims`` (name -> field name or expression) over raw records."""
    annotations = {f"g_{name}": expr for name, expr in dims.items() if not isinstance(expr, str)}
    columns = [expr if isinstance(expr, str) else f"g_{name}" for name, expr in dims.items()]
    grouped = qs.order_by().annotate(**annotations) if annotations else qs.order_by()
    return _group(grouped, columns, RAW_AGGREGATES, _hist_from_cumulative)


def aggregate_rollups(qs: QuerySet[UsageRollup], columns: Iterable[str]) -> dict[tuple[Any, ...], Agg]:
    """SQL GROUP BY ``columns`` over rollup rows, histograms included."""
    return _group(qs.order_by(), list(columns), ROLLUP_AGGREGATES, _rollup_hist)


# ---------------------------------------------------------------- rollups (services)

ROLLUP_DIMS: dict[str, Any] = {
    "period_start": TruncHour("created_at", tzinfo=UTC),
    "proxy_key_id": "proxy_key_id",
    "project": "project",
    "backend": BACKEND_DIMENSION,
    "model": "model",
}
ROLLUP_FIELDS = ("proxy_key_id", "project", "backend", "model")
_rollup_lock = threading.Lock()


@dataclass
class RollupResult:
    hours: int = 0
    days: int = 0
    rows: int = 0
    rolled_until: datetime | None = None
    busy: bool = False  # another rollup held the lease: this one did nothing


def _rollup_row(period: str, key: tuple[Any, ...], agg: Agg) -> UsageRollup:
    period_start, key_id, project, backend, model = key
    return UsageRollup(
        period=period, period_start=period_start, proxy_key_id=key_id or 0, project=project or "",
        backend=backend or "", model=model or "", requests=agg.requests, errors=agg.errors,
        input_tokens=agg.input_tokens, output_tokens=agg.output_tokens, cached_tokens=agg.cached_tokens,
        cache_write_tokens=agg.cache_write_tokens, reasoning_tokens=agg.reasoning_tokens, cost_usd=agg.cost_usd,
        cache_saved_usd=agg.cache_saved_usd, unpriced_requests=agg.unpriced_requests,
        latency_sum_ms=agg.latency_sum_ms, latency_p50_ms=percentile(agg.hist, 0.5),
        latency_p95_ms=percentile(agg.hist, 0.95), latency_hist=agg.hist,
    )


def _rollup_hours(start: datetime, end: datetime) -> int:
    """Recompute the hourly rollups of [start, end) from raw records (inside the caller's transaction)."""
    groups = aggregate_records(UsageRecord.objects.filter(created_at__gte=start, created_at__lt=end), ROLLUP_DIMS)
    rows = [_rollup_row(UsageRollup.HOUR, (floor_hour(k[0]), *k[1:]), agg) for k, agg in groups.items()]
    UsageRollup.objects.filter(period=UsageRollup.HOUR, period_start__gte=start, period_start__lt=end).delete()
    UsageRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _rollup_day(day: datetime) -> int:
    """Recompute the daily rollups of ``day`` from its hourly rollups (inside the caller's transaction)."""
    hourly = UsageRollup.objects.filter(period=UsageRollup.HOUR, period_start__gte=day, period_start__lt=day + DAY)
    rows = [_rollup_row(UsageRollup.DAY, (day, *key), agg) for key, agg in aggregate_rollups(hourly, ROLLUP_FIELDS).items()]
    UsageRollup.objects.filter(period=UsageRollup.DAY, period_start=day).delete()
    UsageRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _lease_take(owner: str, now: datetime) -> bool:
    """Take the rollup lease unless another rollup holds it (one conditional UPDATE: atomic on every database)."""
    RollupState.objects.get_or_create(name="default")
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return bool(RollupState.objects.filter(free, name="default").update(lease_until=now + ROLLUP_LEASE, lease_owner=owner))


def _lease_release(owner: str) -> None:
    RollupState.objects.filter(name="default", lease_owner=owner).update(lease_until=None, lease_owner="")


def usage_rollup(*, now: datetime | None = None, full: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> RollupResult:
    """Roll closed hours into hourly and daily rollups; idempotent (the periods touched are recomputed).

    Touched periods: every hour since the previous watermark (minus a lookback), plus the hours
    of records inserted since the previous run that fall before it (a writer that was held up).
    ``progress(done, total)`` is called after each day (the ``rollup_usage`` command shows it).
    One rollup at a time over every process sharing the database (each proxy worker runs its own
    timer without a broker): the others find the lease taken and return ``busy``.
    """
    owner = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]
    with _rollup_lock:
        if not _lease_take(owner, timezone.now()):
            logger.info("usage rollup skipped: another process is rolling up")
            return RollupResult(busy=True)
        try:
            return _rollup(now=now, full=full, progress=progress)
        finally:
            _lease_release(owner)


def _rollup(*, now: datetime | None, full: bool, progress: Callable[[int, int], None] | None) -> RollupResult:
    state, _ = RollupState.objects.get_or_create(name="default")
    end = floor_hour(now or timezone.now())
    max_id = UsageRecord.objects.aggregate(m=Max("id"))["m"] or 0
    if full or state.rolled_until is None:
        first = UsageRecord.objects.filter(created_at__lt=end).aggregate(m=Min("created_at"))["m"]
        start = floor_hour(first) if first else end
    else:
        start = min(state.rolled_until - ROLLUP_LOOKBACK, end)
    ranges: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        chunk_end = min(floor_day(cursor) + DAY, end)
        ranges.append((cursor, chunk_end))
        cursor = chunk_end
    if not full and state.last_record_id:
        late = UsageRecord.objects.filter(id__gt=state.last_record_id, id__lte=max_id, created_at__lt=start)
        for hour in late.order_by().datetimes("created_at", "hour", tzinfo=UTC):
            ranges.append((hour, hour + HOUR))
    by_day: dict[datetime, list[tuple[datetime, datetime]]] = defaultdict(list)
    for range_start, range_end in ranges:
        by_day[floor_day(range_start)].append((range_start, range_end))
    result = RollupResult(days=len(by_day))
    for done, day in enumerate(sorted(by_day), start=1):
        # One transaction a day: a reader never sees a day's hourly rows newer than its daily row.
        with transaction.atomic():
            for range_start, range_end in by_day[day]:
                result.rows += _rollup_hours(range_start, range_end)
                result.hours += int((range_end - range_start) / HOUR)
            result.rows += _rollup_day(day)
        if progress is not None:
            progress(done, len(by_day))
    state.rolled_until = max(end, state.rolled_until) if state.rolled_until and not full else end
    state.last_record_id = max(max_id, state.last_record_id or 0)
    state.save(update_fields=["rolled_until", "last_record_id", "updated_at"])
    result.rolled_until = state.rolled_until
    return result


def usage_purge_raw(*, retention_days: int, now: datetime | None = None, chunk: int = 10_000) -> int:
    """Delete raw records older than the retention, but only those already rolled up."""
    state = RollupState.objects.filter(name="default").first()
    if state is None or state.rolled_until is None:
        return 0
    cutoff = min((now or timezone.now()) - timedelta(days=retention_days), state.rolled_until)
    deleted = 0
    while True:
        ids = list(UsageRecord.objects.filter(created_at__lt=cutoff).order_by().values_list("id", flat=True)[:chunk])
        if not ids:
            return deleted
        UsageRecord.objects.filter(id__in=ids).delete()
        deleted += len(ids)


def usage_purge_captures(*, retention_days: int, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=retention_days)
    deleted, _ = CapturedExchange.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# ---------------------------------------------------------------- stats (selector)


@dataclass
class StatsFilter:
    since: datetime
    until: datetime
    project: str | None = None
    backend: str | None = None
    model: str | None = None
    user: str | None = None
    key_id: int | None = None  # only this proxy key's records (non-admin callers)
    group_by: str | None = None


@dataclass
class Segments:
    raw: list[tuple[datetime, datetime]] = field(default_factory=list)
    hourly: list[tuple[datetime, datetime]] = field(default_factory=list)
    daily: list[tuple[datetime, datetime]] = field(default_factory=list)


def stats_segments(since: datetime, until: datetime, rolled_until: datetime | None, group_by: str | None) -> Segments:
    """Which parts of [since, until) come from daily rollups, hourly rollups and raw records."""
    seg = Segments()
    first_hour = ceil_hour(since)
    rolled_end = min(floor_hour(until), rolled_until) if rolled_until else since
    if rolled_until is None or first_hour >= rolled_end:
        seg.raw.append((since, until))
        return seg
    if since < first_hour:
        seg.raw.append((since, first_hour))
    if rolled_end < until:
        seg.raw.append((rolled_end, until))
    first_day, last_day = ceil_day(first_hour), floor_day(rolled_end)
    if group_by == "hour" or first_day >= last_day:
        seg.hourly.append((first_hour, rolled_end))
        return seg
    seg.daily.append((first_day, last_day))
    if first_hour < first_day:
        seg.hourly.append((first_hour, first_day))
    if last_day < rolled_end:
        seg.hourly.append((last_day, rolled_end))
    return seg


def _dimension_filters(f: StatsFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("project", "backend", "model"):
        value = getattr(f, name)
        if value is not None:
            out[name] = value
    return out


def _group_label(value: Any, group_by: str) -> str:
    if group_by == "day":
        return floor_day(value).date().isoformat()
    if group_by == "hour":
        return floor_hour(value).isoformat().replace("+00:00", "Z")
    return value or ""


RAW_GROUP_DIMS: dict[str, Any] = {
    "project": "project",
    "backend": BACKEND_DIMENSION,
    "model": "model",
    "session": "session_id",
    "day": TruncDay("created_at", tzinfo=UTC),
    "hour": TruncHour("created_at", tzinfo=UTC),
}


def _any_of(conditions: Iterable[Q]) -> Q:
    return functools.reduce(operator.or_, conditions)


def usage_stats(f: StatsFilter) -> dict[str, Any]:
    """Totals and an optional breakdown for the filter, reading rollups wherever they are complete."""
    state = RollupState.objects.filter(name="default").first()
    rolled_until = state.rolled_until if state else None
    if f.user is not None or f.group_by == "session":
        rolled_until = None  # neither user nor session is a rollup dimension
    seg = stats_segments(f.since, f.until, rolled_until, f.group_by)
    filters = _dimension_filters(f)
    groups: dict[str | None, Agg] = {}  # label -> sums; one None group when not grouping

    raw_filters: dict[str, Any] = dict(filters)
    raw_conditions = []
    if (label := filters.get("backend")) in NO_BACKEND:
        del raw_filters["backend"]
        raw_conditions.append(NO_BACKEND[label])
    if f.user is not None:
        raw_filters["user"] = f.user
    if f.key_id is not None:
        raw_filters["proxy_key_id"] = f.key_id
    raw_dims = {f.group_by: RAW_GROUP_DIMS[f.group_by]} if f.group_by else {}
    def collect(found: dict[tuple[Any, ...], Agg]) -> None:
        for key, agg in found.items():
            groups.setdefault(_group_label(key[0], f.group_by) if f.group_by else None, Agg()).merge(agg)

    # One query per table: segments are OR-ed ranges, since compiling the aggregates costs more than running them.
    if seg.raw:
        in_raw = _any_of(Q(created_at__gte=start, created_at__lt=end) for start, end in seg.raw)
        collect(aggregate_records(UsageRecord.objects.filter(in_raw, *raw_conditions, **raw_filters), raw_dims))

    rollup_filters = dict(filters)
    if f.key_id is not None:
        rollup_filters["proxy_key_id"] = f.key_id
    group_field = {"day": "period_start", "hour": "period_start"}.get(f.group_by or "", f.group_by)
    rolled = [(UsageRollup.HOUR, r) for r in seg.hourly] + [(UsageRollup.DAY, r) for r in seg.daily]
    if rolled:
        in_rolled = _any_of(Q(period=period, period_start__gte=start, period_start__lt=end)
                            for period, (start, end) in rolled)
        qs = UsageRollup.objects.filter(in_rolled, **rollup_filters)
        collect(aggregate_rollups(qs, [group_field] if group_field else []))
    totals = Agg()
    for agg in groups.values():
        totals.merge(agg)

    result: dict[str, Any] = {
        "since": f.since.isoformat().replace("+00:00", "Z"),
        "until": f.until.isoformat().replace("+00:00", "Z"),
        "filters": {k: v for k, v in {**filters, "user": f.user}.items() if v is not None},
        "group_by": f.group_by,
        "totals": totals.as_dict(),
        "sources": {
            "rolled_until": rolled_until.isoformat().replace("+00:00", "Z") if rolled_until else None,
            "raw": [[a.isoformat(), b.isoformat()] for a, b in seg.raw],
            "hourly": [[a.isoformat(), b.isoformat()] for a, b in seg.hourly],
            "daily": [[a.isoformat(), b.isoformat()] for a, b in seg.daily],
        },
    }
    if f.group_by:
        result["breakdown"] = [{"key": label, **groups[label].as_dict()} for label in sorted(groups)]  # type: ignore[type-var]
    return result
