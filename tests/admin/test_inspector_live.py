"""The live observer end to end: the openai SDK through the real proxy, watched over a real websocket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from django.contrib.auth.models import AbstractUser
from websockets.sync.client import ClientConnection, connect

from commands_app.models import FailoverRoute, FailoverRouteElement
from tests.admin.conftest import session_cookie
from tests.conftest import OPENAI_KEYS, Proxy
from usage_app import recorder


@contextmanager
def open_inspector(proxy: Proxy, user: AbstractUser) -> Iterator[ClientConnection]:
    ws_url = proxy.url.replace("http://", "ws://") + "/ws/inspector/"
    headers = {"Cookie": session_cookie(user), "Origin": proxy.url}
    with connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        yield ws


def messages_until_finish(ws: ClientConnection, timeout: float = 15.0) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
        seen.append(msg)
        if msg["type"] == "finish":
            return seen
    raise AssertionError(f"no finish within {timeout}s: {seen}")


@pytest.fixture
def sdk(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                         default_headers={"X-Project": "inspected", "X-Session-ID": "live-1"})


def test_a_streamed_request_appears_live(proxy: Proxy, superuser: AbstractUser, sdk: openai.OpenAI) -> None:
    with open_inspector(proxy, superuser) as ws:
        chunks = list(sdk.chat.completions.create(
            model="openai:gpt-4o", messages=[{"role": "user", "content": "Say hello to the inspector"}], stream=True,
            stream_options={"include_usage": True},
        ))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        seen = messages_until_finish(ws)
    kinds = [m["type"] for m in seen]
    assert kinds[0] == "start" and kinds[-1] == "finish" and set(kinds[1:-1]) == {"delta"}
    start, finish = seen[0], seen[-1]
    assert {m["id"] for m in seen} == {start["id"]}
    assert (start["protocol"], start["client_model"], start["targets"]) == ("openai_chat", "openai:gpt-4o",
                                                                            ["openai:gpt-4o"])
    assert (start["project"], start["session"]) == ("inspected", "live-1")
    assert "".join(m["text"] for m in seen if m["type"] == "delta") == streamed
    assert finish["status"] == 200
    assert finish["output_tokens"] > 0 and finish["input_tokens"] > 0
    assert finish["cost_usd"] and finish["cost_usd"] > 0
    assert finish["latency_ms"] > 0
    assert finish["failover"] is False
    assert OPENAI_KEYS[0] not in json.dumps(seen)
    recorder.flush(10)


def test_failover_attempts_are_reported(proxy: Proxy, superuser: AbstractUser, sdk: openai.OpenAI) -> None:
    route = FailoverRoute.objects.create(name="inspect-route", policy="m")
    FailoverRouteElement.objects.create(route=route, position=0, target="openai:gpt-4o")
    FailoverRouteElement.objects.create(route=route, position=1, target="openrouter:gpt-4")
    proxy.fakes.openai.fail_key(OPENAI_KEYS[0], 500, times=5)
    with open_inspector(proxy, superuser) as ws:
        answer = sdk.chat.completions.create(model="inspect-route", messages=[{"role": "user", "content": "hi"}])
        seen = messages_until_finish(ws)
    assert answer.choices[0].message.content
    start, finish = seen[0], seen[-1]
    assert start["targets"] == ["openai:gpt-4o", "openrouter:gpt-4"]
    assert "".join(m["text"] for m in seen if m["type"] == "delta") == answer.choices[0].message.content
    assert finish["failover"] is True
    assert finish["backend"] == "openrouter"
    assert finish["attempts"][-1]["outcome"] == "ok" and finish["attempts"][0]["status"] == 500
    assert OPENAI_KEYS[0] not in json.dumps(seen)
    recorder.flush(10)
