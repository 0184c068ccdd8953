"""OpenAI Responses API frontend: ``POST /v1/responses``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from proxy_app.api.frontend import Frontend
from proxy_app.chat.bodies import json_response
from proxy_app.chat.flow import handle_chat
from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses
from proxy_app.protocols.contract import StreamEncoding
from proxy_app.providers import CONNECTORS


class ResponsesFrontend(Frontend):
    """Repeats the request's own fields (tools, text, reasoning, …) in every Response object, as OpenAI does."""

    def response_body(self, resp: c.ChatResponse, chat: c.ChatRequest) -> HttpResponse:
        body = openai_responses.response_from_canonical(
            resp, model=self.client_model(chat), echo=chat.meta.get(openai_responses.META_ECHO)
        )
        return json_response(body)

    def stream_encoder(self, chat: c.ChatRequest) -> StreamEncoding:
        return openai_responses.StreamEncoder(
            model=self.client_model(chat), include_usage=True, echo=chat.meta.get(openai_responses.META_ECHO)
        )


FRONTEND = ResponsesFrontend("openai_responses", openai_responses)


def decode(payload: dict[str, Any]) -> c.ChatRequest:
    chat = openai_responses.request_to_canonical(payload)
    # Stored conversation state (previous_response_id, conversation, item_reference, background)
    # only means something to an OpenAI Responses backend. No connector speaks that protocol yet,
    # so such requests are refused up front, before any command runs or any backend is called.
    if openai_responses.NAME not in CONNECTORS and (field := openai_responses.stateful_reference(chat)):
        raise c.ProxyError(openai_responses.STATEFUL_UNSUPPORTED.format(field=field), param=field)
    return chat


async def responses(request: HttpRequest) -> HttpResponseBase:
    if request.method != "POST":
        return FRONTEND.error_response(c.ProxyError("use POST for /v1/responses", status=405))
    return await handle_chat(request, FRONTEND, decode)
