"""Canonical stream events as the Responses API's stream: response.created and in_progress, then
output items (a message with its text, a reasoning summary, function calls) opened, filled by
deltas and closed, and response.completed (response.incomplete when cut short, response.failed
after an error event)."""

from __future__ import annotations

import time
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.openai_responses.errors import FAILURE_CODES
from proxy_app.protocols.openai_responses.response import (
    ItemStatus,
    ResponseStatus,
    function_call_item,
    response_id,
    response_object,
    status_for,
)
from proxy_app.protocols.openai_responses.types import (
    FunctionCallItem,
    OutputItem,
    OutputMessage,
    OutputText,
    ReasoningItem,
    Response,
    ResponseError,
    ResponseStreamEvent,
    SummaryText,
)
from proxy_app.protocols.sse import sse_event

# the output items a stream builds
StreamItem = OutputMessage | ReasoningItem | FunctionCallItem


class StreamEncoder:
    """Renders canonical stream events as the Responses API's named SSE events, each with a
    ``sequence_number``: response.created, response.in_progress, output items with their
    content parts and deltas, and response.completed (response.incomplete when cut short)."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool = True, echo: dict[str, Any] | None = None) -> None:
        self.model = model
        self.include_usage = include_usage  # the final response always carries usage in this protocol
        self.echo = echo
        self.id = new_id("resp_")
        self.created_at = int(time.time())
        self._seq = 0
        self._started = False
        self._output: list[StreamItem] = []  # items as they will appear in the final response
        self._open: list[int] = []  # output indexes of items not yet done
        self._text: dict[int, str] = {}  # output index -> accumulated text (message or reasoning summary)
        self._tools: dict[int, int] = {}  # canonical tool index -> output index
        self._finished = False

    # -- framing -------------------------------------------------------------

    def _event(self, kind: str, payload: ResponseStreamEvent) -> bytes:
        body: ResponseStreamEvent = {"type": kind, "sequence_number": self._seq, **payload}
        self._seq += 1
        return sse_event(kind, body)

    def _snapshot(self, status: ResponseStatus, *, usage: c.Usage | None = None,
                  stop_reason: c.StopReason | None = None, error: ResponseError | None = None) -> Response:
        output: list[OutputItem] = list(self._output) if status != "in_progress" else []
        return response_object(id=self.id, model=self.model, created_at=self.created_at, status=status,
                               output=output, usage=usage, echo=self.echo, stop_reason=stop_reason, error=error)

    def _start(self, event: c.StreamStart | None = None) -> bytes:
        self._started = True
        if event is not None and event.id:
            self.id = response_id(event.id)
        snapshot = self._snapshot("in_progress")
        return (self._event("response.created", {"response": snapshot})
                + self._event("response.in_progress", {"response": snapshot}))

    # -- items ---------------------------------------------------------------

    def _add(self, item: StreamItem) -> tuple[int, bytes]:
        index = len(self._output)
        self._output.append(item)
        self._open.append(index)
        return index, self._event("response.output_item.added", {"output_index": index, "item": item})

    def _current(self, kind: str) -> int | None:
        if self._open and self._output[self._open[-1]]["type"] == kind:
            return self._open[-1]
        return None

    def _close(self, index: int, status: ItemStatus = "completed") -> bytes:
        item = self._output[index]
        item_id = item["id"]
        out = b""
        if item["type"] == "message":
            text = self._text.get(index, "")
            part: OutputText = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out += self._event("response.output_text.done", {
                "item_id": item_id, "output_index": index, "content_index": 0, "text": text, "logprobs": []})
            out += self._event("response.content_part.done", {
                "item_id": item_id, "output_index": index, "content_index": 0, "part": part})
            item["content"] = [part]
            item["status"] = status
        elif item["type"] == "reasoning":
            text = self._text.get(index, "")
            summary: SummaryText = {"type": "summary_text", "text": text}
            out += self._event("response.reasoning_summary_text.done", {
                "item_id": item_id, "output_index": index, "summary_index": 0, "text": text})
            out += self._event("response.reasoning_summary_part.done", {
                "item_id": item_id, "output_index": index, "summary_index": 0, "part": summary})
            item["summary"] = [summary]
        else:
            out += self._event("response.function_call_arguments.done", {
                "item_id": item_id, "output_index": index, "arguments": item["arguments"]})
            item["status"] = status
        self._open.remove(index)
        return out + self._event("response.output_item.done", {"output_index": index, "item": item})

    def _close_all(self, status: ItemStatus = "completed") -> bytes:
        return b"".join(self._close(index, status) for index in list(self._open))

    def _open_message(self) -> tuple[int, bytes]:
        out = self._close_all()
        item: OutputMessage = {"id": new_id("msg_"), "type": "message", "status": "in_progress", "role": "assistant",
                               "content": []}
        index, added = self._add(item)
        part: OutputText = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        out += added + self._event("response.content_part.added", {
            "item_id": item["id"], "output_index": index, "content_index": 0, "part": part})
        return index, out

    def _open_reasoning(self) -> tuple[int, bytes]:
        out = self._close_all()
        item: ReasoningItem = {"id": new_id("rs_"), "type": "reasoning", "summary": []}
        index, added = self._add(item)
        out += added + self._event("response.reasoning_summary_part.added", {
            "item_id": item["id"], "output_index": index, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""}})
        return index, out

    # -- events --------------------------------------------------------------

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._finished:
            return b""
        if isinstance(event, c.StreamStart):
            return b"" if self._started else self._start(event)
        out = b"" if self._started else self._start()
        if isinstance(event, c.TextDelta):
            return out + self._text_delta(event)
        if isinstance(event, c.ThinkingDelta):
            return out + self._thinking_delta(event)
        if isinstance(event, c.ToolCallStart):
            return out + self._tool_call_start(event)
        if isinstance(event, c.ToolCallDelta):
            return out + self._tool_call_delta(event)
        self._finished = True
        if isinstance(event, c.StreamEnd):
            status = status_for(event.stop_reason)
            out += self._close_all("incomplete" if status == "incomplete" else "completed")
            snapshot = self._snapshot(status, usage=event.usage, stop_reason=event.stop_reason)
            kind = "response.incomplete" if status == "incomplete" else "response.completed"
            return out + self._event(kind, {"response": snapshot})
        err = event.error
        code = FAILURE_CODES.get(err.kind, "server_error")
        out += self._event("error", {"code": err.code or code, "message": err.message, "param": err.param})
        snapshot = self._snapshot("failed", error={"code": code, "message": err.message})
        return out + self._event("response.failed", {"response": snapshot})

    def _text_delta(self, event: c.TextDelta) -> bytes:
        if not event.text:
            return b""
        out = b""
        index = self._current("message")
        if index is None:
            index, out = self._open_message()
        self._text[index] = self._text.get(index, "") + event.text
        return out + self._event("response.output_text.delta", {
            "item_id": self._output[index]["id"], "output_index": index, "content_index": 0,
            "delta": event.text, "logprobs": []})

    def _thinking_delta(self, event: c.ThinkingDelta) -> bytes:
        if not event.text and not event.signature:
            return b""  # redacted thinking has no Responses form
        out = b""
        index = self._current("reasoning")
        if index is None:
            index, out = self._open_reasoning()
        if event.signature:  # reasoning state handed to the client (the proxy seals it: reasoning_seal)
            item = self._output[index]
            assert item["type"] == "reasoning"  # the open reasoning item
            item["encrypted_content"] = event.signature
            if not event.text:
                return out
        self._text[index] = self._text.get(index, "") + event.text
        return out + self._event("response.reasoning_summary_text.delta", {
            "item_id": self._output[index]["id"], "output_index": index, "summary_index": 0,
            "delta": event.text})

    def _tool_call_start(self, event: c.ToolCallStart) -> bytes:
        # parallel calls may interleave their argument deltas: keep earlier calls open
        out = b"".join(self._close(i) for i in list(self._open) if self._output[i]["type"] != "function_call")
        item = function_call_item(new_id("fc_"), "in_progress", "", event.id, event.name, self.echo)
        index, added = self._add(item)
        self._tools[event.index] = index
        return out + added

    def _tool_call_delta(self, event: c.ToolCallDelta) -> bytes:
        index = self._tools.get(event.index)
        if index is None or index not in self._open or not event.arguments:
            return b""
        item = self._output[index]
        assert item["type"] == "function_call"  # a tool index maps to its call's item
        item["arguments"] += event.arguments
        return self._event("response.function_call_arguments.delta", {
            "item_id": item["id"], "output_index": index, "delta": event.arguments})

