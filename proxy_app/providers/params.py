"""Sampling parameters adapted to what a backend's protocol accepts, just before the wire request is built."""

from __future__ import annotations

import dataclasses
import logging

from proxy_app.core import canonical as c

logger = logging.getLogger("llmproxy.params")


TEMPERATURE_RANGE = {"anthropic": (0.0, 1.0), "openai_chat": (0.0, 2.0), "gemini": (0.0, 2.0)}


def adapt_params(chat: c.ChatRequest, protocol: str) -> c.ChatRequest:
    """Clamp sampling parameters to what ``protocol``'s providers accept (logged, never silent)."""
    low, high = TEMPERATURE_RANGE.get(protocol, (0.0, 2.0))
    if chat.temperature is not None and not low <= chat.temperature <= high:
        clamped = min(max(chat.temperature, low), high)
        logger.info("temperature %.2f clamped to %.2f for a %s backend", chat.temperature, clamped, protocol)
        return dataclasses.replace(chat, temperature=clamped)
    return chat
