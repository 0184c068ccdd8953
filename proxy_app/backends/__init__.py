"""Backend connectors, one per wire protocol."""

from __future__ import annotations

from .anthropic import AnthropicConnector
from .base import Connector
from .gemini import GeminiConnector
from .openai import OpenAIConnector

CONNECTORS: dict[str, type[Connector]] = {
    "openai_chat": OpenAIConnector,
    "anthropic": AnthropicConnector,
    "gemini": GeminiConnector,
}
