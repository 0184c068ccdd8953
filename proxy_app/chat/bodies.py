"""JSON request and response bodies as every client protocol sends and reads them."""

from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from proxy_app.core import canonical as c


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    content = orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type="application/json")
    # Without a length, Daphne frames the body as chunked: extra bytes, and a client cannot tell
    # a whole answer from a cut one until the terminator (as the providers, we send the length).
    response["Content-Length"] = str(len(content))
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def body_too_large_message() -> str:
    """The 413's message, also when the server refuses a body before Django sees it."""
    return f"request body exceeds the limit of {settings.MAX_REQUEST_BODY_BYTES} bytes"


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; 413 over the size limit, 400 when it is not a JSON object."""
    body = request.body  # on the lean paths, at most one byte past the limit is kept (see LeanASGIHandler.read_body)
    if len(body) > settings.MAX_REQUEST_BODY_BYTES:
        raise c.ProxyError(body_too_large_message(), kind="request_too_large")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise c.ProxyError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise c.ProxyError("request body must be a JSON object")
    if nested_deeper_than(payload, settings.MAX_JSON_DEPTH):
        raise c.ProxyError(f"request body is nested deeper than {settings.MAX_JSON_DEPTH} levels")
    return payload


def nested_deeper_than(value: dict[str, Any] | list[Any], limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` deep in ``value`` (itself level 1).

    The translators and guards walk a body recursively: a deep one would end in a RecursionError
    (orjson alone parses up to 1,024 levels). Real clients' deepest tool schemas are ~16 levels.
    Level by level with comprehensions, no recursion: ~70 µs for a 160 KB Claude Code request
    (its parse: ~190 µs)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [child for node in level for child in (node.values() if type(node) is dict else node)
                 if type(child) is dict or type(child) is list]
        if not level:
            return False
    return True
