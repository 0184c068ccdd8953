"""Canonical events through the Responses stream encoder, read back as (event name, data) frames."""

from __future__ import annotations

from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.sse import SSEParser


def sse_frames(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    return [(name, orjson.loads(data)) for name, data in SSEParser().feed(raw)]


def encoded(events: list[c.StreamEvent], **kwargs: Any) -> list[tuple[str | None, dict[str, Any]]]:
    encoder = r.StreamEncoder(model="m", include_usage=True, **kwargs)
    return sse_frames(b"".join(encoder.encode(e) for e in events))
