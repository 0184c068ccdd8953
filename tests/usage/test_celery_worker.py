"""A real Celery worker (Redis broker) rolls usage up in the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from usage_app.models import RollupState, UsageRecord, UsageRollup

BROKER_URL = os.environ.get("USAGE_TEST_BROKER_URL", "redis://127.0.0.1:6379/1")
ROOT = Path(__file__).resolve().parents[2]


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def worker_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"




@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_writes_rollups() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker is a separate process: it needs a server database (run with DATABASE_URL=postgres://…), "
                    "not pytest-django's in-memory SQLite")
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    two_hours_ago = timezone.now() - timedelta(hours=2)
    UsageRecord.objects.bulk_create([
        UsageRecord(created_at=two_hours_ago, protocol="openai_chat", path="/v1/chat/completions", backend="openai",
                    model="gpt-4o", project="celery", input_tokens=10, output_tokens=5, latency_ms=100)
        for _ in range(3)
    ])
    queue = f"usage-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "CELERY_BROKER_URL": BROKER_URL,
           "DJANGO_SETTINGS_MODULE": "llmproxy_site.settings"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "llmproxy_site", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        client = Celery(broker=BROKER_URL)
        client.send_task("usage_app.rollup_usage", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if RollupState.objects.filter(name="default", rolled_until__isnull=False).exists():
                break  # the watermark is saved last: the whole rollup is in
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker died"
            time.sleep(0.25)
        hourly = UsageRollup.objects.get(project="celery", period="hour")
        assert hourly.requests == 3 and hourly.input_tokens == 30
        assert UsageRollup.objects.get(project="celery", period="day").requests == 3
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
