"""Error bodies, both directions (``errors``)."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a

ERROR_KINDS = [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("request_too_large", "request_too_large", 413),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "api_error", 500),
    ("bad_gateway", "api_error", 502),
    ("unavailable", "api_error", 503),
    ("timeout", "api_error", 504),
    ("overloaded", "overloaded_error", 529),
]


@pytest.mark.parametrize(("kind", "wire_type", "status"), ERROR_KINDS)
def test_it_renders_errors_in_anthropic_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("something went wrong", kind=kind, param="messages[0]")
    body = a.error_body(err)
    assert body == {"type": "error", "error": {"type": wire_type, "message": "something went wrong"},
                    "request_id": body["request_id"]}
    assert body["request_id"].startswith("req_") and body["request_id"] != a.error_body(err)["request_id"]
    back = a.error_to_canonical(status, a.error_body(err))  # generic types defer to the HTTP status
    assert (back.kind, back.status, back.message) == (kind, status, "something went wrong")


UPSTREAM_ERRORS = [
    (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}, "invalid_request", "max_tokens: Field required"),
    (500, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "overloaded", "Overloaded"),
    (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "overloaded", "Overloaded"),
    (404, {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error",
                     "code": "model_not_found"}}, "not_found", "The model `x` does not exist"),
    (502, "<html>Bad Gateway</html>", "bad_gateway", "<html>Bad Gateway</html>"),
    (503, None, "unavailable", "upstream returned HTTP 503"),
    (422, {"detail": "unprocessable"}, "invalid_request", "unprocessable"),
    (429, {"error": "slow down"}, "rate_limit", "slow down"),
]


@pytest.mark.parametrize(("status", "body", "kind", "message"), UPSTREAM_ERRORS)
def test_it_reads_upstream_error_bodies_of_any_shape(status: int, body: Any, kind: str, message: str) -> None:
    err = a.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message) == (status, kind, message)
