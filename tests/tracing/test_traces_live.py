"""OpenTelemetry traces of the live proxy, received by a real OTLP/HTTP endpoint and decoded with the
official protobuf definitions: the span tree, the GenAI attributes, the W3C trace context in and out."""

from __future__ import annotations

import secrets

import openai
import pytest

from tests.conftest import PROXY_KEY, Proxy, configure_backends
from tests.tracing.conftest import wait_for_spans
from tests.tracing.otlp_sink import ExportedSpan, OtlpSink

KEYS = ["sk-trace-key-one-000000000001", "sk-trace-key-two-000000000002"]
SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
STATUS_ERROR = 2


def traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def request_span(spans: list[ExportedSpan], trace_id: str) -> ExportedSpan | None:
    return next((s for s in spans if s.trace_id == trace_id and s.kind == SERVER), None)


def children(spans: list[ExportedSpan], parent: ExportedSpan) -> list[ExportedSpan]:
    return sorted((s for s in spans if s.parent_span_id == parent.span_id), key=lambda s: s.start_ns)


def assert_no_secret(sink: OtlpSink) -> None:
    raw = sink.raw()
    for secret in (*KEYS, PROXY_KEY):
        assert secret.encode() not in raw, "a key went into the exported spans"


def test_a_failover_is_one_request_span_with_an_attempt_span_each(traced_proxy: Proxy,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  otlp_sink: OtlpSink) -> None:
    proxy = traced_proxy
    configure_backends(monkeypatch, proxy.fakes, OPENAI_API_KEY="", OPENAI_API_KEY_1=KEYS[0], OPENAI_API_KEY_2=KEYS[1])
    proxy.fakes.openai.fail_key(KEYS[0], 503)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    sent = []
    for i in range(2):  # the keys rotate: one of the two requests starts on the failing key
        header, trace_id, client_span_id = traceparent()
        resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"secret plan {i}"}],
                                           extra_headers={"traceparent": header})
        sent.append((trace_id, client_span_id, resp))
    spans = wait_for_spans(otlp_sink, lambda found: all(request_span(found, t) for t, _, _ in sent))

    failed_over = []
    for trace_id, client_span_id, resp in sent:
        request = request_span(spans, trace_id)
        assert request is not None, "the client's trace id is kept"
        assert request.parent_span_id == client_span_id, "the request span is the client's span's child"
        assert request.name == "chat gpt-4o"
        attrs = request.attributes
        assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.model"] == "gpt-4o"
        assert attrs["gen_ai.response.model"] == "gpt-4o" and attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.usage.input_tokens"] == resp.usage.prompt_tokens
        assert attrs["gen_ai.usage.output_tokens"] == resp.usage.completion_tokens
        assert attrs["http.response.status_code"] == 200 and "error.type" not in attrs
        assert attrs["llmproxy.cost_usd"] > 0, "priced by the model's known price"
        assert attrs["llmproxy.key_hint"].startswith("sk-...")
        assert request.resource["service.name"] == "llm-interactive-proxy"
        attempts = children(spans, request)
        assert all(a.kind == CLIENT and a.trace_id == trace_id for a in attempts)
        assert len(attempts) == attrs["llmproxy.attempts"]
        if len(attempts) == 2:
            failed_over.append((request, attempts))
    assert len(failed_over) == 1
    request, (failed, answered) = failed_over[0]
    assert request.attributes["llmproxy.failover"] is True
    assert failed.attributes["http.response.status_code"] == 503 and failed.status_code == STATUS_ERROR
    assert failed.attributes["error.type"] and "llmproxy.attempt.failover" not in failed.attributes
    assert answered.attributes["http.response.status_code"] == 200 and "error.type" not in answered.attributes
    assert answered.attributes["llmproxy.attempt.number"] == 2 and answered.attributes["llmproxy.attempt.failover"]
    assert answered.attributes["llmproxy.attempt.retry"] == 1, "the second try of the same model"
    assert answered.attributes["gen_ai.usage.output_tokens"] == request.attributes["gen_ai.usage.output_tokens"]
    for attempt in (failed, answered):
        assert attempt.name == "chat gpt-4o" and attempt.attributes["gen_ai.provider.name"] == "openai"
        assert attempt.attributes["server.address"] == "127.0.0.1"
        assert attempt.attributes["server.port"] == proxy.fakes.openai.port
        assert attempt.attributes["llmproxy.key_hint"] in ("sk-...0001", "sk-...0002")
    assert failed.attributes["llmproxy.key_hint"] == "sk-...0001"

    # each upstream request carried its attempt's span as the parent, in the client's trace
    upstream = {r.headers["traceparent"] for r in proxy.fakes.openai.chat_requests()}
    expected = {f"00-{a.trace_id}-{a.span_id}-01" for _, attempts in ((r, children(spans, r)) for r in
                (request_span(spans, t) for t, _, _ in sent) if r is not None) for a in attempts}
    assert upstream == expected and len(upstream) == 3
    raw = otlp_sink.raw()
    assert b"secret plan" not in raw, "no prompt text unless OTEL_CAPTURE_CONTENT is on"
    assert b"Hello from the fake provider" not in raw
    assert_no_secret(otlp_sink)


def test_a_stream_span_holds_its_time_to_first_token_and_the_loop_halt(traced_proxy: Proxy,
                                                                       otlp_sink: OtlpSink) -> None:
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    chunks = list(api.chat.completions.create(model="gpt-4o", stream=True,
                                              messages=[{"role": "user", "content": "[[loop]]"}]))
    assert chunks
    spans = wait_for_spans(otlp_sink, lambda found: any(s.kind == SERVER for s in found))
    (request,) = [s for s in spans if s.kind == SERVER]
    attrs = request.attributes
    assert request.parent_span_id == "", "no traceparent from the client: a new trace"
    assert attrs["gen_ai.request.stream"] is True
    ttft = attrs["gen_ai.response.time_to_first_chunk"]
    assert 0 < ttft < (request.end_ns - request.start_ns) / 1e9
    events = {name: (at, event_attrs) for name, at, event_attrs in request.events}
    assert request.start_ns < events["llmproxy.first_token"][0] < request.end_ns
    assert abs(events["llmproxy.first_token"][0] - request.start_ns - ttft * 1e9) < 1e6
    assert attrs["llmproxy.loop_halts"] == 1 and attrs["llmproxy.loop_halt_kind"]
    assert events["llmproxy.loop_halt"][1]["llmproxy.loop_kind"] == attrs["llmproxy.loop_halt_kind"]
    (attempt,) = children(spans, request)
    assert attempt.end_ns <= request.end_ns and attempt.attributes["gen_ai.response.time_to_first_chunk"] == ttft
    assert traced_proxy.fakes.openai.chat_requests()[0].headers["traceparent"].split("-")[1] == request.trace_id


SK_SECRET = "sk-proj-TraceAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def test_prompt_and_answer_are_exported_only_when_enabled_and_redacted(traced_proxy: Proxy, otlp_sink: OtlpSink,
                                                                        settings: object) -> None:
    from proxy_app.operations.tracing import tracing_configure

    settings.OTEL_CAPTURE_CONTENT = True  # type: ignore[attr-defined]
    assert tracing_configure()
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"tell {SK_SECRET} now"}])
    spans = wait_for_spans(otlp_sink, lambda found: any(s.kind == SERVER for s in found))
    (request,) = [s for s in spans if s.kind == SERVER]
    assert "tell " in request.attributes["gen_ai.input.messages"]
    assert '"role":"user"' in request.attributes["gen_ai.input.messages"]
    assert resp.choices[0].message.content in request.attributes["gen_ai.output.messages"]
    assert request.attributes["llmproxy.redactions"] >= 1
    assert "llmproxy.redaction" in [name for name, _, _ in request.events]
    assert SK_SECRET.encode() not in otlp_sink.raw(), "the prompt is exported as redacted"
    assert_no_secret(otlp_sink)


def test_a_failed_request_span_carries_the_error_type(traced_proxy: Proxy, otlp_sink: OtlpSink) -> None:
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    with pytest.raises(openai.BadRequestError):
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[error:400]]"}])
    spans = wait_for_spans(otlp_sink, lambda found: any(s.kind == SERVER for s in found))
    (request,) = [s for s in spans if s.kind == SERVER]
    assert request.status_code == STATUS_ERROR and request.attributes["http.response.status_code"] == 400
    assert request.attributes["error.type"] == "invalid_request"
    (attempt,) = children(spans, request)
    assert attempt.status_code == STATUS_ERROR and attempt.attributes["http.response.status_code"] == 400


def test_with_tracing_off_nothing_is_exported_and_no_traceparent_goes_upstream(proxy: Proxy,
                                                                                otlp_sink: OtlpSink) -> None:
    from proxy_app.core import tracing

    otlp_sink.reset()
    assert tracing.active is None
    header, _, _ = traceparent()
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                extra_headers={"traceparent": header})
    assert "traceparent" not in proxy.fakes.openai.chat_requests()[0].headers
    assert otlp_sink.raw() == b""


@pytest.mark.parametrize("header", ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "not a traceparent",
                                    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])
def test_an_invalid_traceparent_starts_a_new_trace(traced_proxy: Proxy, otlp_sink: OtlpSink, header: str) -> None:
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                extra_headers={"traceparent": header})
    spans = wait_for_spans(otlp_sink, lambda found: any(s.kind == SERVER for s in found))
    (request,) = [s for s in spans if s.kind == SERVER]
    assert request.parent_span_id == "" and request.trace_id != "0" * 32


def test_a_trace_the_client_does_not_sample_is_not_exported_but_still_goes_upstream(traced_proxy: Proxy,
                                                                                      otlp_sink: OtlpSink) -> None:
    from proxy_app.operations.tracing import tracing_flush

    _, trace_id, span_id = traceparent()
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                extra_headers={"traceparent": f"00-{trace_id}-{span_id}-00", "tracestate": "v=1"})
    assert tracing_flush() and otlp_sink.raw() == b""
    upstream = traced_proxy.fakes.openai.chat_requests()[0].headers
    version, upstream_trace, upstream_parent, flags = upstream["traceparent"].split("-")
    assert (upstream_trace, flags, upstream["tracestate"]) == (trace_id, "00", "v=1")
    assert upstream_parent != span_id, "the attempt's span, a child of the client's"


def test_a_sampling_ratio_of_zero_records_no_new_trace_but_a_clients_sampled_one(traced_proxy: Proxy,
                                                                                 otlp_sink: OtlpSink,
                                                                                 settings: object) -> None:
    from proxy_app.operations.tracing import tracing_configure, tracing_flush

    settings.OTEL_TRACES_SAMPLER_ARG = 0.0  # type: ignore[attr-defined]
    assert tracing_configure()
    api = openai.OpenAI(base_url=traced_proxy.openai_base, api_key=traced_proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert tracing_flush() and otlp_sink.raw() == b""
    assert traced_proxy.fakes.openai.chat_requests()[0].headers["traceparent"].endswith("-00")
    header, trace_id, _ = traceparent()
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                extra_headers={"traceparent": header})
    spans = wait_for_spans(otlp_sink, lambda found: request_span(found, trace_id) is not None)
    assert {s.trace_id for s in spans} == {trace_id}
