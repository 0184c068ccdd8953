"""The usage recorder: request observer -> bounded in-process queue -> background batch writer.

The observer runs on the event loop and only appends the finished request to the queue, without
blocking. A daemon thread drains the queue in batches: it builds and prices the rows (see ``Pending``
for why there) and writes them with multi-row INSERTs; when the database fails the batch is kept and
retried with backoff, and requests go on being served meanwhile; the outage is logged once when it
starts and once when the buffered records are written (not per request, not per retry). A full
queue never blocks a request: the record is counted as overflow and logged. ``flush()`` drains
synchronously and runs at interpreter exit.
"""

from __future__ import annotations

import atexit
import functools
import logging
import operator
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from django.conf import settings
from django.db import connection, connections, models, transaction
from django.utils import timezone

from proxy_app.core.context import RequestContext, on_request_finished
from proxy_app.core.outage import Outage
from usage_app import metrics, scheduler
from usage_app.models import CapturedExchange, UsageRecord
from usage_app.pricing import Price, price_for

logger = logging.getLogger("llmproxy.usage.recorder")

ERROR_MESSAGE_MAX = 500
# The longest wait between two tries while the database is down: how late, at most, the buffered
# records are written once it is back.
MAX_BACKOFF_SECONDS = 10.0


class Pending:
    """A finished request waiting for the writer, with its captured bodies (when capture is on).

    The event loop only queues the request's context: its row (field values, price, driver-ready
    values) is built by the writer, a batch at a time. Built per request on the event loop, the
    same work measured ~3x its in-batch cost (cold caches), and it is the loop's throughput that
    counts. A model instance is built only for rows whose new id is needed (captured bodies
    point at their record)."""

    __slots__ = ("ctx", "capture", "values", "row")

    def __init__(self, ctx: RequestContext, capture: tuple[Any, Any] | None = None) -> None:
        self.ctx: RequestContext | None = ctx  # None once prepared
        self.capture = capture
        self.values: dict[str, Any] = {}
        self.row: list[Any] = []

    def prepare(self, fmt: RowFormat, prices: dict[tuple[str, str], Price | None]) -> None:
        """Build the row, priced (``prices`` caches look-ups across a batch). Done once: a batch
        that failed to write keeps its rows for the retry."""
        if self.ctx is None:
            return
        values = usage_values_from_context(self.ctx)
        key = (values["backend"], values["model"])
        if all(key):
            if key not in prices:
                prices[key] = price_for(*key)
            price = prices[key]
            if price is not None:
                values["cost_usd"] = price.cost(
                    input_tokens=values["input_tokens"],
                    output_tokens=values["output_tokens"],
                    cached_tokens=values["cached_tokens"],
                    reasoning_tokens=values["reasoning_tokens"],
                    cache_write_tokens=values["cache_write_tokens"],
                )
                values["cache_saved_usd"] = price.cache_saving(
                    input_tokens=values["input_tokens"], cached_tokens=values["cached_tokens"],
                    cache_write_tokens=values["cache_write_tokens"],
                )
        self.values, self.row = values, fmt.row(values)
        self.ctx = None  # the request's objects need not live until the batch is written

    def record(self) -> UsageRecord:
        return UsageRecord(**self.values)


_ROW_FIELDS = [f for f in UsageRecord._meta.concrete_fields if not f.primary_key]
# Fields whose Python value is already what the database driver takes (no conversion needed).
# Decimals are passed as they are: costs come quantized from pricing, and both drivers adapt them.
_PLAIN_FIELDS = (models.IntegerField, models.CharField, models.TextField, models.BooleanField, models.FloatField,
                 models.DecimalField)


class RowFormat:
    """Usage rows as the database driver takes them: the cheapest correct Python -> driver conversion
    per field, and multi-row INSERTs. The same rows ``bulk_create`` writes, without building model
    instances, compiling SQL per field and row, or running each field's full save conversion.
    Used when no row needs its new id back.

    Measured against ``bulk_create`` of the same rows (``bench/usage_writer.py``: writer-thread CPU per
    record for batches of 1 / 10 / 100, medians of 9 interleaved rounds, 2026-12-06): SQLite 128 / 70 /
    30 µs against 508 / 223 / 174 µs (3.9× / 3.2× / 5.9×); PostgreSQL, the client's side only, 325 / 174 /
    164 µs against 725 / 302 / 173 µs (2.4× / 1.8× / 1.2×, ``bulk_create`` slower in every round)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        conn = connections[alias]
        quote = conn.ops.quote_name
        self._head = "INSERT INTO {} ({}) VALUES ".format(
            quote(UsageRecord._meta.db_table),
            ", ".join(quote(cast(str, f.column)) for f in _ROW_FIELDS),  # a concrete field always has a column
        )
        placeholder = "?" if conn.vendor == "sqlite" else "%s"  # the driver's own style (see insert)
        self._values_tuple = "(" + ", ".join([placeholder] * len(_ROW_FIELDS)) + ")"
        self._pick = operator.itemgetter(*(f.attname for f in _ROW_FIELDS))
        self._converters = [(i, convert) for i, f in enumerate(_ROW_FIELDS)
                            if (convert := self._converter(f, conn)) is not None]

    @staticmethod
    def _converter(field: models.Field, conn: Any) -> Callable[[Any], Any] | None:
        if isinstance(field, models.JSONField) and field.encoder is None:
            # orjson instead of the stdlib encoder Django uses (~10x faster; same JSON, compact).
            if conn.vendor == "sqlite":
                return _json_text
            if conn.vendor == "postgresql":
                from django.db.backends.postgresql.psycopg_any import Jsonb

                return lambda value: Jsonb(value, dumps=_json_text)
        if isinstance(field, models.JSONField):
            return lambda value: conn.ops.adapt_json_value(value, field.encoder)
        if isinstance(field, models.DateTimeField):
            if conn.features.supports_timezones or not settings.USE_TZ:
                return conn.ops.adapt_datetimefield_value
            # What Django's adapter does for a database without time zones (SQLite), with the
            # connection's zone looked up once instead of two settings look-ups per value.
            tz = conn.timezone
            return lambda value: None if value is None else str(timezone.make_naive(value, tz))
        if isinstance(field, models.BooleanField) and conn.vendor == "sqlite":
            # sqlite3 binds an exact int as it is, but a bool (an int subclass) only after asking its
            # adapter registry, then the value itself (__adapt__, __conform__): two AttributeErrors
            # raised and formatted per value, four boolean columns per row. Stored the same: 0 or 1.
            # Measured: writer CPU 25.7 -> 20.5 µs per record (10,000 records, in isolation).
            return int
        if isinstance(field, _PLAIN_FIELDS):
            return None
        return lambda value: field.get_db_prep_save(value, conn)

    def row(self, values: dict[str, Any]) -> list[Any]:
        row = list(self._pick(values))
        for i, convert in self._converters:
            row[i] = convert(row[i])
        return row

    def insert(self, rows: list[list[Any]]) -> None:
        """Multi-row INSERTs, as few as the driver's parameter limit allows. Not ``executemany``:
        SQLite releases and re-takes the GIL around every row it steps, and with the event loop busy
        each re-take waits its turn (measured under load: ~10x the idle cost per row, most of it
        in that wait, and extra CPU in both threads from the hand-offs).

        The statements go to the driver's cursor, in the driver's placeholder style, not through
        Django's cursor wrapper: on SQLite that wrapper rewrites each ``%s`` with a regex, which on
        these long statements was a third of the insert's CPU. (They still run in the caller's
        ``transaction.atomic``: same connection.)"""
        conn = connections[self.alias]
        largest = min(MAX_ROWS_PER_STATEMENT, max(1, self._max_params(conn) // len(_ROW_FIELDS)))
        conn.ensure_connection()
        cursor = conn.connection.cursor()  # sqlite3's cursor is no context manager
        try:
            start = 0
            for size in statement_sizes(len(rows), largest):
                chunk = rows[start : start + size]
                start += size
                cursor.execute(self._sql(size), [value for row in chunk for value in row])
        finally:
            cursor.close()

    def _sql(self, n_rows: int) -> str:
        return _multi_row_sql(self._head, self._values_tuple, n_rows)

    @staticmethod
    def _max_params(conn: Any) -> int:
        if conn.vendor == "sqlite":  # the library's real limit (32766 by default), not Django's conservative 999
            conn.ensure_connection()
            return int(conn.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return int(conn.features.max_query_params or 65535)  # PostgreSQL's protocol limit


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# Every distinct statement text stays compiled in the driver's statement cache (sqlite3 keeps 128,
# psycopg prepares the frequent ones on the server), and a compiled multi-row INSERT is big: ~6 KB
# per row on SQLite. With one statement per batch size seen, a busy writer's RSS kept growing
# (~5 MB per 100,000 requests in the benchmark's soak, tens of MB at worst). Batches are therefore
# cut into sizes drawn from a fixed set, powers of two up to 256 rows: nine statements at most.
MAX_ROWS_PER_STATEMENT = 256


def statement_sizes(n_rows: int, largest: int) -> list[int]:
    """Cut ``n_rows`` into statement sizes that are powers of two no larger than ``largest``, biggest first."""
    top = 1 << (largest.bit_length() - 1)  # the largest power of two <= largest
    sizes = [top] * (n_rows // top)
    rest = n_rows % top
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


@functools.lru_cache(maxsize=16)  # one entry per statement size (at most nine)
def _multi_row_sql(head: str, values_tuple: str, n_rows: int) -> str:
    return head + ", ".join([values_tuple] * n_rows)


_row_formats: dict[str, RowFormat] = {}


def _row_format() -> RowFormat:
    alias = UsageRecord.objects.db
    fmt = _row_formats.get(alias)
    if fmt is None:
        fmt = _row_formats[alias] = RowFormat(alias)
    return fmt


def usage_values_from_context(ctx: RequestContext) -> dict[str, Any]:
    """The usage row for ``ctx`` as field values (by attribute name), not yet priced."""
    # Usage the upstream did not report was already estimated (and flagged) by the pipeline.
    usage = ctx.usage
    ttft = ctx.ttft_ms
    return dict(
        created_at=datetime.fromtimestamp(ctx.started_wall, tz=UTC),
        proxy_key_id=ctx.principal_key_id,
        owner=ctx.principal_name[:120],
        project=ctx.project[:100],
        user=ctx.user[:200],
        session_id=ctx.session_id[:200],
        protocol=ctx.protocol[:30],
        path=ctx.path[:300],
        requested_model=ctx.requested_model[:200],
        backend=ctx.backend[:50],
        model=ctx.model[:200],
        attempts=len(ctx.attempts),
        attempt_log=[
            {
                "backend": a.backend,
                "model": a.model,
                "key_hint": a.key_hint,
                "outcome": a.outcome[:200],
                "status": a.status,
                "latency_ms": round(a.latency_ms, 2),
            }
            for a in ctx.attempts
        ],
        key_hint=ctx.key_hint[:20],
        byok=ctx.byok,
        affinity=str(ctx.extra.get("affinity", ""))[:20],
        status=ctx.status,
        error_type=ctx.error_type[:60],
        error_message=ctx.error_message[:ERROR_MESSAGE_MAX],
        stream=ctx.stream,
        input_tokens=max(usage.input_tokens, 0),
        output_tokens=max(usage.output_tokens, 0),
        cached_tokens=max(usage.cached_tokens, 0),
        cache_write_tokens=max(usage.cache_creation_tokens, 0),
        reasoning_tokens=max(usage.reasoning_tokens, 0),
        tokens_estimated=ctx.usage_estimated,
        latency_ms=round(ctx.latency_ms, 3),
        ttft_ms=None if ttft is None else round(ttft, 3),
        loop_halts=ctx.loop_halts,
        loop_halt_kind=ctx.loop_halt_kind[:20],
        redactions=ctx.redactions,
        compacted_tokens=ctx.compacted_tokens,
        answered_by_proxy=ctx.answered_by_proxy,
        client_disconnected=ctx.client_disconnected,
        cost_usd=None,  # priced by Pending.prepare
        cache_saved_usd=None,
    )


class Recorder:
    """One bounded queue and one writer thread per process.

    The queue is a deque under the recorder's lock rather than ``queue.Queue``: the writer waits on
    an event, not on the queue, so ``Queue``'s condition variables were pure cost on every request."""

    def __init__(self, *, maxsize: int, batch_size: int, flush_interval: float) -> None:
        self.maxsize = maxsize
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.overflow = 0
        self.written = 0
        self.db_failures = 0
        self.outage = Outage("usage database", logger)
        self._queue: deque[Pending] = deque()
        self._unwritten = 0  # queued + in the writer's hands
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- request path

    def submit(self, item: Pending) -> bool:
        """Queue ``item`` without blocking; False (and counted, logged) when the queue is full."""
        with self._lock:
            if len(self._queue) >= self.maxsize:
                self.overflow += 1
                count = self.overflow
            else:
                self._queue.append(item)
                self._unwritten += 1
                count = 0
            wake = len(self._queue) >= self.batch_size
        if count:
            metrics.RECORDER_OVERFLOW.inc()
            if count == 1 or count % 100 == 0:
                logger.error(
                    "usage queue full (%d): %d usage record(s) could not be recorded so far; "
                    "raise USAGE_QUEUE_MAX or check the database", self.maxsize, count,
                )
            return False
        self._ensure_thread()
        if wake:
            self._wake.set()
        return True

    # ---------------------------------------------------------------- writer

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
            self._thread.start()

    def _take_batch(self) -> list[Pending]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(len(self._queue), self.batch_size))]

    def _run(self) -> None:
        backoff = 0.1
        batch: list[Pending] = []
        while True:
            if not batch:
                if self._stop and not self._queue:
                    connection.close()
                    return
                # Wait for a full batch (or the flush interval) so inserts stay large.
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                batch = self._take_batch()
                if not batch:
                    # Idle for a whole interval: release the connection (it would also block dropping a
                    # test database). Not after every batch: with SQLite in WAL mode, closing the last
                    # connection checkpoints the whole log, which a busy writer need not pay each time.
                    connection.close()
                    continue
            try:
                self.write_batch(batch)
            except Exception as exc:  # database down, locked, …: keep the batch, retry later
                self.db_failures += 1
                self.outage.failed(exc, "requests are still served; their usage records are kept in memory "
                                        f"(up to USAGE_QUEUE_MAX={self.maxsize}) and written when it is back")
                try:
                    connection.close()
                except Exception:
                    pass
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.1
            with self._lock:
                self._unwritten -= len(batch)
                self.written += len(batch)
                buffered = self._unwritten
                self._idle.notify_all()
            if self.outage.down:
                self.outage.recovered(f"; writing the {len(batch) + buffered} usage record(s) buffered meanwhile")
            batch = []
            if len(self._queue) >= self.batch_size:
                # Another full batch is waiting. Anything less waits for the next wake, as above: going
                # round again at once wrote a few rows per pass, each pass a transaction of its own and
                # a GIL hand-off taken from the event loop (one every few ms under steady load).
                self._wake.set()

    def write_batch(self, batch: list[Pending]) -> None:
        # The connection is kept across batches (closed when idle or after an error): reopening an
        # SQLite database in WAL mode checkpoints the log, which cost more than the inserts.
        fmt = _row_format()
        prices: dict[tuple[str, str], Price | None] = {}
        costs: dict[tuple[str, str], float] = {}
        saved: dict[tuple[str, str], float] = {}
        ready: list[Pending] = []
        for item in batch:
            try:
                item.prepare(fmt, prices)
            except Exception:  # a bug, not an outage: a retry would fail the same way
                logger.exception("usage writer: dropped a usage record that could not be built")
                continue
            ready.append(item)
            values = item.values
            if values["cost_usd"]:
                key = (values["backend"], values["model"])
                costs[key] = costs.get(key, 0.0) + float(values["cost_usd"])
            if values["cache_saved_usd"] and values["cache_saved_usd"] > 0:  # a counter only goes up
                key = (values["backend"], values["model"])
                saved[key] = saved.get(key, 0.0) + float(values["cache_saved_usd"])
        self.insert(ready)
        for (backend, model), cost in costs.items():
            metrics.COST.labels(backend, model).inc(cost)
        for (backend, model), amount in saved.items():
            metrics.CACHE_SAVED.labels(backend, model).inc(amount)

    def insert(self, batch: list[Pending]) -> None:
        """The writer's one database call (tests make it fail to simulate an outage)."""
        with transaction.atomic(using=UsageRecord.objects.db):
            if not any(item.capture is not None for item in batch):
                _row_format().insert([item.row for item in batch])
                return
            records = [item.record() for item in batch]
            UsageRecord.objects.bulk_create(records)
            captures = [
                CapturedExchange(record=record, created_at=record.created_at,
                                 prompt=item.capture[0], answer=item.capture[1])
                for item, record in zip(batch, records, strict=True)
                if item.capture is not None
            ]
            if captures:
                CapturedExchange.objects.bulk_create(captures)

    # ---------------------------------------------------------------- control

    @property
    def depth(self) -> int:
        return len(self._queue)

    def flush(self, timeout: float = 10.0, *, give_up_if_failing: bool = False) -> bool:
        """Block until everything queued so far is written; False on timeout (or a failing database)."""
        deadline = time.monotonic() + timeout
        if self._unwritten:
            self._ensure_thread()
        with self._lock:
            while self._unwritten > 0:
                self._wake.set()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (give_up_if_failing and self.outage.down):
                    return False
                self._idle.wait(min(remaining, 0.05))
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the writer thread (which closes its connection)."""
        self.flush(timeout)
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


_recorder: Recorder | None = None
metrics.RECORDER_QUEUE_DEPTH.set_function(lambda: float(_recorder.depth) if _recorder is not None else 0.0)
_recorder_lock = threading.Lock()


def get_recorder() -> Recorder:
    global _recorder
    if _recorder is None:
        with _recorder_lock:
            if _recorder is None:
                _recorder = Recorder(
                    maxsize=settings.USAGE_QUEUE_MAX,
                    batch_size=settings.USAGE_BATCH_SIZE,
                    flush_interval=settings.USAGE_FLUSH_INTERVAL,
                )
    return _recorder


def flush(timeout: float = 10.0) -> bool:
    """Write every queued record now (tests, shutdown)."""
    return True if _recorder is None else _recorder.flush(timeout)


def stop(timeout: float = 10.0) -> None:
    """Write every queued record and end the writer thread (graceful shutdown, end of a test run)."""
    if _recorder is not None:
        _recorder.stop(timeout)


def record_request(ctx: RequestContext) -> None:
    """The ``on_request_finished`` observer: metrics always, a usage row when recording is on."""
    metrics.observe(ctx)
    if not settings.USAGE_RECORDING_ENABLED:
        return
    capture = None
    if settings.USAGE_CAPTURE_BODIES:
        capture = (ctx.extra.get("prompt"), ctx.extra.get("answer"))
    get_recorder().submit(Pending(ctx, capture))
    scheduler.ensure_started()


def _flush_at_exit() -> None:
    if _recorder is None:
        return
    if not _recorder.flush(timeout=settings.USAGE_SHUTDOWN_FLUSH_SECONDS, give_up_if_failing=True):
        # Logging may already be torn down at exit: write to stderr directly.
        print(f"usage writer: {_recorder._unwritten} usage record(s) could not be written at exit",
              file=sys.stderr)


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    on_request_finished(record_request)
    atexit.register(_flush_at_exit)
