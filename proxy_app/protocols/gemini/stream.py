"""``streamGenerateContent`` chunks <-> canonical stream events.

Each chunk is a whole ``GenerateContentResponse`` holding the next parts. Gemini sends function
calls whole (never argument fragments), so the decoder turns each into a ``ToolCallStart`` plus one
``ToolCallDelta``, and the encoder buffers a call's argument deltas until the call is complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.gemini.call_ids import CallIds
from proxy_app.protocols.gemini.errors import error_body, error_to_canonical
from proxy_app.protocols.gemini.json_text import args_object
from proxy_app.protocols.gemini.parts import merge_extra, part_in
from proxy_app.protocols.gemini.response import (
    FINISH_REASON_IN,
    FINISH_REASON_OUT,
    candidate_parts,
    usage_from_canonical,
    usage_in,
)
from proxy_app.protocols.gemini.types import Candidate, Part, StreamChunk
from proxy_app.protocols.gemini.wire import camel_keys


class StreamDecoder:
    """Turns streamed ``GenerateContentResponse`` objects into canonical stream events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._calls = 0
        self._ids = CallIds(stable=False)

    def feed(self, chunk: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        events: list[c.StreamEvent] = []
        if isinstance(chunk, dict) and "error" in chunk and "candidates" not in chunk:
            err = chunk["error"] if isinstance(chunk["error"], dict) else {}
            code = err.get("code")
            return [c.StreamError(error_to_canonical(code if isinstance(code, int) else 502, chunk))]
        wire = cast(StreamChunk, camel_keys(chunk))  # untrusted: each value is still checked
        if not self._started:
            self._started = True
            events.append(c.StreamStart(wire.get("responseId") or new_id("resp_"), wire.get("modelVersion") or ""))
        if isinstance(wire.get("usageMetadata"), dict):
            self._usage = usage_in(wire["usageMetadata"])
        candidates = wire.get("candidates") or []
        feedback = wire.get("promptFeedback")
        if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
            self._stop = "content_filter"
        for given in candidates[:1]:
            candidate = cast(Candidate, camel_keys(given)) if isinstance(given, dict) else {}
            for raw in candidate_parts(candidate):
                events.extend(self._part(raw))
            if candidate.get("finishReason"):
                self._stop = FINISH_REASON_IN.get(candidate["finishReason"], "error")
        return events

    def _part(self, raw: Any) -> list[c.StreamEvent]:
        try:
            part = part_in(raw, "candidates[0].content.parts", self._ids, model_turn=True)
        except c.ProxyError as exc:
            return [c.StreamError(c.ProxyError(f"malformed upstream chunk: {exc.message}", kind="bad_gateway"))]
        if isinstance(part, c.ThinkingPart):
            return [c.ThinkingDelta(part.text, signature=part.signature)]
        if isinstance(part, c.TextPart):
            events: list[c.StreamEvent] = [c.TextDelta(part.text)] if part.text else []
            signature = (part.extra or {}).get("thoughtSignature")
            if signature:
                events.append(c.ThinkingDelta("", signature=signature))
            return events
        if isinstance(part, c.ToolCallPart):
            index = self._calls
            self._calls += 1
            start = c.ToolCallStart(index, part.id, part.name, extra=part.extra)
            return [start, c.ToolCallDelta(index, part.arguments)]
        return []  # images, code execution …: no canonical stream event carries them

    def finish(self) -> list[c.StreamEvent]:
        stop = self._stop or "end_turn"
        if self._calls and stop == "end_turn":
            stop = "tool_use"
        return [c.StreamEnd(stop, self._usage)]


class StreamEncoder:
    """Renders canonical stream events as Gemini ``streamGenerateContent`` chunks.

    ``sse=True`` frames them as ``?alt=sse`` does (``data: {...}\\r\\n\\r\\n``); ``sse=False``
    writes the default JSON-array stream. Tool calls are buffered and sent whole.
    """

    def __init__(self, *, model: str, include_usage: bool, sse: bool = True) -> None:
        self.model = model
        self.include_usage = include_usage  # Gemini always reports usage; kept for a uniform surface
        self.sse = sse
        self.content_type = "text/event-stream" if sse else "application/json"
        self.id = new_id("resp_")
        self._sent = False
        self._closed = False
        self._calls: dict[int, tuple[c.ToolCallStart, list[str]]] = {}  # by index: the start, argument deltas

    def _frame(self, obj: Mapping[str, object]) -> bytes:
        body = orjson.dumps(obj)
        if self.sse:
            return b"data: " + body + b"\r\n\r\n"
        prefix = b",\r\n" if self._sent else b"["
        self._sent = True
        return prefix + body

    def _chunk(self, parts: list[Part], finish: str | None = None, usage: c.Usage | None = None) -> bytes:
        candidate: Candidate = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        chunk: StreamChunk = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = usage_from_canonical(usage)
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.id
        return self._frame(chunk)

    def _pending_calls(self) -> list[Part]:
        parts = []
        for start, arguments in (self._calls[i] for i in sorted(self._calls)):
            call: Part = {"functionCall": {"name": start.name, "args": args_object("".join(arguments))}}
            parts.append(merge_extra(call, start.extra, "wire"))
        self._calls = {}
        return parts

    def _flush(self) -> bytes:
        return self._chunk(self._pending_calls()) if self._calls else b""

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._closed:
            return b""
        if isinstance(event, c.ToolCallStart):
            self._calls[event.index] = (event, [])
            return b""
        if isinstance(event, c.ToolCallDelta):
            if event.index in self._calls:
                self._calls[event.index][1].append(event.arguments)
            return b""
        if isinstance(event, c.TextDelta):
            return self._flush() + (self._chunk([{"text": event.text}]) if event.text else b"")
        if isinstance(event, c.ThinkingDelta):
            out = self._flush()
            if event.text:
                part: Part = {"text": event.text, "thought": True}
            elif event.signature:
                part = {"text": ""}
            else:
                return out
            if event.signature:
                part["thoughtSignature"] = event.signature
            return out + self._chunk([part])
        if isinstance(event, c.StreamStart):
            if event.id:
                self.id = event.id
            return b""
        if isinstance(event, c.StreamEnd):
            parts = self._pending_calls() or [{"text": ""}]
            self._closed = True
            out = self._chunk(parts, FINISH_REASON_OUT[event.stop_reason] or "STOP", event.usage)
            return out if self.sse else out + b"]"
        if isinstance(event, c.StreamError):
            self._closed = True
            out = self._frame(error_body(event.error))
            return out if self.sse else out + b"]"
        return b""
