"""Errors as ``google.rpc.Status`` bodies, written and read."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("invalid_request", 400, "INVALID_ARGUMENT"), ("authentication", 401, "UNAUTHENTICATED"),
        ("permission", 403, "PERMISSION_DENIED"), ("not_found", 404, "NOT_FOUND"),
        ("request_too_large", 413, "INVALID_ARGUMENT"), ("rate_limit", 429, "RESOURCE_EXHAUSTED"),
        ("api_error", 500, "INTERNAL"), ("bad_gateway", 502, "UNAVAILABLE"), ("unavailable", 503, "UNAVAILABLE"),
        ("timeout", 504, "DEADLINE_EXCEEDED"), ("overloaded", 503, "UNAVAILABLE"),
    ],
)
def test_it_renders_errors_with_google_rpc_statuses(kind: str, code: int, status: str) -> None:
    body = g.error_body(c.ProxyError("nope", kind=kind))
    assert body == {"error": {"code": code, "message": "nope", "status": status}}


def test_it_adds_retry_info_to_rate_limit_errors() -> None:
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=1.5))
    assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=60))
    assert body["error"]["details"][0]["retryDelay"] == "60s"


@pytest.mark.parametrize(("seconds", "delay"), [(59.99962, "60s"), (60.0004, "60s"), (0.25, "0.25s"), (1.0, "1s")])
def test_it_writes_retry_delays_that_round_to_whole_seconds_without_a_fraction(seconds: float, delay: str) -> None:
    """Bug: a cooldown of 59.9996 s was rounded after the integer check and rendered as "60.0s"."""
    body = g.error_body(c.ProxyError("slow down", kind="rate_limit", retry_after=seconds))
    assert body["error"]["details"][0]["retryDelay"] == delay


def test_it_names_the_bad_field_in_invalid_argument_errors() -> None:
    body = g.error_body(c.ProxyError("'contents' is required", param="contents"))
    assert body["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                         "fieldViolations": [{"field": "contents",
                                                              "description": "'contents' is required"}]}]


@pytest.mark.parametrize(
    ("status", "body", "kind", "retry_after", "message"),
    [
        (429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                         "status": "RESOURCE_EXHAUSTED", "details": [
                             {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                             {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "60s"}]}},
         "rate_limit", 60.0, "Resource has been exhausted (e.g. check quota)."),
        (429, [{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]}}],
         "rate_limit", 1.5, "quota"),
        (400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                         "status": "INVALID_ARGUMENT", "details": [
                             {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}},
         "authentication", None, "API key not valid. Please pass a valid API key."),
        (503, {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                         "status": "UNAVAILABLE"}}, "unavailable", None,
         "The model is overloaded. Please try again later."),
        (502, "<html>Bad Gateway</html>", "bad_gateway", None, "<html>Bad Gateway</html>"),
        (500, None, "api_error", None, "upstream returned HTTP 500"),
        (404, {"detail": "no such model"}, "not_found", None, "no such model"),
    ],
)
def test_it_reads_upstream_errors(status: int, body: Any, kind: str, retry_after: float | None, message: str) -> None:
    err = g.error_to_canonical(status, body)
    assert (err.kind, err.status, err.retry_after, err.message) == (kind, status, retry_after, message)


def test_it_round_trips_rate_limit_errors_through_the_wire() -> None:
    err = c.ProxyError("slow", kind="rate_limit", retry_after=7)
    back = g.error_to_canonical(429, g.error_body(err))
    assert (back.kind, back.retry_after, back.code) == ("rate_limit", 7.0, "RESOURCE_EXHAUSTED")
