"""Request bodies over the size limit get a 413 and bodies nested too deep a 400, each in the client's
protocol, whether the size is declared or the body is chunked, and however deep the nesting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from proxy_app.chat.bodies import nested_deeper_than
from tests.conftest import Proxy

ENDPOINTS = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gpt-4o:generateContent",
}


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth, limit, deeper", [(1, 1, False), (2, 1, True), (64, 64, False), (65, 64, True),
                                                  (5000, 64, True)])
def test_nesting_is_measured_without_recursion(depth: int, limit: int, deeper: bool) -> None:
    assert nested_deeper_than(nested(depth), limit) is deeper


def post(proxy: Proxy, protocol: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    return httpx.post(f"{proxy.url}{ENDPOINTS[protocol]}", content=content, timeout=30, headers={
        "Authorization": f"Bearer {proxy.key}", "x-api-key": proxy.key, "Content-Type": "application/json"})


def error_message(protocol: str, response: httpx.Response, status: int) -> str:
    body = response.json()
    assert response.status_code == status
    if protocol == "anthropic":
        assert body["type"] == "error"
        return str(body["error"]["message"])
    if protocol == "gemini":
        assert body["error"]["code"] == status
    return str(body["error"]["message"])


def chat_body(protocol: str, **extra: Any) -> dict[str, Any]:
    if protocol == "gemini":
        return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **extra}
    return {"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize("protocol", ENDPOINTS)
def test_a_body_nested_too_deep_gets_a_400(proxy: Proxy, protocol: str) -> None:
    response = post(proxy, protocol, orjson.dumps(chat_body(protocol, metadata=nested(70))))
    assert error_message(protocol, response, 400) == "request body is nested deeper than 64 levels"


@pytest.mark.parametrize("protocol", ENDPOINTS)
def test_a_body_nested_100k_deep_gets_a_400(proxy: Proxy, protocol: str) -> None:
    content = b'{"model":"gpt-4o","messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert "depth" in error_message(protocol, post(proxy, protocol, content), 400)


@pytest.mark.parametrize("protocol", ENDPOINTS)
def test_a_body_over_the_limit_gets_a_413_declared_or_chunked(proxy: Proxy, settings: Any, protocol: str) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 10_000
    content = orjson.dumps(chat_body(protocol, padding="x" * 20_000))
    declared = post(proxy, protocol, content)
    chunked = post(proxy, protocol, iter([content[:8_000], content[8_000:]]))
    for response in (declared, chunked):
        assert error_message(protocol, response, 413) == "request body exceeds the limit of 10000 bytes"
    assert post(proxy, protocol, orjson.dumps(chat_body(protocol))).status_code == 200
