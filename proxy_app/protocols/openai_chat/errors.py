"""OpenAI's error envelope, both ways: a ``ProxyError`` as the body an OpenAI client reads, and an
upstream's error answer (OpenAI's envelope or any other shape) as a ``ProxyError``."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.openai_chat.types import ErrorObject

ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "api_error": "server_error",
    "bad_gateway": "server_error",
    "unavailable": "server_error",
    "timeout": "timeout_error",
    "overloaded": "server_error",
}


def error_object(err: c.ProxyError) -> ErrorObject:
    return {
        "message": err.message,
        # OpenAI's answer to a spent quota names it as its type too
        "type": "insufficient_quota" if err.code == "insufficient_quota" else ERROR_TYPES.get(err.kind, "invalid_request_error"),
        "param": err.param,
        "code": err.code,
    }


def error_body(err: c.ProxyError) -> dict[str, Any]:
    """``{"error": {...}}``: an error response's body, and a stream's error event."""
    return {"error": error_object(err)}


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream OpenAI-style error body (or anything else) into a ``ProxyError``."""
    message = None
    code = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            code = err.get("code")
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    return c.ProxyError(str(message), kind=c.error_kind_for_status(status), status=status,
                        code=code if isinstance(code, str) else None)
