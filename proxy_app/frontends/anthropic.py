"""Anthropic Messages frontend: ``/anthropic/v1/messages`` (and bare ``/v1/messages``), count_tokens, models."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from ..models_listing import list_all_models
from ..token_count import count_request_tokens
from ..translation import anthropic
from ..translation import canonical as c
from .base import Frontend, handle_chat, json_response, keyed_view, read_json

FRONTEND = Frontend("anthropic", anthropic)


def _decode(request: HttpRequest) -> Any:
    def decode(payload: dict[str, Any]) -> c.ChatRequest:
        chat = anthropic.request_to_canonical(payload)
        if version := request.headers.get("anthropic-version"):
            chat.meta["anthropic_version"] = version
        if beta := request.headers.get("anthropic-beta"):
            chat.meta["anthropic_beta"] = beta
        return chat

    return decode


async def messages(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError("use POST for /v1/messages", status=405))
    return await handle_chat(request, FRONTEND, _decode(request))


@keyed_view(FRONTEND)
async def count_tokens(request: HttpRequest) -> HttpResponse:
    payload = read_json(request)
    payload.setdefault("max_tokens", 1)  # count_tokens requests carry no max_tokens
    chat = _decode(request)(payload)
    return json_response({"input_tokens": await count_request_tokens(chat)})


@keyed_view(FRONTEND)
async def models(request: HttpRequest) -> HttpResponse:
    data = [
        {"type": "model", "id": f"{backend}:{model}", "display_name": f"{model} ({backend})",
         "created_at": "2025-01-01T00:00:00Z"}
        for backend, model in await list_all_models()
    ]
    return json_response({
        "data": data, "has_more": False,
        "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
    })


def is_anthropic_client(request: HttpRequest) -> bool:
    """Anthropic SDKs always send ``anthropic-version``; OpenAI clients never do."""
    return "anthropic-version" in request.headers or "x-api-key" in request.headers
