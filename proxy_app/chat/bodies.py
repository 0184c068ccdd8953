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


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object; 413 over the size limit, 400 when it is not a JSON object."""
    body = request.body  # on the lean paths, at most one byte past the limit is kept (see LeanASGIHandler.read_body)
    if len(body) > settings.MAX_REQUEST_BODY_BYTES:
        raise c.ProxyError(
            f"request body exceeds the limit of {settings.MAX_REQUEST_BODY_BYTES} bytes",
            kind="request_too_large",
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise c.ProxyError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise c.ProxyError("request body must be a JSON object")
    return payload
