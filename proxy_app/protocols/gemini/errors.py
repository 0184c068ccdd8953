"""Errors as Gemini writes them (a ``google.rpc.Status`` under ``error``), both directions."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.gemini.types import ErrorBody, JsonObject, Status

# canonical error kind -> (google.rpc status, HTTP code)
ERROR_STATUSES: dict[str, tuple[str, int]] = {
    "invalid_request": ("INVALID_ARGUMENT", 400),
    "authentication": ("UNAUTHENTICATED", 401),
    "permission": ("PERMISSION_DENIED", 403),
    "not_found": ("NOT_FOUND", 404),
    "request_too_large": ("INVALID_ARGUMENT", 413),
    "rate_limit": ("RESOURCE_EXHAUSTED", 429),
    "api_error": ("INTERNAL", 500),
    "bad_gateway": ("UNAVAILABLE", 502),
    "unavailable": ("UNAVAILABLE", 503),
    "timeout": ("DEADLINE_EXCEEDED", 504),
    "overloaded": ("UNAVAILABLE", 503),
}
_KIND_BY_STATUS = {
    "INVALID_ARGUMENT": "invalid_request",
    "FAILED_PRECONDITION": "invalid_request",
    "OUT_OF_RANGE": "invalid_request",
    "UNAUTHENTICATED": "authentication",
    "PERMISSION_DENIED": "permission",
    "NOT_FOUND": "not_found",
    "RESOURCE_EXHAUSTED": "rate_limit",
    "INTERNAL": "api_error",
    "UNKNOWN": "api_error",
    "UNAVAILABLE": "unavailable",
    "DEADLINE_EXCEEDED": "timeout",
}


def _duration(seconds: float) -> str:
    value = round(float(seconds), 3)  # round first: 59.9996 must read "60s", not "60.0s"
    return f"{int(value)}s" if value.is_integer() else f"{value}s"


def error_body(err: c.ProxyError) -> ErrorBody:
    status, code = ERROR_STATUSES.get(err.kind, ("INTERNAL", 500))
    if err.status != c.ERROR_STATUS.get(err.kind):
        code = err.status  # an explicit status wins over the kind's default
    body: Status = {"code": code, "message": err.message, "status": status}
    details: list[JsonObject] = []
    if err.kind == "rate_limit" and err.retry_after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": _duration(err.retry_after)})
    if err.param and status == "INVALID_ARGUMENT":
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": err.param, "description": err.message}],
            }
        )
    if details:
        body["details"] = details
    return {"error": body}


def _retry_delay(details: Any) -> float | None:
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, dict):  # {"seconds": 1, "nanos": 500000000}
                return float(delay.get("seconds") or 0) + float(delay.get("nanos") or 0) / 1e9
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return float(delay[:-1])
                except ValueError:
                    return None
    return None


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream Gemini error body (or anything else) into a ``ProxyError``."""
    if isinstance(body, list) and body:  # the JSON-array stream wraps errors in a list
        body = body[0]
    message = None
    rpc_status = None
    details = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            rpc_status = err.get("status") if isinstance(err.get("status"), str) else None
            details = err.get("details")
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    if status >= 400:
        kind = c.error_kind_for_status(status)
    else:
        kind = _KIND_BY_STATUS.get(rpc_status or "", "api_error")
        status = c.ERROR_STATUS[kind]
    reasons = {d.get("reason") for d in details or [] if isinstance(d, dict)} if isinstance(details, list) else set()
    if "API_KEY_INVALID" in reasons:
        kind = "authentication"
    return c.ProxyError(
        str(message), kind=kind, status=status, retry_after=_retry_delay(details), code=rpc_status
    )
