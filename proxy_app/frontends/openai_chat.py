"""OpenAI Chat Completions frontend: ``POST /v1/chat/completions`` and ``GET /v1/models``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from ..models_listing import list_all_models
from ..translation import canonical as c
from ..translation import openai_chat
from .base import Frontend, handle_chat, json_response, keyed_view

FRONTEND = Frontend("openai_chat", openai_chat)


async def chat_completions(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError("use POST for /v1/chat/completions", kind="invalid_request", status=405))
    return await handle_chat(request, FRONTEND, openai_chat.request_to_canonical)


@keyed_view(FRONTEND)
async def models(request: HttpRequest) -> HttpResponse:
    data = [
        {"id": f"{backend}:{model}", "object": "model", "created": 0, "owned_by": backend}
        for backend, model in await list_all_models()
    ]
    return json_response({"object": "list", "data": data})
