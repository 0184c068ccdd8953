"""An OTLP/HTTP trace sink for the benchmarks: ``POST /v1/traces`` read and answered 200 at once.

It decodes nothing (``tests/tracing`` checks the content), so a proxy's export thread never waits
on it; it counts the batches and bytes received and prints the totals when stopped (SIGTERM).

Run: ``python bench/otlp_sink.py --port 4318``; ``bench/ab.py --otlp-sink`` starts one itself.
"""

from __future__ import annotations

import argparse
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

totals = {"batches": 0, "bytes": 0}


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming): the bench waits for /healthz
        self._answer(b"ok", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size)
        totals["batches"] += 1
        totals["bytes"] += len(body)
        self._answer(b"", "application/x-protobuf")  # an empty ExportTraceServiceResponse: all accepted

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002: quiet
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=4318)
    port = ap.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Sink)

    def stop(signum: int, frame: FrameType | None) -> None:
        print(f"otlp sink: {totals['batches']} batches, {totals['bytes']} bytes", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
