"""Operator endpoints that are not a client protocol."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from proxy_app.chat.bodies import json_response


async def healthz(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "ok"})
