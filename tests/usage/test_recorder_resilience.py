"""No record is lost: under concurrency, while the database fails, and a full queue is counted."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from django.db import OperationalError

from proxy_app.core.context import RequestContext
from tests.conftest import Proxy
from usage_app import metrics, recorder
from usage_app.models import CapturedExchange, UsageRecord
from usage_app.recorder import Pending, Recorder


async def fire(proxy: Proxy, n: int, concurrency: int = 50) -> list[int]:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=proxy.url, timeout=60, limits=limits,
                                 headers={"Authorization": f"Bearer {proxy.key}"}) as client:
        async def one(i: int) -> int:
            async with sem:
                body = {"model": "gpt-4o", "messages": [{"role": "user", "content": f"request {i}"}],
                        "stream": i % 2 == 0}
                response = await client.post("/v1/chat/completions", json=body)
                await response.aread()
                return response.status_code

        return await asyncio.gather(*(one(i) for i in range(n)))


@pytest.mark.slow
def test_a_thousand_concurrent_requests_make_a_thousand_rows(usage_proxy: Proxy) -> None:
    statuses = asyncio.run(fire(usage_proxy, 1000))
    assert statuses == [200] * 1000
    assert recorder.flush(30)
    assert UsageRecord.objects.count() == 1000
    assert UsageRecord.objects.filter(input_tokens__gt=0, output_tokens__gt=0).count() == 1000


def test_rows_survive_a_database_outage(usage_proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = recorder.get_recorder()
    real_insert = writer.insert
    failures = {"left": 2}

    def flaky_insert(batch: list[Pending]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is down (simulated)")
        real_insert(batch)

    monkeypatch.setattr(writer, "insert", flaky_insert)
    before = writer.db_failures
    statuses = asyncio.run(fire(usage_proxy, 40, concurrency=10))
    assert statuses == [200] * 40
    assert recorder.flush(30)
    assert failures["left"] == 0 and writer.db_failures - before == 2
    assert UsageRecord.objects.count() == 40


def test_a_full_queue_counts_and_logs_overflow(caplog: pytest.LogCaptureFixture) -> None:
    small = Recorder(maxsize=2, batch_size=100, flush_interval=60)
    small._ensure_thread = lambda: None  # type: ignore[method-assign]  # no writer: the queue stays full
    before = metrics.RECORDER_OVERFLOW._value.get()
    results = [small.submit(Pending(RequestContext(protocol="openai-chat", path="/v1/chat/completions"))) for _ in range(5)]
    assert results == [True, True, False, False, False]
    assert small.overflow == 3 and small.depth == 2
    assert metrics.RECORDER_OVERFLOW._value.get() - before == 3
    assert "usage queue full" in caplog.text


class TimedWrites(Recorder):
    """A recorder whose database write takes a couple of milliseconds and only notes the batch size."""

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.batch_sizes: list[int] = []

    def write_batch(self, batch: list[Pending]) -> None:
        self.batch_sizes.append(len(batch))
        time.sleep(0.002)


def test_a_steady_trickle_of_requests_is_written_in_full_batches() -> None:
    """While requests keep coming, the writer waits for a full batch each time, rather than going
    round again for the few rows that arrived during the last write."""
    writer = TimedWrites(maxsize=10_000, batch_size=50, flush_interval=30)
    try:
        for _ in range(300):
            writer.submit(Pending(RequestContext(protocol="openai-chat", path="/v1/chat/completions")))
            time.sleep(0.0005)
        deadline = time.monotonic() + 10
        while writer.written < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.batch_sizes == [50] * 6
    finally:
        writer.stop()


def test_bodies_are_captured_only_when_enabled(usage_proxy: Proxy, settings: object) -> None:
    from tests.usage.conftest import operator_get

    assert operator_get(usage_proxy, "/audit/logs").status_code == 404
    settings.USAGE_CAPTURE_BODIES = True  # type: ignore[attr-defined]
    import openai

    openai.OpenAI(base_url=usage_proxy.openai_base, api_key=usage_proxy.key, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "capture me"}])
    recorder.flush(10)
    assert CapturedExchange.objects.count() == 1
    body = operator_get(usage_proxy, "/audit/logs").json()
    assert body["object"] == "audit_logs" and len(body["data"]) == 1
    assert "capture me" in str(body["data"][0]["prompt"]) and "You said" in str(body["data"][0]["answer"])
