"""A Responses API stream as canonical stream events: text and refusal deltas as text, reasoning
deltas as thinking, function_call items and their argument deltas as tool calls, and the final
response's status and usage as the end."""

from __future__ import annotations

from typing import Any, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.openai_responses.errors import failure_to_canonical
from proxy_app.protocols.openai_responses.extras import with_own
from proxy_app.protocols.openai_responses.response import INCOMPLETE_REASON_IN, usage_to_canonical
from proxy_app.protocols.openai_responses.types import FunctionCallItem, Response, ResponseStreamEvent


class StreamDecoder:
    """Turns Responses API stream events (``response.*``) into canonical stream events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._tools: dict[str, int] = {}  # item id (or output index) -> canonical tool index
        self._tool_args: dict[int, bool] = {}  # canonical tool index -> saw argument deltas

    def _tool_index(self, frame: ResponseStreamEvent) -> int | None:
        key = frame.get("item_id") or str(frame.get("output_index"))
        return self._tools.get(key, self._tools.get(str(frame.get("output_index"))))

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        kind = data.get("type") or event
        if kind == "error":
            err = data.get("error") if isinstance(data.get("error"), dict) else data
            return [c.StreamError(failure_to_canonical(err))]
        if kind == "response.failed":
            err = (data.get("response") or {}).get("error") or {"message": "the upstream response failed"}
            return [c.StreamError(failure_to_canonical(err))]
        frame = cast(ResponseStreamEvent, data)  # as documented; the reads below survive what is missing
        events: list[c.StreamEvent] = []
        if not self._started and kind in ("response.created", "response.in_progress", "response.queued"):
            self._started = True
            response = frame.get("response") or {}
            return [c.StreamStart(response.get("id") or new_id("resp_"), response.get("model") or "")]
        if not self._started:
            self._started = True
            events.append(c.StreamStart(new_id("resp_"), ""))
        if kind == "response.output_item.added":
            item = frame.get("item") or {}
            if item.get("type") == "function_call":
                events += self._function_call(cast(FunctionCallItem, item), frame.get("output_index"))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            if delta := frame.get("delta"):
                events.append(c.TextDelta(delta))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if delta := frame.get("delta"):
                events.append(c.ThinkingDelta(delta))
        elif kind == "response.reasoning_summary_part.added" and frame.get("summary_index", 0) > 0:
            events.append(c.ThinkingDelta("\n\n"))
        elif kind == "response.function_call_arguments.delta":
            index = self._tool_index(frame)
            if index is not None and (delta := frame.get("delta")):
                self._tool_args[index] = True
                events.append(c.ToolCallDelta(index, delta))
        elif kind == "response.function_call_arguments.done":
            index = self._tool_index(frame)
            if index is not None and not self._tool_args.get(index) and (arguments := frame.get("arguments")):
                self._tool_args[index] = True
                events.append(c.ToolCallDelta(index, arguments))
        elif kind in ("response.completed", "response.incomplete"):
            self._end(frame.get("response") or {}, incomplete=kind == "response.incomplete")
        return events

    def _function_call(self, item: FunctionCallItem, output_index: int | None) -> list[c.StreamEvent]:
        """A function_call item starts a tool call, found again by its item id or output index."""
        index = len(self._tool_args)
        self._tools[str(output_index)] = index
        if item.get("id"):
            self._tools[item["id"]] = index
        self._tool_args[index] = False
        events: list[c.StreamEvent] = [c.ToolCallStart(index, item.get("call_id") or new_id("call_"),
                                                       item.get("name") or "", extra=with_own({"id": item.get("id")}))]
        if arguments := item.get("arguments"):
            self._tool_args[index] = True
            events.append(c.ToolCallDelta(index, arguments))
        return events

    def _end(self, response: Response, *, incomplete: bool) -> None:
        self._usage = usage_to_canonical(response.get("usage"))
        if response.get("status") == "incomplete" or incomplete:
            details = response.get("incomplete_details")
            self._stop = INCOMPLETE_REASON_IN.get(details.get("reason") if details else None, "max_tokens")
        else:
            self._stop = "tool_use" if self._tools else "end_turn"

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or ("tool_use" if self._tools else "end_turn"), self._usage)]
