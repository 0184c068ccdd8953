"""Backend connectors, one per wire protocol."""

from __future__ import annotations

from proxy_app.providers.anthropic import AnthropicConnector
from proxy_app.providers.connector import Connector
from proxy_app.providers.gemini import GeminiConnector
from proxy_app.providers.openai import OpenAIConnector

CONNECTORS: dict[str, type[Connector]] = {
    "openai_chat": OpenAIConnector,
    "anthropic": AnthropicConnector,
    "gemini": GeminiConnector,
}
