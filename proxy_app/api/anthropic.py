"""Anthropic Messages frontend: ``/anthropic/v1/messages`` (and bare ``/v1/messages``), count_tokens, models."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from proxy_app.api.frontend import Frontend, keyed_view
from proxy_app.chat.bodies import json_response, read_json
from proxy_app.chat.flow import handle_chat
from proxy_app.chat.token_count import count_client_request_tokens
from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic
from proxy_app.providers.registry import find_model, list_all_models

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


async def messages(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError("use POST for /v1/messages", status=405))
    return await handle_chat(request, FRONTEND, _decode(request))


@keyed_view(FRONTEND)
async def count_tokens(request: HttpRequest) -> HttpResponseBase:
    payload = read_json(request)
    payload.setdefault("max_tokens", 1)  # count_tokens requests carry no max_tokens
    chat = _decode(request)(payload)
    return json_response({"input_tokens": await count_client_request_tokens(request, chat)})


def _model_info(backend: str, model: str) -> dict[str, Any]:
    return {"type": "model", "id": f"{backend}:{model}", "display_name": f"{model} ({backend})",
            "created_at": "2025-01-01T00:00:00Z"}


@keyed_view(FRONTEND)
async def get_model(request: HttpRequest, model: str) -> HttpResponseBase:
    """``client.models.retrieve(id)``: the model, or Anthropic's 404 for a model no backend lists."""
    if found := await find_model(model):
        return json_response(_model_info(*found))
    raise c.ProxyError(f"model: {model}", kind="not_found")


@keyed_view(FRONTEND)
async def models(request: HttpRequest) -> HttpResponseBase:
    data = [_model_info(b, m) for b, m in await list_all_models()]
    return json_response({
        "data": data, "has_more": False,
        "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
    })


def is_anthropic_client(request: HttpRequest) -> bool:
    """Anthropic SDKs always send ``anthropic-version``; OpenAI clients never do."""
    return "anthropic-version" in request.headers or "x-api-key" in request.headers
