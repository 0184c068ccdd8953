"""Client-protocol routes (OpenAI, Anthropic, Gemini) and unauthenticated health."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import path, re_path

from proxy_app.api import anthropic, gemini, openai_chat, openai_responses
from proxy_app.api import health as views


async def v1_models(request: HttpRequest) -> HttpResponseBase:
    """``GET /v1/models`` is both OpenAI's and (with a bare base URL) Anthropic's model list."""
    if anthropic.is_anthropic_client(request):
        return await anthropic.models(request)
    return await openai_chat.models(request)


async def v1_model(request: HttpRequest, model_action: str) -> HttpResponseBase:
    """``/v1/models/{…}``: Gemini's model path (google-genai's ``v1`` API: ``{model}:generateContent``,
    ``GET`` model info), and OpenAI's and Anthropic's ``GET`` of one model, told apart by the client."""
    if request.method == "GET" and not gemini.is_gemini_client(request):
        if anthropic.is_anthropic_client(request):
            return await anthropic.get_model(request, model_action)
        return await openai_chat.get_model(request, model_action)
    return await gemini.model_action(request, model_action)


async def v1_unknown(request: HttpRequest) -> HttpResponseBase:
    """An unknown path under ``/v1/``: a 404 in Anthropic's format for an Anthropic client, else OpenAI's."""
    frontend = anthropic.FRONTEND if anthropic.is_anthropic_client(request) else openai_chat.FRONTEND
    return await frontend.unknown_endpoint(request)


urlpatterns = [
    path("healthz", views.healthz),
    # OpenAI
    path("v1/chat/completions", openai_chat.chat_completions),
    path("v1/responses", openai_responses.responses),
    path("v1/models", v1_models),
    # Anthropic, under its own prefix and the bare server URL (Claude Code)
    path("anthropic/v1/messages", anthropic.messages),
    path("anthropic/v1/messages/count_tokens", anthropic.count_tokens),
    path("anthropic/v1/models", anthropic.models),
    path("anthropic/v1/models/<path:model>", anthropic.get_model),
    path("v1/messages", anthropic.messages),
    path("v1/messages/count_tokens", anthropic.count_tokens),
    # Gemini: v1beta, and v1 (google-genai's default API version)
    path("v1beta/models", gemini.list_models),
    path("v1beta/models/<path:model_action>", gemini.model_action),
    path("v1/models/<path:model_action>", v1_model),
    # Anything else under a protocol's prefix is a 404 in that protocol (matched last)
    re_path(r"^v1beta/", gemini.FRONTEND.unknown_endpoint),
    re_path(r"^anthropic/", anthropic.FRONTEND.unknown_endpoint),
    re_path(r"^v1/", v1_unknown),
]
