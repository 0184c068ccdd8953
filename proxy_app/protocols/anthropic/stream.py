"""Streaming, both directions: an upstream's named SSE events (``message_start`` … ``message_stop``) ->
canonical stream events, and canonical events -> the events an Anthropic client reads."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic import types as wire
from proxy_app.protocols.anthropic.blocks import json_text
from proxy_app.protocols.anthropic.envelope import (
    STOP_REASON_IN,
    STOP_REASON_OUT,
    message_id,
    usage_from_canonical,
    usage_to_canonical,
)
from proxy_app.protocols.anthropic.errors import ERROR_KINDS_IN, error_body
from proxy_app.protocols.common import new_id
from proxy_app.protocols.sse import sse_event


class StreamDecoder:
    """Turns Anthropic stream events (``message_start`` … ``message_stop``) into canonical events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._stop_sequence: str | None = None
        self._usage = c.Usage()
        self._block_indexes: set[int] = set()  # seen so far; their count numbers a block sent without one
        self._tool_index: dict[int, int] = {}  # wire block index -> canonical tool-call index

    def _start(self, message: dict[str, Any]) -> list[c.StreamEvent]:
        self._started = True
        self._usage = usage_to_canonical(message.get("usage"))
        usage = self._usage if isinstance(message.get("usage"), dict) else None
        return [c.StreamStart(message.get("id") or new_id("msg_"), message.get("model") or "", usage)]

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        kind = data.get("type") or event
        if kind == "error":
            return [self._error(data)]
        if kind == "message_start":
            message = data.get("message")
            return self._start(message if isinstance(message, dict) else {})
        events: list[c.StreamEvent] = []
        if not self._started and kind in ("content_block_start", "content_block_delta", "message_delta"):
            events.extend(self._start({}))
        if kind == "content_block_start":
            events.extend(self._block_start(data))
        elif kind == "content_block_delta":
            events.extend(self._block_delta(data))
        elif kind == "message_delta":
            self._message_delta(data)
        return events

    @staticmethod
    def _error(data: dict[str, Any]) -> c.StreamError:
        error = data.get("error")
        err: dict[str, Any] = error if isinstance(error, dict) else {}
        return c.StreamError(c.ProxyError(
            str(err.get("message") or "upstream stream error"),
            kind=ERROR_KINDS_IN.get(str(err.get("type")), "bad_gateway"),
        ))

    def _block_start(self, data: dict[str, Any]) -> list[c.StreamEvent]:
        index = int(data.get("index", len(self._block_indexes)))
        block: dict[str, Any] = data.get("content_block") or {}
        block_type = block.get("type")
        self._block_indexes.add(index)
        events: list[c.StreamEvent] = []
        if block_type == "text" and block.get("text"):
            events.append(c.TextDelta(block["text"]))
        elif block_type == "thinking":
            if block.get("thinking"):
                events.append(c.ThinkingDelta(block["thinking"]))
            if block.get("signature"):
                events.append(c.ThinkingDelta(signature=block["signature"]))
        elif block_type == "redacted_thinking":
            events.append(c.ThinkingDelta(redacted_data=block.get("data") or ""))
        elif block_type == "tool_use":
            tool_index = len(self._tool_index)
            self._tool_index[index] = tool_index
            events.append(c.ToolCallStart(tool_index, block.get("id") or new_id("toolu_"), block.get("name") or ""))
            if block.get("input"):
                events.append(c.ToolCallDelta(tool_index, json_text(block["input"])))
        # server_tool_use / *_tool_result blocks run upstream and have no canonical stream form
        return events

    def _block_delta(self, data: dict[str, Any]) -> list[c.StreamEvent]:
        index = int(data.get("index", 0))
        delta = data.get("delta") or {}
        delta_type = delta.get("type")
        if delta_type == "text_delta" and delta.get("text"):
            return [c.TextDelta(delta["text"])]
        if delta_type == "thinking_delta" and delta.get("thinking"):
            return [c.ThinkingDelta(delta["thinking"])]
        if delta_type == "signature_delta" and delta.get("signature"):
            return [c.ThinkingDelta(signature=delta["signature"])]
        if delta_type == "input_json_delta" and index in self._tool_index and delta.get("partial_json"):
            return [c.ToolCallDelta(self._tool_index[index], delta["partial_json"])]
        return []

    def _message_delta(self, data: dict[str, Any]) -> None:
        delta = data.get("delta") or {}
        if delta.get("stop_reason"):
            self._stop = STOP_REASON_IN.get(delta["stop_reason"], "end_turn")
        if delta.get("stop_sequence") is not None:
            self._stop_sequence = delta["stop_sequence"]
        self._usage = usage_to_canonical(data.get("usage"), self._usage)

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or "end_turn", self._usage, self._stop_sequence)]


class StreamEncoder:
    """Renders canonical stream events as Anthropic named SSE events, tracking open content blocks."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage  # Anthropic always reports usage; kept for the common surface
        self.id = new_id("msg_")
        self._started = False
        self._ended = False
        self._next_index = 0
        self._open: str | None = None  # type of the open block: text | thinking | tool_use
        self._open_index = 0
        self._signature: str | None = None
        self._tool_blocks: dict[int, int] = {}  # canonical tool index -> wire block index

    def _event(self, payload: wire.StreamEvent) -> bytes:
        return sse_event(payload["type"], payload)

    def _message_start(self, event: c.StreamStart | None) -> bytes:
        self._started = True
        if event is not None and event.id:
            self.id = message_id(event.id)
        usage = usage_from_canonical(event.usage if event is not None and event.usage else c.Usage())
        message: wire.MessageResponse = {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage,
        }
        return self._event({"type": "message_start", "message": message}) + self._event({"type": "ping"})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == "thinking" and self._signature is not None:
            out += self._delta({"type": "signature_delta", "signature": self._signature})
        self._signature = None
        out += self._event({"type": "content_block_stop", "index": self._open_index})
        self._open = None
        return out

    def _open_block(self, block: wire.ContentBlock) -> bytes:
        out = self._close()
        self._open = block["type"]
        self._open_index = self._next_index
        self._next_index += 1
        return out + self._event({"type": "content_block_start", "index": self._open_index, "content_block": block})

    def _delta(self, delta: wire.BlockDelta, index: int | None = None) -> bytes:
        index = self._open_index if index is None else index
        return self._event({"type": "content_block_delta", "index": index, "delta": delta})

    def _tool_start(self, index: int, call_id: str, name: str) -> bytes:
        out = self._open_block({"type": "tool_use", "id": call_id, "name": name, "input": {}})
        self._tool_blocks[index] = self._open_index
        return out

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._ended:
            return b""
        out = b""
        if not self._started:
            out = self._message_start(event if isinstance(event, c.StreamStart) else None)
            if isinstance(event, c.StreamStart):
                return out
        if isinstance(event, c.TextDelta):
            if not event.text:
                return out
            if self._open != "text":
                out += self._open_block({"type": "text", "text": ""})
            return out + self._delta({"type": "text_delta", "text": event.text})
        if isinstance(event, c.ThinkingDelta):
            if event.redacted_data is not None:
                out += self._open_block({"type": "redacted_thinking", "data": event.redacted_data})
                return out + self._close()
            if (event.text or event.signature is not None) and self._open != "thinking":
                out += self._open_block({"type": "thinking", "thinking": "", "signature": ""})
            if event.text:
                out += self._delta({"type": "thinking_delta", "thinking": event.text})
            if event.signature is not None:
                self._signature = (self._signature or "") + event.signature
            return out
        if isinstance(event, c.ToolCallStart):
            return out + self._tool_start(event.index, event.id, event.name)
        if isinstance(event, c.ToolCallDelta):
            if event.index not in self._tool_blocks:
                out += self._tool_start(event.index, new_id("toolu_"), "")
            if not event.arguments:
                return out
            return out + self._delta({"type": "input_json_delta", "partial_json": event.arguments},
                                     self._tool_blocks[event.index])
        if isinstance(event, c.StreamEnd):
            self._ended = True
            out += self._close()
            message_delta: wire.MessageDeltaEvent = {
                "type": "message_delta",
                "delta": {
                    "stop_reason": STOP_REASON_OUT.get(event.stop_reason) or "end_turn",
                    "stop_sequence": event.stop_sequence,
                },
                "usage": usage_from_canonical(event.usage),
            }
            return out + self._event(message_delta) + self._event({"type": "message_stop"})
        if isinstance(event, c.StreamError):
            return out + sse_event("error", error_body(event.error, request_id=False))
        return out
