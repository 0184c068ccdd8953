"""Google Gemini (Generative Language API) backend."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini
from proxy_app.providers.connector import Connector


class GeminiConnector(Connector):
    protocol = gemini

    def url(self, model: str, *, stream: bool) -> str:
        name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{self.spec.base_url}/{name}:{action}"

    def headers(self, key: str | None, req: c.ChatRequest | None) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.spec.headers}
        if key:
            headers["x-goog-api-key"] = key
        return headers

    def parse_models(self, payload: Any) -> list[str]:
        models = payload.get("models") if isinstance(payload, dict) else None
        return [
            m["name"].removeprefix("models/")
            for m in models or []
            if isinstance(m, dict) and isinstance(m.get("name"), str)
        ]

    async def count_tokens(self, req: c.ChatRequest, model: str, key: str | None) -> int | None:
        name = model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"
        inner = gemini.request_from_canonical(dataclasses.replace(req, model=model, stream=False))
        body = {"generateContentRequest": {"model": name, **inner}}
        payload = await self._post_json(f"{self.spec.base_url}/{name}:countTokens", orjson.dumps(body), key, req)
        return int(payload["totalTokens"])
