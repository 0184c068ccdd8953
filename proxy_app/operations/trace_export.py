"""Where the spans go: batches of OTLP/HTTP protobuf to the collector, from one daemon thread.

Each finished request's spans and context wait in a queue; the thread wakes every
``OTEL_BSP_SCHEDULE_DELAY`` ms (sooner when a batch is full), encodes the spans
(``trace_spans.encode_request``), prices the request spans and posts the batch with the SDK's OTLP/HTTP client, which reads
``OTEL_EXPORTER_OTLP_HEADERS``, compression, timeouts and certificates from the environment, and
retries. Pricing here keeps the price book's database reads off the event loop.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from decimal import Decimal
from typing import Any

from django.db import connections
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource

from proxy_app.operations.otlp_encoding import double_attribute, encode_export_request, scope_span
from proxy_app.operations.trace_spans import Pending, encode_request
from usage_app.pricing import Price, price_for

logger = logging.getLogger("llmproxy.tracing")

SERVICE_NAME = "llm-interactive-proxy"
SCOPE = ("llmproxy", "1")
COST = "llmproxy.cost_usd"
BATCH_REQUESTS = 2048  # requests (of a few spans, ~1 KB) per export: each POST costs ~2 ms of CPU
MISSING = Price(input=Decimal(0), output=Decimal(0))  # a price not looked up yet
QUEUE_MAX = 8192  # requests waiting; past it their spans are dropped (and counted), never awaited


class SpanExport:
    """The queue of finished requests' spans and the thread that sends them."""

    def __init__(self, endpoint: str, *, schedule_delay_ms: int) -> None:
        self.resource = _resource()
        self.client = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
        self.delay = schedule_delay_ms / 1000.0
        self.queue: deque[Pending] = deque()
        self.dropped = 0
        self._wake = threading.Event()
        self._sending = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="llmproxy-otlp-export", daemon=True)
        self._thread.start()
        atexit.register(self.shutdown)

    def add(self, spans: Pending) -> None:
        """Queue one request's spans (on the event loop: an append, no wait)."""
        if len(self.queue) >= QUEUE_MAX:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("trace export queue full: %d request(s) not traced", self.dropped)
            return
        self.queue.append(spans)
        if len(self.queue) >= BATCH_REQUESTS:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.delay)
            self._wake.clear()
            self.flush()

    def flush(self) -> bool:
        """Send everything queued now; whether every batch was accepted."""
        ok = True
        with self._sending:
            if not self.queue:
                return ok
            prices: dict[tuple[str, str], Price | None] = {}  # looked up once a batch
            while self.queue:
                batch: list[bytes] = []
                while self.queue and len(batch) < BATCH_REQUESTS * 2:
                    spans, ctx = self.queue.popleft()
                    request, attempts, backend, model, tokens = encode_request(spans.record(ctx))
                    batch += [scope_span(request + _cost(backend, model, tokens, prices)), attempts]
                body = encode_export_request(self.resource, *SCOPE, batch)
                ok = self.client._client.export(body).success and ok  # the SDK's HTTP client, its retries
        _close_own_connection()
        return ok

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(10)
        self.flush()
        self.client.shutdown()
        atexit.unregister(self.shutdown)


def _resource() -> dict[str, Any]:
    """The SDK's resource (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``), the proxy by default."""
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
    return dict(resource.attributes)


def _cost(backend: str, model: str, tokens: tuple[int, int, int, int, int],
          prices: dict[tuple[str, str], Price | None]) -> bytes:
    """The request span's ``llmproxy.cost_usd`` attribute, encoded; nothing when its model has no known price.
    ``prices``: the prices looked up so far in this batch."""
    if not backend:
        return b""
    input_tokens, output_tokens, cached_tokens, cache_creation_tokens, reasoning_tokens = tokens
    try:
        target = (backend, model)
        if (price := prices.get(target, MISSING)) is MISSING:
            price = prices[target] = price_for(*target)
        if price is None:
            return b""
        cost = price.cost(input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens,
                          reasoning_tokens=reasoning_tokens, cache_write_tokens=cache_creation_tokens)
    except Exception:  # a span is worth more than its price
        logger.debug("no cost for a span", exc_info=True)
        return b""
    return double_attribute(COST, float(cost))


def _close_own_connection() -> None:
    """The price book may have opened a database connection in this thread: not kept between exports."""
    if threading.current_thread().name == "llmproxy-otlp-export":
        connections.close_all()
