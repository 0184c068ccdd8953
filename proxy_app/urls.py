"""Client-protocol routes (OpenAI, Anthropic, Gemini) and unauthenticated health."""

from __future__ import annotations

from django.urls import path

from . import views
from .frontends import openai_chat

urlpatterns = [
    path("healthz", views.healthz),
    path("v1/chat/completions", openai_chat.chat_completions),
    path("v1/models", openai_chat.models),
]
