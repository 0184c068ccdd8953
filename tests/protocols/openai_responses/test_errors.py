"""OpenAI's error envelope for Responses API clients, and upstream error bodies read."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r


@pytest.mark.parametrize(("kind", "wire_type", "status"), [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "server_error", 500),
    ("bad_gateway", "server_error", 502),
    ("timeout", "timeout_error", 504),
])
def test_it_renders_errors_in_openai_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("nope", kind=kind, param="input")
    assert err.status == status
    assert r.error_body(err) == {"error": {"message": "nope", "type": wire_type, "param": "input", "code": None}}


@pytest.mark.parametrize(("status", "body", "kind", "message"), [
    (400, {"error": {"message": "Invalid 'input': empty", "type": "invalid_request_error", "param": "input",
                     "code": "empty_array"}}, "invalid_request", "Invalid 'input': empty"),
    (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
     "rate_limit", "Rate limit reached"),
    (503, "upstream connect error", "unavailable", "upstream connect error"),
    (500, None, "api_error", "upstream returned HTTP 500"),
])
def test_it_reads_upstream_error_bodies(status: int, body: Any, kind: str, message: str) -> None:
    err = r.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message) == (status, kind, message)
