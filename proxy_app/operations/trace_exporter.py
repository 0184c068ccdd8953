"""The trace exporter process: ``python -m proxy_app.operations.trace_exporter <OTLP endpoint>``.

Started by the proxy (``trace_export.ExporterProcess``), never by hand. It reads batches of
request records from stdin (a 4-byte little-endian length, then ``marshal`` of the records and the
prices of their models), encodes each batch's spans (``trace_encoding``), posts it with the
OpenTelemetry SDK's OTLP/HTTP client to ``<endpoint>/v1/traces``, and answers one byte per batch on
stdout: ``1`` accepted, ``0`` not. At the end of stdin (the proxy stopped, or died) it exits.

Free of Django: it imports the SDK, our encoder and ``usage_app.price`` only.
"""

from __future__ import annotations

import logging
import marshal
import os
import signal
import sys
from typing import IO, Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource

from proxy_app.operations.trace_encoding import FRAME, encode_batch

logger = logging.getLogger("llmproxy.tracing")

SERVICE_NAME = "llm-interactive-proxy"
# Below the proxy's own priority: where they share a core, answering requests comes first (a slow
# exporter only makes the proxy's queue drop spans, counted and logged, past ``QUEUE_MAX``).
NICENESS = 10


def resource() -> dict[str, Any]:
    """The SDK's resource (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``), the proxy by default."""
    return dict(Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME}).attributes)


def serve(endpoint: str, batches: IO[bytes], answers: IO[bytes]) -> None:
    """Export each batch read from ``batches`` and answer it on ``answers``, until ``batches`` ends."""
    client = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    attributes = resource()
    try:
        while len(head := batches.read(FRAME.size)) == FRAME.size:
            (size,) = FRAME.unpack(head)
            batch = batches.read(size)
            if len(batch) != size:
                break
            try:
                records, prices = marshal.loads(batch)
                body = encode_batch(attributes, records, prices)
                accepted = client._client.export(body).success  # the SDK's HTTP client, its retries
            except Exception:  # a batch lost, never the exporter
                logger.exception("trace batch not exported")
                accepted = False
            answers.write(b"1" if accepted else b"0")
            answers.flush()
    finally:
        client.shutdown()


def main() -> None:
    # The proxy stops it by closing the pipe, after sending the rest: a Ctrl-C or a SIGTERM to the whole
    # process group (systemd, the terminal) would lose that rest and make the proxy start it again.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(NICENESS)
    logging.basicConfig(level=logging.WARNING, format="trace exporter: %(levelname)s %(message)s")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to stdout goes to stderr, never into the answers
    serve(sys.argv[1], sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
