"""Where the finished requests' spans go: a daemon thread hands their records (plain data,
``RequestSpans.record``) to the trace exporter process (``trace_exporter``), which encodes and posts
them to the collector.

Why a process of its own: on the request path's process, every microsecond the export spends holds
the GIL the event loop waits for. Encoding and posting in an export thread cost ~16 µs of the
loop's time a request, 3 % of the proxy's throughput (2026-12-06, ``bench/ab.py``, 10 rounds);
here the thread only looks up prices (the price book's database reads stay off the event loop) and
writes the batch to a pipe (marshal: ~0.6 µs a request). The exporter process uses the
OpenTelemetry SDK's OTLP/HTTP client, which reads ``OTEL_EXPORTER_OTLP_HEADERS``, compression,
timeouts and certificates from the environment, and retries.

Every ``OTEL_BSP_SCHEDULE_DELAY`` ms (sooner when a batch is full) the thread sends what is queued
and waits for the exporter's answer: whether the collector accepted it. The exporter process is
started with the first batch, started again if it dies, and ends when its pipe closes: when this
process exits, even killed, it is never left behind.
"""

from __future__ import annotations

import atexit
import logging
import marshal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import IO, Any

from django.db import connections

from proxy_app.operations.trace_encoding import FRAME, TARGET, PriceFields, price_fields
from usage_app.pricing import price_for

logger = logging.getLogger("llmproxy.tracing")

BATCH_REQUESTS = 2048  # requests (of a few spans, ~1 KB) per export: each POST costs ~2 ms of CPU
QUEUE_MAX = 8192  # requests waiting; past it their spans are dropped (and counted), never awaited
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where ``python -m proxy_app...`` finds the package
STOP_SECONDS = 10.0  # what the exporter process gets to send the rest at shutdown


class ExporterProcess:
    """The exporter process and the pipes to it: batches down, one byte back per batch (``b"1"``: accepted)."""

    def __init__(self, endpoint: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "proxy_app.operations.trace_exporter", endpoint],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=PROJECT_ROOT, close_fds=True,
        )
        self.batches: IO[bytes] = self.popen.stdin  # type: ignore[assignment]
        self.answers: IO[bytes] = self.popen.stdout  # type: ignore[assignment]

    def export(self, batch: bytes) -> bool:
        """Send one batch; whether the collector accepted it. OSError or EOFError: the process is gone."""
        self.batches.write(FRAME.pack(len(batch)))
        self.batches.write(batch)
        self.batches.flush()
        answer = self.answers.read(1)
        if not answer:
            raise EOFError(f"the trace exporter process ended (exit code {self.popen.poll()})")
        return answer == b"1"

    def stop(self, timeout: float) -> None:
        """Close its pipe (it sends nothing more and exits), then wait for it; killed if it does not."""
        try:
            self.batches.close()
        except OSError:  # it is gone already
            pass
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("the trace exporter process did not stop in %.0f s: killed", timeout)
            self.popen.kill()
            self.popen.wait()
        self.answers.close()


class SpanExport:
    """The queue of finished requests' spans and the thread that sends them to the exporter process."""

    def __init__(self, endpoint: str, *, schedule_delay_ms: int) -> None:
        self.endpoint = endpoint
        self.delay = schedule_delay_ms / 1000.0
        self.queue: deque[tuple[Any, ...]] = deque()  # ``RequestSpans.record``s
        self.dropped = 0
        self._exporter: ExporterProcess | None = None  # started with the first batch
        self._wake = threading.Event()
        self._sending = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="llmproxy-otlp-export", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def add(self, record: tuple[Any, ...]) -> None:
        """Queue one finished request's record (on the event loop: an append, no wait)."""
        if len(self.queue) >= QUEUE_MAX:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("trace export queue full: %d request(s) not traced", self.dropped)
            return
        self.queue.append(record)
        if len(self.queue) >= BATCH_REQUESTS:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.delay)
            self._wake.clear()
            self.flush()

    def flush(self) -> bool:
        """Send everything queued now; whether every batch was accepted.

        Only what is queued when it starts: requests finishing meanwhile wait for the next flush.
        Draining until the queue was empty sent a batch of a request or two after every answer of
        the exporter, back to back under load: ~1 ms of CPU each (2026-12-06)."""
        ok = True
        with self._sending:
            waiting = len(self.queue)
            if not waiting:
                return ok
            prices: dict[tuple[str, str], PriceFields | None] = {}  # looked up once a flush
            while waiting:
                records: list[tuple[Any, ...]] = []
                while waiting and len(records) < BATCH_REQUESTS:
                    waiting -= 1
                    record = self.queue.popleft()
                    records.append(record)
                    if (target := record[TARGET]) not in prices and target[0]:
                        prices[target] = _price(*target)
                ok = self._send(marshal.dumps((records, prices)), len(records)) and ok
        _close_own_connection()
        return ok

    def _send(self, batch: bytes, requests: int) -> bool:
        """Hand ``batch`` to the exporter process, started (again) if it is not running."""
        for attempt in (1, 2):
            try:
                if self._exporter is None:
                    self._exporter = ExporterProcess(self.endpoint)
                return self._exporter.export(batch)
            except (OSError, EOFError) as exc:
                logger.warning("trace export failed (%s)%s", exc, ", starting the exporter again" if attempt == 1
                               else f": {requests} request(s) not traced")
                if self._exporter is not None:
                    self._exporter.stop(0)
                    self._exporter = None
        return False

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(STOP_SECONDS)
        self.flush()
        with self._sending:
            if self._exporter is not None:
                self._exporter.stop(STOP_SECONDS)
                self._exporter = None
        atexit.unregister(self.shutdown)


def _price(backend: str, model: str) -> PriceFields | None:
    """A model's price as the pipe carries it; None when unknown (a span is worth more than its price)."""
    try:
        price = price_for(backend, model)
    except Exception:
        logger.debug("no price for a span", exc_info=True)
        return None
    return None if price is None else price_fields(price)


def _close_own_connection() -> None:
    """The price book may have opened a database connection in this thread: not kept between exports."""
    if threading.current_thread().name == "llmproxy-otlp-export":
        connections.close_all()
