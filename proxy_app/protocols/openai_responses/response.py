"""A ``response`` object, both ways, with what its stream shares with it: the object itself (each
stream event's snapshot is one), its output items, usage and the incomplete reasons."""

from __future__ import annotations

import time
from typing import Any, Literal, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.openai_responses.extras import NAME, X, own, with_own
from proxy_app.protocols.openai_responses.namespaces import namespaced
from proxy_app.protocols.openai_responses.request_in import reasoning_item_to_canonical
from proxy_app.protocols.openai_responses.types import (
    FunctionCallItem,
    IncompleteDetails,
    OutputItem,
    OutputMessage,
    ReasoningItem,
    Response,
    ResponseError,
    ResponseUsage,
)

ItemStatus = Literal["completed", "incomplete", "in_progress"]
ResponseStatus = Literal["completed", "incomplete", "in_progress", "failed"]

# OpenAI's own response fields a non-streamed answer keeps for an OpenAI client.
_RESPONSE_EXTRAS = frozenset({"service_tier", "system_fingerprint"})

INCOMPLETE_REASON_OUT: dict[str | None, str] = {"max_tokens": "max_output_tokens", "content_filter": "content_filter"}
INCOMPLETE_REASON_IN: dict[str | None, c.StopReason] = {
    "max_output_tokens": "max_tokens", "content_filter": "content_filter",
}


# ---------------------------------------------------------------- usage


def usage_from_canonical(usage: c.Usage) -> ResponseUsage:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": usage.cache_creation_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def usage_to_canonical(usage: ResponseUsage | None) -> c.Usage:
    if not isinstance(usage, dict):
        return c.Usage()
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return c.Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=int(input_details.get("cached_tokens") or 0),
        reasoning_tokens=int(output_details.get("reasoning_tokens") or 0),
        cache_creation_tokens=int(input_details.get("cache_write_tokens") or 0),
    )


# ---------------------------------------------------------------- wire -> canonical


def _stop_reason_in(response: Response, parts: list[c.Part]) -> c.StopReason:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if details else None
        return INCOMPLETE_REASON_IN.get(reason, "max_tokens")
    if any(isinstance(p, c.ToolCallPart) for p in parts):
        return "tool_use"
    return "end_turn"


def _message_parts(item: dict[str, Any]) -> list[c.Part]:
    """An output message's text and refusals, each remembering its item (id, phase)."""
    parts: list[c.Part] = []
    item_x = {k: item[k] for k in ("id", "phase") if k in item}
    for content in item.get("content") or []:
        if not isinstance(content, dict):
            continue
        if content.get("type") == "output_text":
            x = {"item": item_x}
            if content.get("annotations"):
                x["annotations"] = content["annotations"]
            parts.append(c.TextPart(content.get("text") or "", extra={X: x}))
        elif content.get("type") == "refusal":
            parts.append(c.TextPart(content.get("refusal") or "", extra={X: {"item": item_x, "refusal": True}}))
    return parts


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    response = cast(Response, payload)  # as documented; the reads below survive what compatible servers omit
    parts: list[c.Part] = []
    for raw in response.get("output") or []:
        if not isinstance(raw, dict):
            continue
        item = cast(dict[str, Any], raw)  # whatever its type, read field by field
        kind = item.get("type")
        if kind == "message":
            parts += _message_parts(item)
        elif kind == "function_call":
            parts.append(c.ToolCallPart(item.get("call_id") or new_id("call_"), item.get("name") or "",
                                        item.get("arguments") or "", extra=with_own({"id": item.get("id")})))
        elif kind == "reasoning":
            parts.append(reasoning_item_to_canonical(item))
        else:
            parts.append(c.RawPart(NAME, item))
    created_at = response.get("created_at")
    return c.ChatResponse(
        id=response.get("id") or new_id("resp_"),
        model=response.get("model") or "",
        parts=parts,
        stop_reason=_stop_reason_in(response, parts),
        usage=usage_to_canonical(response.get("usage")),
        created=int(created_at) if isinstance(created_at, (int, float)) else None,
        extra={k: v for k, v in payload.items() if k in _RESPONSE_EXTRAS},
    )


# ---------------------------------------------------------------- canonical -> wire


def response_id(upstream_id: str | None) -> str:
    if not upstream_id:
        return new_id("resp_")
    return upstream_id if upstream_id.startswith("resp_") else f"resp_{upstream_id}"


def response_object(
    *, id: str, model: str, created_at: int, status: ResponseStatus, output: list[OutputItem],
    usage: c.Usage | None, echo: dict[str, Any] | None, stop_reason: c.StopReason | None = None,
    error: ResponseError | None = None,
) -> Response:
    """A complete ``response`` object, with the request fields OpenAI echoes back."""
    echo = echo or {}
    incomplete: IncompleteDetails | None = (
        {"reason": INCOMPLETE_REASON_OUT[stop_reason]} if status == "incomplete" and stop_reason else None)
    body: Response = {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "max_tool_calls": echo.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None, **(echo.get("reasoning") or {})},
        "service_tier": echo.get("service_tier", "default"),
        "store": False,  # nothing is stored: a later previous_response_id cannot refer to this response
        "temperature": echo.get("temperature", 1.0),
        "text": echo.get("text") or {"format": {"type": "text"}},
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_p": echo.get("top_p", 1.0),
        "truncation": echo.get("truncation", "disabled"),
        "usage": usage_from_canonical(usage) if usage is not None else None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata") or {},
    }
    if "prompt_cache_key" in echo:
        body["prompt_cache_key"] = echo["prompt_cache_key"]
    if "safety_identifier" in echo:
        body["safety_identifier"] = echo["safety_identifier"]
    if "top_logprobs" in echo:
        body["top_logprobs"] = echo["top_logprobs"]
    return body


def status_for(stop_reason: c.StopReason | None) -> Literal["incomplete", "completed"]:
    return "incomplete" if stop_reason in INCOMPLETE_REASON_OUT else "completed"


def function_call_item(item_id: str, status: ItemStatus, arguments: str, call_id: str, name: str,
                       echo: dict[str, Any] | None) -> FunctionCallItem:
    """A function_call output item; a namespace tool's call names its function and namespace apart."""
    name, namespace = namespaced(name, echo)
    item: FunctionCallItem = {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
                              "call_id": call_id, "name": name}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def _reasoning_output(part: c.ThinkingPart) -> ReasoningItem | None:
    x = own(part.extra)
    if not part.text and not x.get("encrypted_content"):
        return None  # redacted or signature-only thinking has nothing a Responses client can use
    item: ReasoningItem = {"id": x.get("id") or new_id("rs_"), "type": "reasoning",
                           "summary": [{"type": "summary_text", "text": part.text}] if part.text else []}
    if x.get("encrypted_content"):
        item["encrypted_content"] = x["encrypted_content"]
    return item


def _output_items(parts: list[c.Part], item_status: ItemStatus, echo: dict[str, Any] | None = None) -> list[OutputItem]:
    items: list[OutputItem] = []
    message: OutputMessage | None = None
    for part in parts:
        if isinstance(part, c.TextPart):
            x = own(part.extra)
            item_id = (x.get("item") or {}).get("id")
            if message is None or (item_id and message["id"] != item_id):
                message = {"id": item_id or new_id("msg_"), "type": "message", "status": item_status,
                           "role": "assistant", "content": []}
                items.append(message)
            if x.get("refusal"):
                message["content"].append({"type": "refusal", "refusal": part.text})
            else:
                message["content"].append({"type": "output_text", "text": part.text,
                                           "annotations": x.get("annotations", []), "logprobs": []})
            continue
        message = None
        if isinstance(part, c.ThinkingPart):
            if (reasoning := _reasoning_output(part)) is not None:
                items.append(reasoning)
        elif isinstance(part, c.ToolCallPart):
            items.append(function_call_item(own(part.extra).get("id") or new_id("fc_"), "completed", part.arguments,
                                            part.id, part.name, echo))
        elif isinstance(part, c.RawPart) and part.protocol == NAME:
            items.append(part.data)
    return items


def response_from_canonical(resp: c.ChatResponse, *, model: str, echo: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Responses API ``response`` object; ``echo`` holds the request fields to repeat (see ``request_echo``)."""
    status = status_for(resp.stop_reason)
    body = response_object(
        id=response_id(resp.id), model=model, created_at=resp.created or int(time.time()), status=status,
        output=_output_items(resp.parts, "incomplete" if status == "incomplete" else "completed", echo),
        usage=resp.usage, echo=echo, stop_reason=resp.stop_reason,
    )
    kept = {k: v for k, v in resp.extra.items() if k in _RESPONSE_EXTRAS and k != "system_fingerprint"}
    return {**body, **kept}
