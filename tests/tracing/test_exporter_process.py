"""The trace exporter process: the spans leave the proxy's process for it; it is started again when
it dies; a collector's refusal is reported, not fatal; and it never outlives the proxy, whose last
spans it still sends when the proxy stops."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import openai
import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import Fakes, Proxy
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env, wait_for
from tests.tracing.conftest import wait_for_spans
from tests.tracing.otlp_sink import OtlpSink

SERVER = 2  # opentelemetry.proto.trace.v1.Span.SpanKind
EXPORTER = b"proxy_app.operations.trace_exporter"


def exporters_of(parent: int) -> list[int]:
    """The live trace exporter processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == parent and state != "Z" and EXPORTER in cmdline:
            found.append(int(entry.name))
    return found


def ask(base_url: str, key: str, text: str) -> None:
    openai.OpenAI(base_url=base_url, api_key=key, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": text}])


def request_spans(sink: OtlpSink) -> int:
    return sum(span.kind == SERVER for span in sink.spans())


def test_an_exporter_process_that_died_is_started_again(traced_proxy: Proxy, otlp_sink: OtlpSink,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    ask(traced_proxy.openai_base, traced_proxy.key, "first")
    wait_for_spans(otlp_sink, lambda spans: any(s.kind == SERVER for s in spans))
    (first,) = exporters_of(os.getpid())
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: first not in exporters_of(os.getpid()), timeout=10)

    caplog.set_level(logging.WARNING, logger="llmproxy.tracing")
    ask(traced_proxy.openai_base, traced_proxy.key, "second")
    spans = wait_for_spans(otlp_sink, lambda spans: sum(s.kind == SERVER for s in spans) == 2)
    assert sum(s.kind == SERVER for s in spans) == 2, "the second request's spans went out through a new exporter"
    (second,) = exporters_of(os.getpid())
    assert second != first
    assert "starting the exporter again" in caplog.text


def test_a_collector_refusing_a_batch_is_reported_and_the_next_batch_goes_out(traced_proxy: Proxy,
                                                                              otlp_sink: OtlpSink) -> None:
    from proxy_app.operations.tracing import tracing_flush

    otlp_sink.refusing = True
    ask(traced_proxy.openai_base, traced_proxy.key, "refused")
    assert not tracing_flush(), "the refused batch is reported"
    otlp_sink.refusing = False
    ask(traced_proxy.openai_base, traced_proxy.key, "accepted")
    assert tracing_flush()
    assert request_spans(otlp_sink) == 1, "the refused batch is not sent again, the next one is"


def test_a_stopped_proxy_sends_its_last_spans_and_leaves_no_exporter(tmp_path: Path, fakes: Fakes,
                                                                     otlp_sink: OtlpSink) -> None:
    otlp_sink.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-exporter-test-000000000001",
                    LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY, OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.origin,
                    OTEL_BSP_SCHEDULE_DELAY="600000")  # nothing goes out on schedule: only the stop sends it
    proc = ProxyProcess(env)
    try:
        proc.wait_ready()
        ask(f"{proc.url}/v1", PROXY_KEY, "the last words")
        assert not exporters_of(proc.proc.pid), "the exporter starts with the first batch, not before"
    finally:
        output = proc.stop()  # SIGTERM: the proxy sends what it holds, then closes the exporter's pipe
    assert request_spans(otlp_sink) == 1, output
    assert "Traceback" not in output


def test_a_killed_proxy_leaves_no_exporter_behind(tmp_path: Path, fakes: Fakes, otlp_sink: OtlpSink) -> None:
    otlp_sink.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-exporter-test-000000000002",
                    LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY, OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.origin,
                    OTEL_BSP_SCHEDULE_DELAY="100")
    proc = ProxyProcess(env)
    try:
        proc.wait_ready()
        ask(f"{proc.url}/v1", PROXY_KEY, "before the kill")
        assert wait_for(lambda: request_spans(otlp_sink) == 1, timeout=10)
        (exporter,) = exporters_of(proc.proc.pid)
        proc.proc.kill()  # no shutdown, no atexit: only the pipe's end tells the exporter
        proc.proc.wait()
        assert wait_for(lambda: not Path(f"/proc/{exporter}").exists(), timeout=10), "the exporter outlived the proxy"
    finally:
        proc.stop()


def test_tracing_without_the_sdk_is_a_start_up_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                                      settings: object) -> None:
    import importlib.util

    from proxy_app.operations.tracing import tracing_configure

    def missing(name: str, package: str | None = None) -> None:
        raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")

    settings.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    monkeypatch.setattr(importlib.util, "find_spec", missing)
    with pytest.raises(ImproperlyConfigured, match=r"OTEL_EXPORTER_OTLP_ENDPOINT.*llm-interactive-proxy\[otel\]"):
        tracing_configure()


def test_under_load_the_spans_go_out_in_one_batch_a_schedule(traced_proxy: Proxy, otlp_sink: OtlpSink,
                                                             settings: object) -> None:
    """A flush sends what was queued when it began: requests finishing meanwhile wait for the next one
    (draining until empty sent a batch of a request or two per exporter round trip, under load)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from proxy_app.operations.tracing import tracing_configure, tracing_flush

    settings.OTEL_BSP_SCHEDULE_DELAY = 200  # type: ignore[attr-defined]
    assert tracing_configure()
    otlp_sink.answer_delay = 0.05  # requests keep finishing while a batch is out
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: api.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"load {i}"}]), range(300)))
    elapsed = time.monotonic() - started
    assert tracing_flush()
    assert request_spans(otlp_sink) == 300
    assert len(otlp_sink.bodies) <= elapsed / 0.2 + 3, f"{len(otlp_sink.bodies)} batches in {elapsed:.1f} s"
