"""A cheap token estimate (≈4 characters per token) for count-tokens endpoints and missing usage."""

from __future__ import annotations

import orjson

from proxy_app.core import canonical as c

CHARS_PER_TOKEN = 4


def estimate_tokens_for_chars(chars: int) -> int:
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_text_tokens(text: str) -> int:
    return estimate_tokens_for_chars(len(text))


def estimate_request_tokens(chat: c.ChatRequest) -> int:
    """Estimated prompt tokens of ``chat``: message text, tool-call arguments and tool schemas."""
    total = 0
    for message in chat.messages:
        total += 4  # per-message framing, as OpenAI's own estimate counts it
        for part in message.parts:
            if isinstance(part, c.TextPart | c.ThinkingPart):
                total += estimate_text_tokens(part.text)
            elif isinstance(part, c.ToolCallPart):
                total += estimate_text_tokens(part.name + part.arguments)
            elif isinstance(part, c.ToolResultPart):
                total += sum(estimate_text_tokens(p.text) for p in part.content if isinstance(p, c.TextPart))
            elif isinstance(part, c.ImagePart):
                total += 85  # a low-detail image tile
    for tool in chat.tools or []:
        total += estimate_text_tokens(tool.name + (tool.description or "") + orjson.dumps(tool.parameters).decode())
    return total
