"""A streamed chat completion, both ways: ``chat.completion.chunk`` objects as canonical stream
events (``StreamDecoder``), and canonical events as the SSE a Chat Completions client reads
(``StreamEncoder``)."""

from __future__ import annotations

import time
from typing import Any, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.openai_chat.errors import error_body, error_to_canonical
from proxy_app.protocols.openai_chat.response import (
    FINISH_REASON_IN,
    FINISH_REASON_OUT,
    usage_from_canonical,
    usage_to_canonical,
)
from proxy_app.protocols.openai_chat.types import ChatCompletionChunk, ChunkDelta, ToolCallDelta
from proxy_app.protocols.sse import sse_data


class StreamDecoder:
    """Turns OpenAI ``chat.completion.chunk`` objects into canonical stream events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._tool_ids: dict[int, str] = {}

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        if data.get("error"):
            # OpenAI and compatible servers send ``{"error": {...}}`` alone; OpenRouter sends it beside a
            # choice with ``finish_reason: "error"`` and the HTTP status as ``error.code``.
            code = data["error"].get("code") if isinstance(data["error"], dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 502
            return [c.StreamError(error_to_canonical(status, {"error": data["error"]}))]
        chunk = cast(ChatCompletionChunk, data)  # as documented; the reads below survive what compatible servers omit
        events: list[c.StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(c.StreamStart(chunk.get("id") or new_id("chatcmpl-"), chunk.get("model") or ""))
        if chunk.get("usage"):
            self._usage = usage_to_canonical(chunk.get("usage"))
        for choice in chunk.get("choices") or []:
            events += self._delta(choice.get("delta") or {})
            finish_reason = choice.get("finish_reason")
            if finish_reason:
                self._stop = FINISH_REASON_IN.get(finish_reason, "end_turn")
        return events

    def _delta(self, delta: ChunkDelta) -> list[c.StreamEvent]:
        events: list[c.StreamEvent] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(c.ThinkingDelta(reasoning))
        content, refusal = delta.get("content"), delta.get("refusal")
        if isinstance(content, str) and content:
            events.append(c.TextDelta(content))
        if isinstance(refusal, str) and refusal:
            events.append(c.TextDelta(refusal))  # a stream has no refusal event: the client reads it
        for call in delta.get("tool_calls") or []:
            events += self._tool_call(call)
        return events

    def _tool_call(self, call: ToolCallDelta) -> list[c.StreamEvent]:
        """A call's first fragment starts it (id and name); later ones, by index, add arguments."""
        events: list[c.StreamEvent] = []
        index = int(call.get("index", len(self._tool_ids)))
        fn = call.get("function") or {}
        if index not in self._tool_ids:
            self._tool_ids[index] = call.get("id") or new_id("call_")
            events.append(c.ToolCallStart(index, self._tool_ids[index], fn.get("name") or ""))
        arguments = fn.get("arguments")
        if arguments:
            events.append(c.ToolCallDelta(index, arguments))
        return events

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or "end_turn", self._usage)]


class StreamEncoder:
    """Renders canonical stream events as OpenAI SSE chunks (``data: {...}`` ... ``data: [DONE]``)."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = new_id("chatcmpl-")
        self.created = int(time.time())

    def _chunk(self, delta: ChunkDelta, finish_reason: str | None = None) -> bytes:
        chunk: ChatCompletionChunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return sse_data(chunk)

    def _usage_chunk(self, usage: c.Usage) -> bytes:
        chunk: ChatCompletionChunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage_from_canonical(usage),
        }
        return sse_data(chunk)

    def encode(self, event: c.StreamEvent) -> bytes:
        if isinstance(event, c.TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, c.ToolCallDelta):
            return self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": event.arguments}}]})
        if isinstance(event, c.ThinkingDelta):
            return self._chunk({"reasoning_content": event.text}) if event.text else b""
        if isinstance(event, c.ToolCallStart):
            call: ToolCallDelta = {"index": event.index, "id": event.id, "type": "function",
                                   "function": {"name": event.name, "arguments": ""}}
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, c.StreamStart):
            if event.id:
                self.id = event.id if event.id.startswith("chatcmpl") else f"chatcmpl-{event.id}"
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        if isinstance(event, c.StreamEnd):
            out = self._chunk({}, FINISH_REASON_OUT[event.stop_reason] or "stop")
            if self.include_usage:
                out += self._usage_chunk(event.usage)
            return out + b"data: [DONE]\n\n"
        return sse_data(error_body(event.error))
