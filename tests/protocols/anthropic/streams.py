"""SSE helpers for the stream tests: frame events as Anthropic sends them, parse what an encoder
wrote, decode events with the protocol's ``StreamDecoder``."""

from __future__ import annotations

from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from proxy_app.protocols.sse import SSEParser


def frames(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def parse(raw: bytes) -> list[dict[str, Any]]:
    parser = SSEParser()
    out = []
    for name, data in parser.feed(raw) + parser.close():
        payload = orjson.loads(data)
        assert name == payload["type"]
        out.append(payload)
    return out


def decode(events: list[dict[str, Any]]) -> list[c.StreamEvent]:
    decoder = a.StreamDecoder()
    out: list[c.StreamEvent] = []
    for event in events:
        out.extend(decoder.feed(event, event["type"]))
    return out + decoder.finish()
