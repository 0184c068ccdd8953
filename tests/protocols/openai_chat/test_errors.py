"""OpenAI's error envelope <-> canonical errors: every canonical kind rendered, the SDK's error model
accepting it, and upstream error bodies of any shape read."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat as o

# ---------------------------------------------------------------- errors

ERROR_KINDS = [
    ("invalid_request", "invalid_request_error", 400),
    ("authentication", "authentication_error", 401),
    ("permission", "permission_error", 403),
    ("not_found", "not_found_error", 404),
    ("request_too_large", "invalid_request_error", 413),
    ("rate_limit", "rate_limit_error", 429),
    ("api_error", "server_error", 500),
    ("bad_gateway", "server_error", 502),
    ("unavailable", "server_error", 503),
    ("timeout", "timeout_error", 504),
    ("overloaded", "server_error", 529),
    ("something_new", "invalid_request_error", 500),
]


@pytest.mark.parametrize(("kind", "wire_type", "status"), ERROR_KINDS)
def test_it_renders_errors_in_openai_shape(kind: str, wire_type: str, status: int) -> None:
    err = c.ProxyError("something went wrong", kind=kind, param="messages[0]", code="some_code")
    assert err.status == status
    assert o.error_body(err) == {"error": {"message": "something went wrong", "type": wire_type,
                                           "param": "messages[0]", "code": "some_code"}}
    if kind != "something_new":
        back = o.error_to_canonical(status, o.error_body(err))  # the kind comes back from the HTTP status
        assert (back.kind, back.status, back.message, back.code) == (kind, status, "something went wrong", "some_code")


def test_error_bodies_validate_against_the_sdk_error_model() -> None:
    from openai.types import ErrorObject

    parsed = ErrorObject.model_validate(o.error_body(c.ProxyError("bad", param="model"))["error"])
    assert (parsed.message, parsed.type, parsed.param, parsed.code) == ("bad", "invalid_request_error", "model", None)


UPSTREAM_ERRORS = [
    (401, {"error": {"message": "Incorrect API key provided: sk-abc. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", "type": "invalid_request_error",
                     "param": None, "code": "invalid_api_key"}},
     "authentication", "Incorrect API key provided: sk-abc. You can find your API key at "
                       "https://platform.openai.com/account/api-keys.", "invalid_api_key"),
    (403, {"error": {"message": "Country, region, or territory not supported", "type": "request_forbidden",
                     "param": None, "code": "unsupported_country_region_territory"}},
     "permission", "Country, region, or territory not supported", "unsupported_country_region_territory"),
    (404, {"error": {"message": "The model `gpt-5-turbo` does not exist or you do not have access to it.",
                     "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
     "not_found", "The model `gpt-5-turbo` does not exist or you do not have access to it.", "model_not_found"),
    (400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                     "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}},
     "invalid_request", "This model's maximum context length is 128000 tokens.", "context_length_exceeded"),
    (429, {"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                     "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}},
     "rate_limit", "You exceeded your current quota, please check your plan and billing details.",
     "insufficient_quota"),
    (429, {"error": {"message": "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
                     "type": "tokens", "param": None, "code": "rate_limit_exceeded"}},
     "rate_limit", "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
     "rate_limit_exceeded"),
    (500, {"error": {"message": "The server had an error while processing your request. Sorry about that!",
                     "type": "server_error", "param": None, "code": None}},
     "api_error", "The server had an error while processing your request. Sorry about that!", None),
    (503, {"error": {"message": "The engine is currently overloaded, please try again later", "type": "server_error",
                     "param": None, "code": 503}},
     "unavailable", "The engine is currently overloaded, please try again later", None),
    (502, "<html>Bad Gateway</html>", "bad_gateway", "<html>Bad Gateway</html>", None),
    (504, None, "timeout", "upstream returned HTTP 504", None),
    (504, "", "timeout", "upstream returned HTTP 504", None),
    (422, {"detail": "unprocessable"}, "invalid_request", "unprocessable", None),
    (400, {"message": "vLLM-style top-level message"}, "invalid_request", "vLLM-style top-level message", None),
    (429, {"error": "slow down"}, "rate_limit", "slow down", None),
    (418, {"error": {"type": "teapot"}}, "invalid_request", "upstream returned HTTP 418", None),
    (599, ["not", "an", "object"], "api_error", "upstream returned HTTP 599", None),
]


@pytest.mark.parametrize(("status", "body", "kind", "message", "code"), UPSTREAM_ERRORS)
def test_it_reads_upstream_error_bodies_of_any_shape(
    status: int, body: Any, kind: str, message: str, code: str | None
) -> None:
    err = o.error_to_canonical(status, body)
    assert (err.status, err.kind, err.message, err.code) == (status, kind, message, code)
