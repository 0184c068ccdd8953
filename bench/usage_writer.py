"""The usage writer's INSERT against Django's ``bulk_create``: CPU time per record in the writer thread.

    .venv/bin/python bench/usage_writer.py                    # SQLite (a scratch file in /tmp)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/usage_writer_bench .venv/bin/python bench/usage_writer.py

Both ways write the same rows from the same priced field values (``Pending.prepare``, done before the
clock starts: it is the same work for both), each batch in its own transaction as the writer does:

* ``insert``: ``RowFormat.row`` per record, then ``RowFormat.insert`` (the hand-written multi-row INSERT);
* ``bulk_create``: a ``UsageRecord`` per record, then ``UsageRecord.objects.bulk_create``.

Rounds interleave the two (the order alternates) and the table is emptied between rounds; each round
times many batches of 1, 10 and 100 records with ``time.thread_time`` (this thread's CPU only: on
PostgreSQL the server's work is not counted, on SQLite the library runs in this thread and is). The
PostgreSQL database is created if missing and its usage tables TRUNCATEd: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench_usage_writer.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy_site.settings")
os.environ["USAGE_ROLLUP_INTERVAL_SECONDS"] = "0"  # no background rollups while we measure

BATCHES = {1: 3000, 10: 600, 100: 80}  # batch size: batches per round (~3,000-8,000 records each)
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5"),
          ("gemini", "gemini-2.5-pro"), ("openai", "local-unpriced"), ("", "")]


def prepare_database(url: str) -> None:
    """A fresh SQLite file, or the PostgreSQL database created if missing; then migrated."""
    if url.startswith("sqlite"):
        path = Path(urlsplit(url).path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        admin = parts._replace(path="/postgres", scheme="postgresql").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def contexts(n: int, rng: random.Random) -> list[Any]:
    """``n`` finished requests like the proxy's: mixed backends, streams, errors, retries, unpriced models."""
    from proxy_app.core.canonical import Usage
    from proxy_app.core.context import AttemptRecord, RequestContext

    made = []
    for _ in range(n):
        backend, model = rng.choice(MODELS)
        failed = rng.random() < 0.1
        ctx = RequestContext(
            protocol=rng.choice(["openai_chat", "anthropic", "gemini", "openai_responses"]),
            path="/v1/chat/completions", principal_name="team-a", principal_key_id=rng.choice([None, 1, 2]),
            project=rng.choice(["web", "batch", ""]), user="user@example.com", session_id="s-1234",
            requested_model=model, backend=backend, model=model, key_hint="sk-...abcd", stream=rng.random() < 0.5,
            status=429 if failed else 200, error_type="rate_limit_error" if failed else "",
            error_message="slow down" if failed else "", usage=Usage(rng.randint(10, 9000), rng.randint(1, 900)),
            usage_estimated=rng.random() < 0.1,
        )
        ctx.attempts = [AttemptRecord(backend, model, "sk-...abcd", "ok", 200, rng.uniform(50, 900))
                        for _ in range(1 + (rng.random() < 0.1))]
        ctx.first_token_at = ctx.started + 0.05 if ctx.stream else None
        ctx.finished_at = ctx.started + 0.4
        made.append(ctx)
    return made


def prepared(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Priced field values for ``n`` records, as the writer has them before it inserts."""
    from usage_app.pricing import Price
    from usage_app.recorder import Pending, _row_format

    fmt = _row_format()
    prices: dict[tuple[str, str], Price | None] = {}
    items = [Pending(ctx) for ctx in contexts(n, rng)]
    for item in items:
        item.prepare(fmt, prices)
    return [item.values for item in items]


def write_with_insert(batch: list[dict[str, Any]]) -> None:
    from django.db import transaction

    from usage_app.models import UsageRecord
    from usage_app.recorder import _row_format

    fmt = _row_format()
    with transaction.atomic(using=UsageRecord.objects.db):
        fmt.insert([fmt.row(values) for values in batch])


def write_with_bulk_create(batch: list[dict[str, Any]]) -> None:
    from django.db import transaction

    from usage_app.models import UsageRecord

    with transaction.atomic(using=UsageRecord.objects.db):
        UsageRecord.objects.bulk_create([UsageRecord(**values) for values in batch])


WAYS: dict[str, Callable[[list[dict[str, Any]]], None]] = {"insert": write_with_insert,
                                                            "bulk_create": write_with_bulk_create}


def cpu_us_per_record(write: Callable[[list[dict[str, Any]]], None], batches: list[list[dict[str, Any]]]) -> float:
    gc.collect()
    started = time.thread_time()
    for batch in batches:
        write(batch)
    return (time.thread_time() - started) * 1e6 / sum(len(b) for b in batches)


def empty_table() -> None:
    from django.db import connection

    from usage_app.models import CapturedExchange, UsageRecord

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {CapturedExchange._meta.db_table}, {UsageRecord._meta.db_table}")
    else:
        UsageRecord.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    prepare_database(url)
    from django.db import connection

    from usage_app.models import UsageRecord

    rng = random.Random(42)
    pools = {size: prepared(size * count, rng) for size, count in BATCHES.items()}
    batches = {size: [pools[size][i : i + size] for i in range(0, len(pools[size]), size)] for size in BATCHES}
    for way in WAYS.values():  # warm up: statements compiled, connection open, caches filled
        for size in BATCHES:
            way(batches[size][0])
    empty_table()

    results: dict[tuple[str, int], list[float]] = {(name, size): [] for name in WAYS for size in BATCHES}
    for round_no in range(args.rounds):
        order = list(WAYS) if round_no % 2 == 0 else list(reversed(WAYS))
        for size in BATCHES:
            for name in order:
                results[name, size].append(cpu_us_per_record(WAYS[name], batches[size]))
        empty_table()
    rows_per_round = sum(len(pool) for pool in pools.values()) * len(WAYS)
    print(f"{connection.vendor} ({url.split('@')[-1]}), {args.rounds} rounds, {rows_per_round} rows a round; "
          f"writer-thread CPU per record, µs: median (min-max) of the rounds")
    print(f"{'batch':>6} {'insert':>22} {'bulk_create':>22} {'bulk_create / insert':>28}")
    for size, count in BATCHES.items():
        ours, theirs = results["insert", size], results["bulk_create", size]
        ratios = [b / a for a, b in zip(ours, theirs, strict=True)]
        print(f"{size:>6} {statistics.median(ours):>8.1f} ({min(ours):.1f}-{max(ours):.1f}) "
              f"{statistics.median(theirs):>8.1f} ({min(theirs):.1f}-{max(theirs):.1f}) "
              f"{statistics.median(ratios):>10.2f}x ({min(ratios):.2f}-{max(ratios):.2f}x)   x{count} batches")
    assert UsageRecord.objects.count() == 0


if __name__ == "__main__":
    main()
