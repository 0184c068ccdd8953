"""A chat completion, both ways, with the two things a stream shares with it: finish reasons and usage."""

from __future__ import annotations

import time
from typing import Any, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import new_id
from proxy_app.protocols.openai_chat.extras import REFUSAL
from proxy_app.protocols.openai_chat.request_out import tool_call_from_canonical
from proxy_app.protocols.openai_chat.types import ChatCompletion, ChatCompletionMessage, Choice, CompletionUsage

# OpenAI's own response fields: kept for an OpenAI client, never another protocol's extras.
_OPENAI_RESPONSE_EXTRAS = frozenset({"system_fingerprint", "service_tier"})

FINISH_REASON_OUT: dict[str | None, str | None] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "loop_detected": "stop",
    "error": "stop",
    None: None,
}
FINISH_REASON_IN: dict[str | None, c.StopReason | None] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    None: None,
}


def usage_to_canonical(usage: CompletionUsage | None) -> c.Usage:
    if not isinstance(usage, dict):
        return c.Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return c.Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


def usage_from_canonical(usage: c.Usage) -> CompletionUsage:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    completion = cast(ChatCompletion, payload)  # as documented; the reads below survive what compatible servers omit
    choices = completion.get("choices") or [{}]
    choice: Choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    parts: list[c.Part] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(c.ThinkingPart(reasoning))
    content, refusal = message.get("content"), message.get("refusal")
    if isinstance(content, str) and content:
        parts.append(c.TextPart(content))
    if isinstance(refusal, str) and refusal:
        parts.append(c.TextPart(refusal, extra={REFUSAL: True}))  # text for other protocols' clients
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        parts.append(c.ToolCallPart(call.get("id") or new_id("call_"), fn.get("name", ""), fn.get("arguments") or ""))
    return c.ChatResponse(
        id=completion.get("id") or new_id("chatcmpl-"),
        model=completion.get("model") or "",
        parts=parts,
        stop_reason=FINISH_REASON_IN.get(choice.get("finish_reason"), "end_turn"),
        usage=usage_to_canonical(completion.get("usage")),
        created=completion.get("created"),
        extra={k: v for k, v in payload.items() if k in _OPENAI_RESPONSE_EXTRAS},
    )


def _message_from_canonical(resp: c.ChatResponse) -> ChatCompletionMessage:
    texts = [p for p in resp.parts if isinstance(p, c.TextPart)]
    refusal = "".join(p.text for p in texts if p.extra and p.extra.get(REFUSAL)) or None
    content = "".join(p.text for p in texts if not (p.extra and p.extra.get(REFUSAL))) or None
    message: ChatCompletionMessage = {"role": "assistant", "content": content, "refusal": refusal}
    thinking = "".join(p.text for p in resp.parts if isinstance(p, c.ThinkingPart))
    if thinking:
        message["reasoning_content"] = thinking
    calls = [tool_call_from_canonical(p) for p in resp.parts if isinstance(p, c.ToolCallPart)]
    if calls:
        message["tool_calls"] = calls
    return message


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> dict[str, Any]:
    completion: ChatCompletion = {
        "id": resp.id if resp.id.startswith("chatcmpl") else f"chatcmpl-{resp.id}",
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": _message_from_canonical(resp), "logprobs": None,
                     "finish_reason": FINISH_REASON_OUT[resp.stop_reason]}],
        "usage": usage_from_canonical(resp.usage),
    }
    # only OpenAI's own response fields: another protocol's extras must not leak into this shape
    return {**completion, **{k: v for k, v in resp.extra.items() if k in _OPENAI_RESPONSE_EXTRAS}}
