"""Fixtures: the OTLP sink and the live proxy exporting its traces to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Proxy
from tests.tracing.otlp_sink import ExportedSpan, OtlpSink


@pytest.fixture(scope="session")
def otlp_sink() -> Iterator[OtlpSink]:
    sink = OtlpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def traced_proxy(proxy: Proxy, otlp_sink: OtlpSink, settings: object) -> Iterator[Proxy]:
    """The live proxy with tracing on, exporting to ``otlp_sink``, prompt and answer bodies not captured."""
    from proxy_app.operations.tracing import tracing_configure, tracing_shutdown

    otlp_sink.reset()
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = otlp_sink.origin  # type: ignore[attr-defined]
    settings.OTEL_CAPTURE_CONTENT = False  # type: ignore[attr-defined]
    settings.OTEL_TRACES_SAMPLER_ARG = 1.0  # type: ignore[attr-defined]
    settings.OTEL_BSP_SCHEDULE_DELAY = 60_000  # type: ignore[attr-defined]  # the tests flush themselves
    assert tracing_configure()
    yield proxy
    tracing_shutdown()


def wait_for_spans(sink: OtlpSink, done: Callable[[list[ExportedSpan]], bool], timeout: float = 10.0
                   ) -> list[ExportedSpan]:
    """The exported spans once ``done`` holds for them (a streamed request finishes just after its
    client has read the end), flushing the proxy's batch each time."""
    from proxy_app.operations.tracing import tracing_flush

    deadline = time.monotonic() + timeout
    while True:
        assert tracing_flush(), "the export to the OTLP endpoint failed"
        spans = sink.spans()
        if done(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)
