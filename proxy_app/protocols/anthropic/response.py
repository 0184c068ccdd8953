"""A non-streamed Messages response, both directions: an upstream's answer -> canonical, and a
canonical ``ChatResponse`` -> the body an Anthropic client reads."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic import types as wire
from proxy_app.protocols.anthropic.blocks import block_to_part, tool_input
from proxy_app.protocols.anthropic.envelope import (
    STOP_REASON_IN,
    STOP_REASON_OUT,
    message_id,
    usage_from_canonical,
    usage_to_canonical,
)
from proxy_app.protocols.common import new_id

# Part ``extra`` keys safe to emit in responses (ChatResponse does not record its protocol).
_RESPONSE_BLOCK_FIELDS = ("citations",)


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    parts: list[c.Part] = []
    for j, block in enumerate(payload.get("content") or []):
        if isinstance(block, dict) and block.get("type") in ("text", "tool_use", "thinking", "redacted_thinking"):
            try:
                parts.append(block_to_part(block, f"content[{j}]"))
            except c.ProxyError as exc:  # a malformed upstream answer is the upstream's fault
                raise c.ProxyError(f"upstream response: {exc.message}", kind="bad_gateway", param=exc.param) from exc
        elif isinstance(block, dict):
            parts.append(c.RawPart(wire.NAME, block))
    stop_reason = payload.get("stop_reason")
    return c.ChatResponse(
        id=payload.get("id") or new_id("msg_"),
        model=payload.get("model") or "",
        parts=parts,
        stop_reason=STOP_REASON_IN.get(stop_reason, "end_turn"),
        usage=usage_to_canonical(payload.get("usage")),
        stop_sequence=payload.get("stop_sequence"),
    )


def _tool_input_lenient(arguments: str) -> dict[str, Any]:
    """Tool input for a response: never fail on what a model emitted; keep malformed text visible."""
    try:
        return tool_input(arguments, "content")
    except c.ProxyError:
        return {"_raw_arguments": arguments}


def _response_block(part: c.Part) -> wire.Block | None:
    block: wire.TextBlock | wire.ToolUseBlock | wire.ThinkingBlock
    if isinstance(part, c.TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, c.ToolCallPart):
        block = {"type": "tool_use", "id": part.id, "name": part.name, "input": _tool_input_lenient(part.arguments)}
    elif isinstance(part, c.ThinkingPart):
        if part.redacted_data is not None:
            return {"type": "redacted_thinking", "data": part.redacted_data}
        block = {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    elif isinstance(part, c.RawPart):
        return part.data if part.protocol == wire.NAME else None
    else:
        return None
    emitted = {k: v for k, v in (part.extra or {}).items() if k in _RESPONSE_BLOCK_FIELDS}
    return {**block, **emitted}


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> wire.MessageResponse:
    return {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [b for p in resp.parts if (b := _response_block(p)) is not None],
        "stop_reason": STOP_REASON_OUT.get(resp.stop_reason) or "end_turn",
        "stop_sequence": resp.stop_sequence,
        "usage": usage_from_canonical(resp.usage),
    }
