"""The hand-written OTLP encoding, read back with the official protobuf definitions."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from proxy_app.operations.otlp_encoding import (
    CLIENT,
    SERVER,
    SpanRecord,
    encode_export_request,
    encode_span,
    scope_span,
    span_attribute,
)
from tests.tracing.otlp_sink import value_of

TRACE, PARENT, CHILD = bytes(range(16)), bytes(range(8)), bytes(range(8, 16))


def decoded(*spans: SpanRecord, added: bytes = b"") -> ExportTraceServiceRequest:
    """``spans`` exported, the first with the attribute fields ``added`` after its own."""
    bodies = [encode_span(span) for span in spans]
    bodies[0] += added
    body = encode_export_request({"service.name": "proxy", "host.cpus": 2}, "llmproxy", "1",
                                 b"".join(scope_span(body) for body in bodies))
    return ExportTraceServiceRequest.FromString(body)


def test_every_value_type_and_field_decodes_as_written() -> None:
    attributes = {"s": "é" * 300, "t": True, "one": 1, "neg": -5, "big": 2**40, "f": 0.25, "short": "openai"}
    request = SpanRecord(TRACE, PARENT, b"", "chat gpt-4o", SERVER, 10**18, 10**18 + 5, dict(attributes),
                         [("llmproxy.first_token", 10**18 + 2, {"n": 3})], error="rate_limit")
    attempt = SpanRecord(TRACE, CHILD, PARENT, "chat gpt-4o", CLIENT, 10**18 + 1, 10**18 + 4, {"one": True})
    message = decoded(request, attempt, added=span_attribute("cost", 0.5))
    (resource_spans,) = message.resource_spans
    assert {kv.key: value_of(kv.value) for kv in resource_spans.resource.attributes} == {"service.name": "proxy",
                                                                                         "host.cpus": 2}
    (scope_spans,) = resource_spans.scope_spans
    assert (scope_spans.scope.name, scope_spans.scope.version) == ("llmproxy", "1")
    first, second = scope_spans.spans
    assert (first.trace_id, first.span_id, first.parent_span_id) == (TRACE, PARENT, b"")
    assert (first.name, first.kind, first.start_time_unix_nano, first.end_time_unix_nano) == (
        "chat gpt-4o", SERVER, 10**18, 10**18 + 5)
    assert {kv.key: value_of(kv.value) for kv in first.attributes} == {**attributes, "cost": 0.5}
    (event,) = first.events
    assert (event.name, event.time_unix_nano, value_of(event.attributes[0].value)) == ("llmproxy.first_token",
                                                                                        10**18 + 2, 3)
    assert (first.status.code, first.status.message) == (2, "rate_limit")
    assert (second.parent_span_id, second.kind, second.status.code) == (PARENT, CLIENT, 0)
    assert value_of(second.attributes[0].value) is True, "a cached True is not mistaken for 1"
