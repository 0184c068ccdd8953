"""Gemini frontend: ``/v1beta/models…`` (and ``/v1/models/{model}:…``, google-genai's default version)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from proxy_app.api.frontend import Frontend, keyed_view
from proxy_app.chat.bodies import json_response, read_json
from proxy_app.chat.flow import handle_chat
from proxy_app.chat.token_count import count_client_request_tokens
from proxy_app.core import canonical as c
from proxy_app.protocols import gemini
from proxy_app.providers.registry import find_model, list_all_models

ACTIONS = ("generateContent", "streamGenerateContent", "countTokens")


class GeminiFrontend(Frontend):
    def stream_encoder(self, chat: c.ChatRequest) -> Any:
        return gemini.StreamEncoder(
            model=self.client_model(chat), include_usage=True, sse=chat.meta.get("gemini_sse", True)
        )


FRONTEND = GeminiFrontend("gemini", gemini)


def _model_info(backend: str, model: str) -> dict[str, Any]:
    return {
        "name": f"models/{backend}:{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": f"{model} ({backend})",
        "description": f"{model} served by the {backend} backend through llm-interactive-proxy",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    }


@keyed_view(FRONTEND)
async def list_models(request: HttpRequest) -> HttpResponseBase:
    return json_response({"models": [_model_info(b, m) for b, m in await list_all_models()]})


async def model_action(request: HttpRequest, model_action: str) -> HttpResponseBase:
    """``{model}:{action}`` — the model may itself hold a colon (``openai:gpt-4o``) or slashes."""
    model, sep, action = model_action.rpartition(":")
    if not sep or action not in ACTIONS:
        if request.method == "GET":
            return await get_model(request, model_action)
        return FRONTEND.error_response(
            c.ProxyError(f"unknown method '{action}'; use one of {', '.join(ACTIONS)}", kind="not_found")
        )
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError(f"use POST for :{action}", status=405))

    def decode(payload: dict[str, Any]) -> c.ChatRequest:
        chat = gemini.request_to_canonical(payload, model=model)
        chat.stream = action == "streamGenerateContent"
        chat.meta["gemini_sse"] = request.GET.get("alt") == "sse"
        return chat

    if action == "countTokens":
        return await _count_tokens(request, model)
    return await handle_chat(request, FRONTEND, decode)


@keyed_view(FRONTEND)
async def _count_tokens(request: HttpRequest, model: str) -> HttpResponseBase:
    payload = read_json(request)
    wrapped = payload.get("generateContentRequest")
    if wrapped is not None and not isinstance(wrapped, dict):
        raise c.ProxyError("'generateContentRequest' must be an object", param="generateContentRequest")
    inner = dict(wrapped or payload)
    inner.pop("model", None)
    chat = gemini.request_to_canonical(inner, model=model)
    return json_response({"totalTokens": await count_client_request_tokens(request, chat)})


@keyed_view(FRONTEND)
async def get_model(request: HttpRequest, model: str) -> HttpResponseBase:
    if found := await find_model(model):
        return json_response(_model_info(*found))
    raise c.ProxyError(f"model '{model}' is not available", kind="not_found")


def is_gemini_client(request: HttpRequest) -> bool:
    """Gemini clients send their key as ``x-goog-api-key`` or ``?key=`` (google-genai also names itself
    in ``x-goog-api-client``); OpenAI and Anthropic clients send none of these."""
    headers = request.headers
    return "x-goog-api-key" in headers or "x-goog-api-client" in headers or "key" in request.GET
