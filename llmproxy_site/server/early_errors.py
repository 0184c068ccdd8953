"""Answers the server gives before Django sees a request (a head too large, a body over the limit),
as a whole HTTP/1.1 response in the client's protocol so that its SDK reads the error instead of a
dropped connection. The protocol is told by the path, as the URL configuration tells it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson

HEADERS_TOO_LARGE = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
BODY_TOO_LARGE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def error_body(status: HTTPStatus, path: str, message: str) -> bytes:
    """The JSON error body a client of ``path``'s protocol reads: the shapes of the protocols'
    ``errors`` modules for these two statuses (the server patches import no proxy code; the tests
    in ``tests/server/test_request_limits.py`` read them with each protocol's expectations)."""
    body: dict[str, Any]
    if path.startswith(("/v1/messages", "/anthropic/")):
        kind = "request_too_large" if status is BODY_TOO_LARGE else "invalid_request_error"
        body = {"type": "error", "error": {"type": kind, "message": message}}
    elif path.startswith("/v1beta/"):
        body = {"error": {"code": status.value, "message": message, "status": "INVALID_ARGUMENT"}}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return orjson.dumps(body)


def body_too_large_message(limit: int) -> str:
    """As ``proxy_app.chat.bodies`` words it, for a client to read the same whoever refused the body."""
    return f"request body exceeds the limit of {limit} bytes"


def error_response(status: HTTPStatus, path: str, message: str) -> bytes:
    """A whole HTTP/1.1 response, after which the server closes the connection (what is left of the
    request on it cannot be read as a next request)."""
    body = error_body(status, path, message)
    return (f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


def path_of_request_line(line: bytes) -> str:
    """The path of a request line (``GET /v1/models HTTP/1.1``), however long or cut off; "" if none."""
    parts = line[:4096].split(b" ", 2)
    if len(parts) < 2:
        return ""
    return parts[1].partition(b"?")[0].decode("latin-1")
