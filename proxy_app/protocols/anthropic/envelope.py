"""What a response and a stream share: the message's id, stop reason and usage, both directions."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic import types as wire

STOP_REASON_OUT: dict[str | None, wire.StopReason | None] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "content_filter": "refusal",
    "loop_detected": "end_turn",
    "error": "end_turn",
    None: None,
}
STOP_REASON_IN: dict[str | None, c.StopReason | None] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "end_turn",  # no canonical equivalent: the turn did end, for now
    "refusal": "content_filter",
    "model_context_window_exceeded": "max_tokens",
    None: None,
}


def message_id(any_id: str) -> str:
    """Anthropic message ids start with ``msg_``; another provider's id gets the prefix."""
    return any_id if any_id.startswith("msg_") else f"msg_{any_id}"


def usage_to_canonical(usage: Any, base: c.Usage | None = None) -> c.Usage:
    """Anthropic usage -> canonical; ``base`` supplies input counts a stream delta leaves out."""
    out = c.Usage()
    if base is not None:
        out.input_tokens, out.cached_tokens = base.input_tokens, base.cached_tokens
        out.cache_creation_tokens, out.output_tokens = base.cache_creation_tokens, base.output_tokens
        out.reasoning_tokens = base.reasoning_tokens
    if not isinstance(usage, dict):
        return out
    if any(usage.get(k) is not None for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")):
        uncached = usage.get("input_tokens")
        read = usage.get("cache_read_input_tokens")
        created = usage.get("cache_creation_input_tokens")
        old_uncached = out.input_tokens - out.cached_tokens - out.cache_creation_tokens
        read = int(read) if read is not None else out.cached_tokens
        created = int(created) if created is not None else out.cache_creation_tokens
        uncached = int(uncached) if uncached is not None else old_uncached
        out.input_tokens = uncached + read + created
        out.cached_tokens, out.cache_creation_tokens = read, created
    if usage.get("output_tokens") is not None:
        out.output_tokens = int(usage["output_tokens"])
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        out.reasoning_tokens = int(details["thinking_tokens"])
    return out


def usage_from_canonical(usage: c.Usage) -> wire.Usage:
    return {
        "input_tokens": max(usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens, 0),
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }
