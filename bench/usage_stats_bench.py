"""Seed 1,000,000 usage records into PostgreSQL, roll them up, and time ``GET /usage/stats``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/usage_bench .venv/bin/python bench/usage_stats_bench.py

The database is created if missing and migrated; its usage tables are TRUNCATED first, so point it
at a scratch database. Target: /usage/stats (30 days, through the full Django + DRF stack) < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/usage_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy_site.settings")
os.environ["USAGE_ROLLUP_INTERVAL_SECONDS"] = "0"  # no background rollups while we measure

COLUMNS = ("created_at", "proxy_key_id", "owner", "project", "user", "session_id", "protocol", "path",
           "requested_model", "backend", "model", "attempts", "attempt_log", "key_hint", "status", "error_type",
           "error_message", "stream", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
           "tokens_estimated", "cost_usd", "latency_ms", "ttft_ms", "loop_halts", "redactions", "answered_by_proxy",
           "client_disconnected")
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4"),
          ("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-pro"), ("openai", "local-unpriced")]
PROJECTS = ["web", "mobile", "batch", "research", ""]
KEYS = [None, 1, 2, 3]


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(n: int, days: int) -> float:
    from django.db import connection

    from usage_app.pricing import cost_for

    rng = random.Random(42)
    now = datetime.now(tz=UTC)
    # Prices first: a query on this connection in the middle of COPY would wait forever.
    costs = {key: cost_for(backend=key[0], model=key[1], input_tokens=1_000_000, output_tokens=0) for key in MODELS}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE usage_app_capturedexchange, usage_app_usagerecord, usage_app_usagerollup, "
                       "usage_app_rollupstate RESTART IDENTITY")
        raw = cursor.connection
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        with raw.cursor().copy(f"COPY usage_app_usagerecord ({cols}) FROM STDIN") as copy:
            for i in range(n):
                backend, model = MODELS[i % len(MODELS)]
                inp, out = rng.randint(20, 4000), rng.randint(1, 800)
                price = costs[(backend, model)]
                cost = None if price is None else round(price * inp / 1_000_000, 8)
                status = 200 if rng.random() > 0.03 else rng.choice([429, 500, 502])
                key_id = KEYS[i % len(KEYS)]
                copy.write_row((
                    now - timedelta(seconds=rng.uniform(0, days * 86400)), key_id,
                    f"key#{key_id}" if key_id else "env-key", rng.choice(PROJECTS), f"user{i % 50}", "",
                    "openai_chat", "/v1/chat/completions", model, backend, model, 1, "[]", "sk-...abcd", status,
                    "" if status == 200 else "api_error", "", i % 2 == 0, inp, out, 0, 0, False, cost,
                    rng.lognormvariate(6.5, 0.8), rng.lognormvariate(5.5, 0.6), 0, 0, False, False,
                ))
    cursor = connection.cursor()
    cursor.execute("ANALYZE usage_app_usagerecord")
    return time.perf_counter() - started


def timed(client: object, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-seed", action="store_true", help="reuse the rows of a previous run")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from usage_app.stats import usage_rollup

    settings.ALLOWED_HOSTS = ["*"]
    settings.LLM_INTERACTIVE_PROXY_API_KEY = ""  # open on loopback: every record visible
    call_command("migrate", verbosity=0)
    if not args.skip_seed:
        print(f"seeding {args.rows:,} records over {args.days} days with COPY …", flush=True)
        print(f"  seeded in {seed(args.rows, args.days):.1f}s", flush=True)
        started = time.perf_counter()
        result = usage_rollup(full=True)
        print(f"  full rollup: {result.rows:,} rollup rows in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    usage_rollup()
    print(f"  incremental rollup (the 5-minute job): {(time.perf_counter() - started) * 1000:.0f} ms")

    client = Client()
    queries = [
        "/usage/stats?days=30",
        "/usage/stats?days=30&backend=&project=&username=",
        "/usage/stats?days=30&group_by=model",
        "/usage/stats?days=30&group_by=day",
        "/usage/stats?days=30&group_by=project&backend=openai",
        "/usage/stats?days=7&group_by=hour",
        "/usage/stats?days=30&username=user7",
    ]
    print(f"\n{'query':58} {'median ms':>10} {'p95 ms':>8}")
    worst = 0.0
    for path in queries:
        timed(client, path, 2)  # warm-up
        samples = sorted(timed(client, path, args.runs))
        median, p95 = statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]
        if "username=user" not in path:
            worst = max(worst, median)
        print(f"{path:58} {median:10.1f} {p95:8.1f}")
    data = client.get("/usage/stats?days=30").json()["data"]["totals"]
    print(f"\ntotals: {data['requests']:,} requests, cost ${data['cost_usd']:,.2f}, p50 {data['latency_p50_ms']} ms")
    print(f"worst median over rollup-backed queries: {worst:.1f} ms (target < 200 ms): "
          f"{'OK' if worst < 200 else 'SLOW'}")


if __name__ == "__main__":
    main()
