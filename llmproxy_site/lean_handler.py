"""A middleware-free Django ASGI handler for the hot client-protocol paths, and the path split."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

LEAN_PREFIXES = ("/v1/", "/v1beta/", "/anthropic/", "/healthz", "/metrics")


class LeanASGIHandler(ASGIHandler):
    """Django's ASGI handler with an empty middleware chain (URL routing and views as usual)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)


class PathSplitter:
    """Send lean paths to one ASGI app and the rest to another."""

    def __init__(self, *, lean: Any, full: Any) -> None:
        self.lean = lean
        self.full = full

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.lean if scope.get("path", "").startswith(LEAN_PREFIXES) else self.full
        await app(scope, receive, send)
