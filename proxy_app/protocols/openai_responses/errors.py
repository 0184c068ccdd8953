"""Errors: OpenAI's error envelope, the same for the Responses API as for Chat Completions, and a
stream's failure (an ``error`` event or a failed response) as a ``ProxyError``."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.openai_chat.errors import error_body, error_to_canonical

__all__ = ["FAILURE_CODES", "error_body", "error_to_canonical", "failure_to_canonical"]

# ``Response.error.code`` values (a closed list in the SDK) for canonical error kinds, and back.
FAILURE_CODES = {"rate_limit": "rate_limit_exceeded", "invalid_request": "invalid_prompt"}
_FAILURE_KINDS = {"rate_limit_exceeded": "rate_limit", "invalid_prompt": "invalid_request", "server_error": "api_error"}


def failure_to_canonical(err: Any) -> c.ProxyError:
    """A stream's ``error`` event, or a failed response's ``error``, as a ``ProxyError``."""
    if not isinstance(err, dict):
        return c.ProxyError(str(err), kind="bad_gateway")
    code = err.get("code")
    kind = _FAILURE_KINDS.get(code, "bad_gateway") if isinstance(code, str) else "bad_gateway"
    return c.ProxyError(str(err.get("message") or "the upstream response failed"), kind=kind,
                        code=code if isinstance(code, str) else None)
