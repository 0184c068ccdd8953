"""A real OTLP/HTTP trace endpoint on a loopback port: ``POST /v1/traces`` bodies decoded with the
official protobuf definitions (``opentelemetry-proto``), kept raw too for scanning."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.fakes.server import serve_in_thread, stop_in_thread


@dataclass
class ExportedSpan:
    """One received span, its ids as hex (as in a ``traceparent``) and its attributes as Python values."""

    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status_code: int
    start_ns: int
    end_ns: int
    resource: dict[str, Any]


def value_of(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: value_of(pair.value) for pair in pairs}


class OtlpSink:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.refusing = False  # answer 400, as a collector does to what it cannot take (no retry)
        self.answer_delay = 0.0  # seconds before each answer: a collector far away
        self.lock = threading.Lock()
        self.port = 0
        self._loop: Any = None
        self._runner: Any = None

    def start(self) -> OtlpSink:
        async def receive(request: web.Request) -> web.Response:
            body = await request.read()
            await asyncio.sleep(self.answer_delay)
            if self.refusing:
                return web.json_response({"code": 3, "message": "refused by the test"}, status=400)
            ExportTraceServiceRequest.FromString(body)  # a body that is not OTLP protobuf fails the export
            with self.lock:
                self.bodies.append(body)
            return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                                content_type="application/x-protobuf")

        async def build() -> web.Application:
            app = web.Application()
            app.router.add_post("/v1/traces", receive)
            return app

        self.port, self._loop, self._runner = serve_in_thread(build, "otlp-sink")
        return self

    def stop(self) -> None:
        stop_in_thread(self._loop, self._runner)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.bodies.clear()
        self.refusing = False
        self.answer_delay = 0.0

    def raw(self) -> bytes:
        with self.lock:
            return b"".join(self.bodies)

    def spans(self) -> list[ExportedSpan]:
        with self.lock:
            bodies = list(self.bodies)
        found = []
        for body in bodies:
            for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    found.extend(_exported(span, resource) for span in scope_spans.spans)
        return found


def _exported(span: Span, resource: dict[str, Any]) -> ExportedSpan:
    return ExportedSpan(
        name=span.name, kind=span.kind, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(), attributes=_attributes(span.attributes),
        events=[(e.name, e.time_unix_nano, _attributes(e.attributes)) for e in span.events],
        status_code=span.status.code, start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
        resource=resource,
    )
