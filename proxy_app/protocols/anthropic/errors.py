"""Errors on the Anthropic wire: a ``ProxyError`` as the body an Anthropic client reads, and whatever
an upstream answered with an error status as a ``ProxyError``."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic import types as wire
from proxy_app.protocols.common import new_id

# Canonical kind -> Anthropic error ``type``.
ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "api_error": "api_error",
    "bad_gateway": "api_error",
    "unavailable": "api_error",
    "timeout": "api_error",
    "overloaded": "overloaded_error",
}
# Anthropic error ``type`` -> canonical kind (what ``error_to_canonical`` and the stream decoder read).
ERROR_KINDS_IN = {
    "invalid_request_error": "invalid_request",
    "authentication_error": "authentication",
    "billing_error": "permission",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limit",
    "api_error": "api_error",
    "timeout_error": "timeout",
    "overloaded_error": "overloaded",
}


def error_body(err: c.ProxyError, *, request_id: bool = True) -> wire.ErrorResponse:
    """An error answer's body, with a ``request_id`` of its own as Anthropic's have (the frontend sends it
    as the ``request-id`` header too, where the SDKs read it: ``APIStatusError.request_id``); a stream's
    ``error`` event is without one, as documented."""
    body: wire.ErrorResponse = {"type": "error", "error": {"type": ERROR_TYPES.get(err.kind, "api_error"),
                                                            "message": err.message}}
    if request_id:
        body["request_id"] = new_id("req_")
    return body


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream Anthropic error body (or anything else) into a ``ProxyError``."""
    message = None
    kind = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            kind = ERROR_KINDS_IN.get(str(err.get("type")))
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    # The status decides, unless the body names something more specific (overloaded_error on a 500).
    if kind is None or kind in ("invalid_request", "api_error"):
        kind = c.error_kind_for_status(status)
    return c.ProxyError(str(message), kind=kind, status=status)
