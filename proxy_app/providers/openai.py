"""OpenAI-compatible backends (OpenAI, OpenRouter, local servers)."""

from __future__ import annotations

from django.conf import settings

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat
from proxy_app.providers.connector import Connector


class OpenAIConnector(Connector):
    protocol = openai_chat

    def url(self, model: str, *, stream: bool) -> str:
        return f"{self.spec.base_url}/chat/completions"

    def headers(self, key: str | None, req: c.ChatRequest | None) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.spec.headers}
        if key:
            headers["authorization"] = f"Bearer {key}"
        if self.name == "openrouter":
            headers.setdefault("HTTP-Referer", settings.OPENROUTER_HTTP_REFERER)
            headers.setdefault("X-Title", settings.OPENROUTER_APP_TITLE)
        return headers
