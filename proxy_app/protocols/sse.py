"""Server-sent-event framing and incremental parsing (bytes in, events out)."""

from __future__ import annotations

from typing import Any

import orjson


def sse_data(payload: Any) -> bytes:
    """One ``data:`` event carrying ``payload`` as compact JSON."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def sse_event(name: str, payload: Any) -> bytes:
    """One named event (``event: name`` + ``data: {...}``), as Anthropic streams them."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class SSEParser:
    """Incremental SSE parser following the WHATWG event-stream rules.

    ``feed(bytes)`` returns the complete ``(event, data)`` pairs seen so far; partial
    lines are kept until the next chunk. Handles ``\\n``, ``\\r\\n`` and ``\\r`` line ends,
    multi-line ``data`` fields and comment lines.
    """

    __slots__ = ("_buffer", "_event", "_data")

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            # keep a trailing lone \r: it may be the first half of \r\n
            tail = b"\r" if buffer.endswith(b"\r") else b""
            if tail:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + tail
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        out: list[tuple[str | None, str]] = []
        for line in lines:
            if not line:
                if self._data:
                    out.append((self._event, b"\n".join(self._data).decode("utf-8", "replace")))
                self._event = None
                self._data = []
                continue
            if line.startswith(b":"):
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                self._data.append(value)
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
        return out

    def close(self) -> list[tuple[str | None, str]]:
        """Flush an event left unterminated at the end of the stream."""
        out = self.feed(b"\n\n") if (self._buffer or self._data) else []
        return out
