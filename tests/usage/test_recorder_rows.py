"""The writer's fast path (rows built by hand, multi-row INSERT on the driver's cursor) stores
exactly what the ORM stores, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from proxy_app.core.canonical import Usage
from proxy_app.core.context import AttemptRecord, RequestContext
from usage_app.models import UsageRecord
from usage_app.recorder import Pending, Recorder, _multi_row_sql, statement_sizes

pytestmark = pytest.mark.django_db


def finished_context(**overrides: object) -> RequestContext:
    ctx = RequestContext(
        protocol="openai_chat", path="/v1/chat/completions", principal_name="team-a", principal_key_id=7,
        project="söme-project", user="ü", session_id="s1", requested_model="gpt-4o", backend="openai",
        model="gpt-4o", key_hint="sk-...abcd", stream=True, status=429, error_type="rate_limit_error",
        error_message="slow down — «quota» \"exceeded\"", usage=Usage(1200, 345, 1000, 12),
        usage_estimated=True, loop_halts=1, redactions=2, client_disconnected=True,
    )
    ctx.attempts = [
        AttemptRecord("openai", "gpt-4o", "sk-...abcd", "HTTP 429: {\"error\": \"ü\"}", 429, 12.3456),
        AttemptRecord("anthropic", "claude", "sk-...wxyz", "ok", 200, 0.5),
    ]
    ctx.first_token_at = ctx.started + 0.0123456
    ctx.finished_at = ctx.started + 0.5
    for name, value in overrides.items():
        setattr(ctx, name, value)
    return ctx


def stored(record_id: int) -> dict[str, object]:
    row = model_to_dict(UsageRecord.objects.get(pk=record_id))
    row.pop("id")
    return row


def test_fast_rows_equal_orm_rows() -> None:
    recorder = Recorder(maxsize=10, batch_size=10, flush_interval=60)
    contexts = [finished_context(), finished_context(first_token_at=None, attempts=[], status=200, error_type="",
                                                     error_message="", backend="", model="")]
    recorder.write_batch([Pending(ctx) for ctx in contexts])  # the fast path: no captured bodies
    fast = list(UsageRecord.objects.order_by("id").values_list("id", flat=True))
    recorder.write_batch([Pending(ctx, capture=("prompt", "answer")) for ctx in contexts])  # the ORM path
    orm = list(UsageRecord.objects.order_by("id").values_list("id", flat=True))[len(fast):]

    assert len(fast) == len(orm) == 2
    for fast_id, orm_id in zip(fast, orm, strict=True):
        assert stored(fast_id) == stored(orm_id)
    priced = UsageRecord.objects.get(pk=fast[0])
    assert priced.cost_usd is not None and priced.cost_usd > Decimal(0)
    assert priced.attempt_log[0]["outcome"] == "HTTP 429: {\"error\": \"ü\"}"
    assert abs(priced.created_at.timestamp() - contexts[0].started_wall) < 1e-3
    assert UsageRecord.objects.get(pk=fast[1]).cost_usd is None  # no model: unknown price, not zero


def test_a_record_that_cannot_be_built_is_dropped_not_retried_forever(caplog: pytest.LogCaptureFixture) -> None:
    broken = finished_context()
    broken.usage = None  # type: ignore[assignment]  # a bug somewhere upstream of the recorder
    recorder = Recorder(maxsize=10, batch_size=10, flush_interval=60)
    started = time.monotonic()
    recorder.write_batch([Pending(finished_context()), Pending(broken), Pending(finished_context())])
    assert time.monotonic() - started < 5
    assert UsageRecord.objects.count() == 2
    assert "could not be built" in caplog.text


@pytest.mark.parametrize(("n_rows", "largest", "sizes"), [
    (0, 256, []),
    (1, 256, [1]),
    (7, 256, [4, 2, 1]),
    (256, 256, [256]),
    (500, 256, [256, 128, 64, 32, 16, 4]),
    (1000, 300, [256, 256, 256, 128, 64, 32, 8]),
    (5, 1, [1, 1, 1, 1, 1]),
])
def test_statement_sizes_are_powers_of_two_that_add_up(n_rows: int, largest: int, sizes: list[int]) -> None:
    assert statement_sizes(n_rows, largest) == sizes


def test_batches_of_every_size_compile_a_bounded_set_of_statements() -> None:
    """The driver keeps every distinct statement text compiled (~6 KB a row on SQLite): batch sizes
    must not each get their own, or a busy writer's memory keeps growing."""
    recorder = Recorder(maxsize=1000, batch_size=1000, flush_interval=60)
    _multi_row_sql.cache_clear()
    for n in range(1, 301):
        recorder.write_batch([Pending(finished_context()) for _ in range(n)])
    statements = _multi_row_sql.cache_info().misses  # one miss per distinct statement text
    assert UsageRecord.objects.count() == 300 * 301 // 2
    assert statements <= 9, f"{statements} distinct INSERT statements for batch sizes 1..300"


def test_fast_rows_hold_only_values_the_driver_binds_without_adapting() -> None:
    """On SQLite a bool is bound only after the sqlite3 module has tried its adapters (raising two
    AttributeErrors per value): the rows carry 0/1 instead, stored the same (see the test above)."""
    from django.db import connection

    from usage_app.recorder import _row_format

    item = Pending(finished_context())
    item.prepare(_row_format(), {})
    assert item.row  # prepared
    if connection.vendor == "sqlite":
        assert not any(isinstance(value, bool) for value in item.row)
        assert {type(value) for value in item.row} <= {int, float, str, Decimal, type(None)}
