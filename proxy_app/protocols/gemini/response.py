"""``generateContent`` answer <-> canonical response, with the usage and finish-reason mappings the stream shares.

Only the first candidate is read (the proxy never asks for more). Gemini-only detail (safety
ratings, grounding, token breakdowns) is kept in ``ChatResponse.extra`` and re-emitted by this
module only.
"""

from __future__ import annotations

from typing import Any, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.gemini.call_ids import CallIds
from proxy_app.protocols.gemini.parts import part_in, part_out
from proxy_app.protocols.gemini.types import Candidate, GenerateContentResponse, UsageMetadata
from proxy_app.protocols.gemini.wire import NAME, camel_keys, with_fields, without

FINISH_REASON_OUT: dict[str | None, str | None] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "max_tokens": "MAX_TOKENS",
    "tool_use": "STOP",  # Gemini reports STOP when it answers with function calls
    "content_filter": "SAFETY",
    "loop_detected": "OTHER",
    "error": "OTHER",
    None: None,
}
FINISH_REASON_IN: dict[str | None, c.StopReason | None] = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "LANGUAGE": "error",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
    "MALFORMED_RESPONSE": "error",
    "OTHER": "error",
    "FINISH_REASON_UNSPECIFIED": "end_turn",
    None: None,
}


def usage_in(usage: Any) -> c.Usage:
    """``usageMetadata`` as canonical usage (Gemini counts thoughts apart from the output tokens)."""
    if not isinstance(usage, dict):
        return c.Usage()
    usage = camel_keys(usage)
    thoughts = int(usage.get("thoughtsTokenCount") or 0)
    return c.Usage(
        input_tokens=int(usage.get("promptTokenCount") or 0),
        output_tokens=int(usage.get("candidatesTokenCount") or 0) + thoughts,
        cached_tokens=int(usage.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def usage_from_canonical(usage: c.Usage) -> UsageMetadata:
    out: UsageMetadata = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out


def candidate_parts(candidate: Candidate) -> list[Any]:
    """A candidate's wire parts, unchecked (none when its content is missing or not an object)."""
    content = candidate.get("content")
    return (content.get("parts") if isinstance(content, dict) else None) or []


def _stop_in(reason: Any, has_calls: bool) -> c.StopReason | None:
    stop = FINISH_REASON_IN.get(reason, "error") if reason is not None else None
    if has_calls and stop in ("end_turn", None):
        return "tool_use"
    return stop


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    """Read an upstream answer; a malformed part is the upstream's fault (``bad_gateway``)."""
    wire = cast(GenerateContentResponse, camel_keys(payload))  # untrusted: each value is still checked
    candidates = wire.get("candidates") or []
    candidate = cast(Candidate, camel_keys(candidates[0])) if candidates and isinstance(candidates[0], dict) else {}
    ids = CallIds(stable=False)
    parts: list[c.Part] = []
    for j, raw in enumerate(candidate_parts(candidate)):
        try:
            parts.append(part_in(raw, f"candidates[0].content.parts[{j}]", ids, model_turn=True))
        except c.ProxyError as exc:
            raise c.ProxyError(f"malformed upstream response: {exc.message}", kind="bad_gateway") from exc
    has_calls = any(isinstance(p, c.ToolCallPart) for p in parts)
    stop = _stop_in(candidate.get("finishReason"), has_calls) or "end_turn"
    feedback = wire.get("promptFeedback")
    if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
        stop = "content_filter"
    usage = usage_in(wire.get("usageMetadata"))
    # Gemini-only detail (safety ratings, grounding, token breakdowns), re-emitted by this module only
    kept: dict[str, Any] = without(wire, "candidates", "usageMetadata", "modelVersion", "responseId")
    if candidates:
        cand_extra = without(candidate, "content", "finishReason")
        if candidate.get("finishReason") != FINISH_REASON_OUT[stop]:
            cand_extra["finishReason"] = candidate.get("finishReason")
        kept["candidate"] = cand_extra
    usage_given = wire.get("usageMetadata")
    if isinstance(usage_given, dict):
        regenerated = usage_from_canonical(usage)
        usage_extra = {k: v for k, v in camel_keys(usage_given).items() if regenerated.get(k) != v}
        if usage_extra:
            kept["usageMetadata"] = usage_extra
    return c.ChatResponse(
        id=wire.get("responseId") or new_id("resp_"),
        model=wire.get("modelVersion") or "",
        parts=parts,
        stop_reason=stop,
        usage=usage,
        extra={NAME: kept},
    )


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> GenerateContentResponse:
    stored = resp.extra.get(NAME)
    kept: dict[str, Any] = stored if isinstance(stored, dict) else {}
    parts = [w for w in (part_out(p, "wire", {}) for p in resp.parts) if w is not None]
    usage = with_fields(usage_from_canonical(resp.usage), kept.get("usageMetadata") or {})
    out: GenerateContentResponse = {}
    blocked = not resp.parts and resp.stop_reason == "content_filter" and "candidate" not in kept
    if not (blocked and "promptFeedback" in kept):
        candidate: Candidate = {"content": {"role": "model", "parts": parts}}
        candidate["finishReason"] = FINISH_REASON_OUT[resp.stop_reason] or "STOP"
        out["candidates"] = [with_fields(candidate, kept.get("candidate") or {"index": 0})]
    out["usageMetadata"] = usage
    out["modelVersion"] = model
    out["responseId"] = resp.id
    return with_fields(out, without(kept, "candidate", "usageMetadata"))
