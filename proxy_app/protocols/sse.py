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
    multi-line ``data`` fields and comment lines. An unfinished line is kept as the pieces that
    came and joined once it ends: a long line arriving in many chunks costs its length, not its
    length times the number of chunks.
    """

    __slots__ = ("_pending", "_event", "_data")

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return []
        buffer = b"".join([*self._pending, chunk]) if self._pending else chunk
        if b"\r" in buffer:
            # keep a trailing lone \r: it may be the first half of \r\n
            tail = b"\r" if buffer.endswith(b"\r") else b""
            if tail:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + tail
        lines = buffer.split(b"\n")
        rest = lines.pop()
        self._pending = [rest] if rest else []
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
        out = self.feed(b"\n\n") if (self._pending or self._data) else []
        return out
