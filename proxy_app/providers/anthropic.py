"""Anthropic Messages API backend."""

from __future__ import annotations

import dataclasses

import orjson
from django.conf import settings

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic
from proxy_app.providers.connector import Connector


class AnthropicConnector(Connector):
    protocol = anthropic

    def url(self, model: str, *, stream: bool) -> str:
        return f"{self.spec.base_url}/messages"

    def headers(self, key: str | None, req: c.ChatRequest | None) -> dict[str, str]:
        meta = req.meta if req is not None else {}
        headers = {
            "content-type": "application/json",
            # an Anthropic client's own version/beta headers are forwarded as they came
            "anthropic-version": meta.get("anthropic_version") or settings.ANTHROPIC_VERSION,
            **self.spec.headers,
        }
        if meta.get("anthropic_beta"):
            headers["anthropic-beta"] = meta["anthropic_beta"]
        if key:
            headers["x-api-key"] = key
        return headers

    def _body(self, req: c.ChatRequest, model: str) -> bytes:
        # request_out stays free of settings: the switch for automatic cache breakpoints rides in meta
        if settings.ANTHROPIC_AUTO_CACHE:
            req = dataclasses.replace(req, meta={**req.meta, anthropic.AUTO_CACHE: True})
        return super()._body(req, model)

    async def count_tokens(self, req: c.ChatRequest, model: str, key: str | None) -> int | None:
        body = anthropic.request_from_canonical(dataclasses.replace(req, model=model, stream=False))
        for field in ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata"):
            body.pop(field, None)  # count_tokens accepts only the prompt-shaping fields
        payload = await self._post_json(f"{self.spec.base_url}/messages/count_tokens", orjson.dumps(body), key, req)
        return int(payload["input_tokens"])
