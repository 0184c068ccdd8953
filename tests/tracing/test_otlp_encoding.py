"""The hand-written OTLP encoding, read back with the official protobuf definitions."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from proxy_app.operations.otlp_encoding import (
    CLIENT,
    SERVER,
    attribute_fields,
    double_attribute,
    encode_export_request,
    encode_span,
    error_status,
    event_field,
    int_attribute,
    name_field,
    scope_span,
    span_attribute,
)
from tests.tracing.otlp_sink import value_of

TRACE, PARENT, CHILD = bytes(range(16)), int.from_bytes(bytes(range(8))), int.from_bytes(bytes(range(8, 16)))


def decoded(*bodies: bytes) -> ExportTraceServiceRequest:
    body = encode_export_request({"service.name": "proxy", "host.cpus": 2}, "llmproxy", "1",
                                 [scope_span(body) for body in bodies])
    return ExportTraceServiceRequest.FromString(body)


def test_every_value_type_and_field_decodes_as_written() -> None:
    attributes = {"s": "é" * 300, "t": True, "one": 1, "neg": -5, "big": 2**40, "f": 0.25, "short": "openai"}
    request = encode_span(TRACE, PARENT, 0, SERVER, 10**18, 10**18 + 5, [
        name_field("chat gpt-4o"), attribute_fields(attributes), event_field("llmproxy.first_token", 10**18 + 2, {"n": 3}),
        error_status("rate_limit"), int_attribute("tokens", 300), int_attribute("negative", -2),
        double_attribute("ttft", 0.125)]) + span_attribute("cost", 0.5)
    attempt = encode_span(TRACE, CHILD, PARENT, CLIENT, 10**18 + 1, 10**18 + 4, [attribute_fields({"one": True})])
    message = decoded(request, attempt)
    (resource_spans,) = message.resource_spans
    assert {kv.key: value_of(kv.value) for kv in resource_spans.resource.attributes} == {"service.name": "proxy",
                                                                                         "host.cpus": 2}
    (scope_spans,) = resource_spans.scope_spans
    assert (scope_spans.scope.name, scope_spans.scope.version) == ("llmproxy", "1")
    first, second = scope_spans.spans
    assert (first.trace_id, first.span_id, first.parent_span_id) == (TRACE, bytes(range(8)), b"")
    assert (first.name, first.kind, first.start_time_unix_nano, first.end_time_unix_nano) == (
        "chat gpt-4o", SERVER, 10**18, 10**18 + 5)
    assert {kv.key: value_of(kv.value) for kv in first.attributes} == {**attributes, "tokens": 300, "negative": -2,
                                                                       "ttft": 0.125, "cost": 0.5}
    (event,) = first.events
    assert (event.name, event.time_unix_nano, value_of(event.attributes[0].value)) == ("llmproxy.first_token",
                                                                                        10**18 + 2, 3)
    assert (first.status.code, first.status.message) == (2, "rate_limit")
    assert (second.parent_span_id, second.kind, second.status.code) == (bytes(range(8)), CLIENT, 0)
    assert value_of(second.attributes[0].value) is True, "a cached True is not mistaken for 1"
