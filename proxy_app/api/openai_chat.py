"""OpenAI Chat Completions frontend: ``POST /v1/chat/completions``, ``GET /v1/models`` and ``/v1/models/{id}``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from proxy_app.api.frontend import Frontend, keyed_view
from proxy_app.chat.bodies import json_response
from proxy_app.chat.flow import handle_chat
from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat
from proxy_app.providers.registry import find_model, list_all_models

FRONTEND = Frontend("openai_chat", openai_chat)


async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError("use POST for /v1/chat/completions", kind="invalid_request", status=405))
    return await handle_chat(request, FRONTEND, openai_chat.request_to_canonical)


def _model_object(backend: str, model: str) -> dict[str, Any]:
    return {"id": f"{backend}:{model}", "object": "model", "created": 0, "owned_by": backend}


@keyed_view(FRONTEND)
async def models(request: HttpRequest) -> HttpResponseBase:
    return json_response({"object": "list", "data": [_model_object(b, m) for b, m in await list_all_models()]})


@keyed_view(FRONTEND)
async def get_model(request: HttpRequest, model: str) -> HttpResponseBase:
    """``client.models.retrieve(id)``: the model object, or OpenAI's 404 for a model no backend lists."""
    if found := await find_model(model):
        return json_response(_model_object(*found))
    raise c.ProxyError(f"The model '{model}' does not exist", kind="not_found", param="model", code="model_not_found")
