"""Fixtures of the fault-injection suite: the misbehaving upstream behind every backend of the live
proxy, short timeouts, and helpers to call the proxy in each client protocol and read what it recorded."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND_ENV_PREFIXES, Proxy, reset_caches
from tests.faults.misbehaving import MisbehavingUpstream
from tests.sse import sse_events

# Short enough to keep the suite fast, long enough for a loaded 2-core machine to answer in time.
TIMEOUTS = {"PROXY_CONNECT_TIMEOUT": 2.0, "PROXY_FIRST_BYTE_TIMEOUT": 2.0, "PROXY_IDLE_TIMEOUT": 2.0,
            "PROXY_TIMEOUT": 5.0}
BACKEND_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
CLIENTS = ("openai_chat", "responses", "anthropic", "gemini")
KEYS = {"OPENAI": "sk-fault-openai-key-00000000000{n}", "OPENROUTER": "sk-or-v1-fault-key-00000000000{n}",
        "ANTHROPIC": "sk-ant-api03-fault-key-00000000000{n}", "GEMINI": "AIzaSyFaultKey00000000000000000{n}"}


@pytest.fixture(scope="session")
def upstream() -> Iterator[MisbehavingUpstream]:
    server = MisbehavingUpstream().start()
    yield server
    server.stop()


@dataclass
class Faulty:
    """The live proxy with every backend (openai, openrouter, anthropic, gemini) on the misbehaving upstream."""

    proxy: Proxy
    upstream: MisbehavingUpstream
    monkeypatch: pytest.MonkeyPatch
    settings: Any

    @property
    def url(self) -> str:
        return self.proxy.url

    def configure(self, *, keys: int = 1, **env: str) -> None:
        """Point the backends at the upstream again with ``keys`` keys each and ``env`` on top
        ("" removes a variable); the registry is rebuilt."""
        for name in list(os.environ):
            if name.startswith(BACKEND_ENV_PREFIXES) or name == "LLM_BACKEND":
                self.monkeypatch.delenv(name, raising=False)
        for prefix, path in (("OPENAI", "/v1"), ("OPENROUTER", "/v1"), ("ANTHROPIC", "/v1"), ("GEMINI", "/v1beta")):
            self.monkeypatch.setenv(f"{prefix}_API_BASE_URL", self.upstream.origin + path)
            for n in range(1, keys + 1):
                self.monkeypatch.setenv(f"{prefix}_API_KEY_{n}", KEYS[prefix].format(n=n))
        for name, value in env.items():
            if value:
                self.monkeypatch.setenv(name, value)
            else:
                self.monkeypatch.delenv(name, raising=False)
        reset_caches()

    def timeouts(self, **seconds: float) -> None:
        """Override upstream timeouts (``PROXY_IDLE_TIMEOUT=0.3``, …) for the rest of the test."""
        for name, value in seconds.items():
            setattr(self.settings, name, value)
        reset_caches()  # connectors read the timeouts when the registry builds them


@pytest.fixture
def faulty(proxy: Proxy, upstream: MisbehavingUpstream, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Faulty:
    for name, value in TIMEOUTS.items():
        setattr(settings, name, value)
    settings.PROXY_RETRY_BACKOFF_BASE = 0.01
    settings.PROXY_RETRY_BACKOFF_MAX = 0.02
    upstream.reset()
    faulty = Faulty(proxy, upstream, monkeypatch, settings)
    faulty.configure()
    return faulty


# ---------------------------------------------------------------- calling the proxy as each client


@dataclass(frozen=True)
class Call:
    """One request as a client of ``client``'s protocol makes it."""

    client: str
    model: str
    stream: bool

    def path(self) -> str:
        if self.client == "openai_chat":
            return "/v1/chat/completions"
        if self.client == "responses":
            return "/v1/responses"
        if self.client == "anthropic":
            return "/anthropic/v1/messages"
        action = "streamGenerateContent?alt=sse" if self.stream else "generateContent"
        return f"/v1beta/models/{self.model}:{action}"

    def body(self, text: str = "Say hello") -> dict[str, Any]:
        if self.client == "openai_chat":
            return {"model": self.model, "messages": [{"role": "user", "content": text}], "stream": self.stream}
        if self.client == "responses":
            return {"model": self.model, "input": text, "stream": self.stream}
        if self.client == "anthropic":
            return {"model": self.model, "max_tokens": 64, "stream": self.stream,
                    "messages": [{"role": "user", "content": text}]}
        return {"contents": [{"role": "user", "parts": [{"text": text}]}]}

    def headers(self, key: str) -> dict[str, str]:
        if self.client == "anthropic":
            return {"x-api-key": key, "anthropic-version": "2023-06-01"}
        if self.client == "gemini":
            return {"x-goog-api-key": key}
        return {"authorization": f"Bearer {key}"}


def call_for(client: str, backend: str, *, stream: bool, model: str | None = None) -> Call:
    return Call(client, model or f"{backend}:{BACKEND_MODELS[backend]}", stream)


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[tuple[str | None, Any]]:
        """The SSE events that carry data, as ``(event name, parsed data)``; ``[DONE]`` as ``(None, "[DONE]")``."""
        return [(name, data if data == "[DONE]" else json.loads(data))
                for name, data in sse_events(self.body.decode()) if data]


def send(faulty: Faulty, call: Call, *, text: str = "Say hello", timeout: float = 20.0) -> Answer:
    started = time.monotonic()
    with httpx.Client(timeout=timeout) as client:
        response = client.post(faulty.url + call.path(), json=call.body(text), headers=call.headers(faulty.proxy.key))
    return Answer(response.status_code, response.headers, response.content, time.monotonic() - started)


def last_usage_record() -> Any:
    """The newest usage record, once the background writer has written it."""
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    assert flush(timeout=10)
    record = UsageRecord.objects.order_by("-id").first()
    assert record is not None, "no usage record was written"
    return record


# ---------------------------------------------------------------- what a client must get


def assert_error_answer(call: Call, answer: Answer, status: int | set[int]) -> dict[str, Any]:
    """``answer`` is an HTTP error with ``status`` and a body the client's protocol defines."""
    allowed = status if isinstance(status, set) else {status}
    assert answer.status in allowed, (answer.status, answer.body[:500])
    body = answer.json()
    if call.client == "anthropic":
        assert body["type"] == "error" and isinstance(body["error"]["type"], str), body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    elif call.client == "gemini":
        error = body["error"]
        assert error["code"] == answer.status and isinstance(error["status"], str) and error["message"], body
    else:
        error = body["error"]
        assert {"message", "type", "param", "code"} <= error.keys() and error["message"], body
    return dict(body)


def assert_stream_error(call: Call, answer: Answer) -> list[tuple[str | None, Any]]:
    """``answer`` is a 200 stream, every event well formed, ending with its protocol's error event."""
    assert answer.status == 200, answer.body[:500]
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = answer.events()
    assert events, answer.body
    name, data = events[-1]
    if call.client == "anthropic":
        assert name == "error" and data["type"] == "error" and data["error"]["message"], events[-3:]
    elif call.client == "responses":
        assert name == "response.failed" and data["response"]["status"] == "failed", events[-3:]
        assert events[-2][0] == "error" and events[-2][1]["message"], events[-3:]
    elif call.client == "gemini":
        assert set(data["error"]) >= {"code", "message", "status"}, events[-3:]
    else:
        assert {"message", "type"} <= data["error"].keys(), events[-3:]
    return events


def streamed_text(call: Call, answer: Answer) -> str:
    """The answer text a client of ``call.client``'s protocol reads from the stream or the JSON body."""
    if not call.stream:
        body = answer.json()
        if call.client == "openai_chat":
            return str(body["choices"][0]["message"]["content"])
        if call.client == "responses":
            return "".join(c["text"] for item in body["output"] if item["type"] == "message" for c in item["content"])
        if call.client == "anthropic":
            return "".join(block["text"] for block in body["content"] if block["type"] == "text")
        return "".join(p.get("text", "") for p in body["candidates"][0]["content"]["parts"])
    out = []
    for name, data in answer.events():
        if data == "[DONE]" or not isinstance(data, dict):
            continue
        if call.client == "openai_chat":
            out += [ch["delta"].get("content") or "" for ch in data.get("choices", [])]
        elif call.client == "responses" and name == "response.output_text.delta":
            out.append(data["delta"])
        elif call.client == "anthropic" and name == "content_block_delta":
            out.append(data["delta"].get("text", ""))
        elif call.client == "gemini":
            out += [p.get("text", "") for cand in data.get("candidates", []) for p in cand["content"]["parts"]]
    return "".join(out)


def assert_complete(call: Call, answer: Answer) -> None:
    """A successful answer, whole: the stream ends as its protocol ends one."""
    assert answer.status == 200, answer.body[:500]
    if not call.stream:
        return
    events = answer.events()
    last_name, last = events[-1]
    if call.client == "openai_chat":
        assert last == "[DONE]", events[-2:]
    elif call.client == "responses":
        assert last_name == "response.completed", events[-2:]
    elif call.client == "anthropic":
        assert last_name == "message_stop", events[-2:]
    else:
        assert last["candidates"][0]["finishReason"] == "STOP", events[-2:]
