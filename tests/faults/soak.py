"""A mixed load over the four client protocols, with upstream faults, checking every answer's wire shape.

``plan_shots`` decides the requests (protocol, streamed or not, backend, an injected fault for a share
of them), ``run_load`` sends them with raw ``httpx.AsyncClient`` at a fixed concurrency and
``check_answer`` judges each answer as a strict client of that protocol would: a 2xx body in the
protocol's response shape that echoes the request's own tag (unless a magic word changes the answer),
a non-2xx body in the protocol's error JSON, a stream that is well-formed SSE of the protocol ending
with its terminal event or its error event. Each request carries its own ``X-Session-ID`` so its
usage record can be found afterwards.

``LoggedProxy`` is ``manage.py runproxy`` with its output in a file: a long run logs more than a
pipe holds, and a proxy blocked on a full pipe would look like a hang.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Fakes, free_port
from tests.processes import ROOT, ProxyProcess, proxy_env
from tests.sse import sse_events

SOAK_REQUESTS = int(os.environ.get("SOAK_REQUESTS", "2000"))
PROTOCOLS = ("chat", "responses", "anthropic", "gemini")
TARGETS = ("openai:gpt-4o", "openrouter:openai/gpt-4", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash")
FAULTS = ("[[error:500]]", "[[error:503]]", "[[error:429]]", "[[cut]]", "[[hang]]")
STREAMED_FAULTS = ("[[cut]]", "[[slow]]")  # a break mid-stream, a stream of 8 s
BACKEND_KEYS = {"OPENAI": "sk-soak-openai-000000000001", "OPENROUTER": "sk-or-v1-soak-openrouter-0001",
                "ANTHROPIC": "sk-ant-api03-soak-anthropic-0001", "GEMINI": "AIzaSySoakGeminiKey00000000001"}
ANTHROPIC_VERSION = "2023-06-01"


# ---------------------------------------------------------------- the proxy under load


def load_env(tmp_path: Path, fakes: Fakes, proxy_key: str, **extra: str) -> dict[str, str]:
    """``runproxy``'s environment: every backend on its fake, faults failing fast (against the fake's 5 s
    ``[[hang]]`` a stream waits 0.5 s for its first byte, a whole answer 1.5 s; two attempts, short
    backoff) and a 429 without Retry-After resting no key; ``extra`` adds or replaces variables."""
    assert fakes.anthropic is not None and fakes.gemini is not None
    env = {
        "LLM_INTERACTIVE_PROXY_API_KEY": proxy_key,
        "OPENAI_API_KEY": BACKEND_KEYS["OPENAI"],
        "OPENROUTER_API_KEY": BACKEND_KEYS["OPENROUTER"], "OPENROUTER_API_BASE_URL": f"{fakes.openrouter.origin}/v1",
        "ANTHROPIC_API_KEY": BACKEND_KEYS["ANTHROPIC"], "ANTHROPIC_API_BASE_URL": f"{fakes.anthropic.origin}/v1",
        "GEMINI_API_KEY": BACKEND_KEYS["GEMINI"], "GEMINI_API_BASE_URL": f"{fakes.gemini.origin}/v1beta",
        "PROXY_TIMEOUT": "1.5", "PROXY_FIRST_BYTE_TIMEOUT": "0.5", "PROXY_MAX_ATTEMPTS": "2",
        "PROXY_RETRY_BACKOFF_BASE": "0.01", "PROXY_RETRY_BACKOFF_MAX": "0.05", "DEFAULT_COOLDOWN_SECONDS": "0",
    }
    return proxy_env(tmp_path, fakes, **{**env, **extra})


class LoggedProxy(ProxyProcess):
    """``runproxy`` writing its output to ``log`` instead of a pipe."""

    def __init__(self, env: dict[str, str], log: Path, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "runproxy", "--port", str(self.port), *args],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        try:
            super().wait_ready(timeout)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.output()[-3000:]}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """SIGTERM: the proxy finishes its requests and writes its queued usage records."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.output()

    def kill(self) -> None:
        """SIGKILL: nothing is finished, nothing queued is written."""
        self.proc.kill()
        self.proc.wait()


# ---------------------------------------------------------------- what is sent


@dataclass(frozen=True)
class Shot:
    index: int
    protocol: str
    stream: bool
    target: str
    fault: str | None
    tag: str

    @property
    def session(self) -> str:
        return f"{self.tag}-{self.index:06d}"

    @property
    def text(self) -> str:
        return f"load {self.session} {self.fault or ''}".strip()


def plan_shots(n: int, *, tag: str, fault_share: float = 0.1, faults: tuple[str, ...] = FAULTS, seed: int = 24,
               stream_share: float = 0.5) -> list[Shot]:
    """``n`` requests spread over protocols, backends and streaming, ``fault_share`` of them with one of
    ``faults``' magic words (``STREAMED_FAULTS`` are always streamed)."""
    rng = random.Random(seed)
    faulted = set(rng.sample(range(n), round(n * fault_share)))
    shots = []
    for i in range(n):
        fault = rng.choice(faults) if i in faulted else None
        stream = fault in STREAMED_FAULTS or rng.random() < stream_share
        # a 429 rests the key for the delay it names: Gemini's fake names 60 s and Anthropic's 1 s (as the
        # real APIs do), and their only key would fail the unfaulted requests meanwhile
        targets = TARGETS[:2] if fault == "[[error:429]]" else TARGETS
        shots.append(Shot(i, PROTOCOLS[i % len(PROTOCOLS)], stream, rng.choice(targets), fault, tag))
    return shots


def request_for(shot: Shot, key: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Path, headers and JSON body of ``shot`` in its client protocol."""
    headers = {"x-session-id": shot.session}
    user = [{"role": "user", "content": shot.text}]
    if shot.protocol == "chat":
        return "/v1/chat/completions", {**headers, "authorization": f"Bearer {key}"}, {
            "model": shot.target, "messages": user, "stream": shot.stream, "max_tokens": 64}
    if shot.protocol == "responses":
        return "/v1/responses", {**headers, "authorization": f"Bearer {key}"}, {
            "model": shot.target, "input": shot.text, "stream": shot.stream, "max_output_tokens": 64}
    if shot.protocol == "anthropic":
        return "/v1/messages", {**headers, "x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}, {
            "model": shot.target, "messages": user, "stream": shot.stream, "max_tokens": 64}
    action = "streamGenerateContent?alt=sse" if shot.stream else "generateContent"
    return f"/v1beta/models/{shot.target}:{action}", {**headers, "x-goog-api-key": key}, {
        "contents": [{"role": "user", "parts": [{"text": shot.text}]}], "generationConfig": {"maxOutputTokens": 64}}


# ---------------------------------------------------------------- what comes back


def error_problem(protocol: str, status: int, body: Any) -> str | None:
    """Why ``body`` is not ``protocol``'s error JSON (None: it is)."""
    if protocol == "anthropic":
        ok = (isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)
              and isinstance(body["error"].get("type"), str) and isinstance(body["error"].get("message"), str))
    elif protocol == "gemini":
        err = body.get("error") if isinstance(body, dict) else None
        ok = (isinstance(err, dict) and err.get("code") in (status, None) and isinstance(err.get("message"), str)
              and isinstance(err.get("status"), str))
    else:
        err = body.get("error") if isinstance(body, dict) else None
        ok = (isinstance(err, dict) and isinstance(err.get("message"), str) and isinstance(err.get("type"), str)
              and {"param", "code"} <= err.keys())
    return None if ok else f"not a {protocol} error: {json.dumps(body)[:300]}"


def body_text(protocol: str, body: dict[str, Any]) -> str | None:
    """The answer text of a non-streamed 2xx body, or None when the body is not that protocol's response."""
    try:
        if protocol == "chat":
            return str(body["choices"][0]["message"]["content"]) if body["object"] == "chat.completion" else None
        if protocol == "responses":
            if body["object"] != "response" or body["status"] not in ("completed", "incomplete"):
                return None
            return "".join(part["text"] for item in body["output"] if item["type"] == "message"
                           for part in item["content"] if part["type"] == "output_text")
        if protocol == "anthropic":
            if body["type"] != "message" or body["role"] != "assistant":
                return None
            return "".join(block["text"] for block in body["content"] if block["type"] == "text")
        return "".join(part.get("text", "") for part in body["candidates"][0]["content"]["parts"])
    except (KeyError, IndexError, TypeError):
        return None


def stream_outcome(protocol: str, raw: str) -> tuple[str | None, str | None]:
    """(problem, text): why the stream is malformed (None: well-formed), and its answer text, None when
    it ended with the protocol's error event."""
    try:
        events = [(name, data if data == "[DONE]" else json.loads(data)) for name, data in sse_events(raw)]
    except ValueError as exc:
        return f"bad SSE: {exc}", None
    if not events:
        return "empty stream", None
    last_name, last = events[-1]
    text: list[str] = []
    if protocol == "chat":
        for _, data in events[:-1]:
            if not isinstance(data, dict) or data.get("object") != "chat.completion.chunk":
                return f"not a chat chunk: {str(data)[:200]}", None
            text += [choice["delta"].get("content") or "" for choice in data["choices"]]
        if last == "[DONE]":
            return None, "".join(text)
        return error_problem(protocol, 0, last), None
    if protocol == "responses":
        if any(name != data.get("type") for name, data in events):
            return "an event's name differs from its type", None
        if events[0][0] != "response.created":
            return f"first event {events[0][0]}", None
        text = [data["delta"] for name, data in events if name == "response.output_text.delta"]
        if last_name in ("response.completed", "response.incomplete"):
            return None, "".join(text)
        errors = [data for name, data in events if name == "error"]
        if last_name == "response.failed" and errors and isinstance(errors[0].get("message"), str):
            return None, None
        return f"responses stream ends with {last_name}", None
    if protocol == "anthropic":
        if any(name != data.get("type") for name, data in events):
            return "an event's name differs from its type", None
        if last_name == "error":
            return error_problem(protocol, 0, last), None
        if events[0][0] != "message_start" or last_name != "message_stop":
            return f"anthropic stream {events[0][0]} … {last_name}", None
        text = [data["delta"].get("text", "") for name, data in events if name == "content_block_delta"]
        return None, "".join(text)
    for _, data in events[:-1]:
        if not isinstance(data, dict) or "candidates" not in data:
            return f"not a gemini chunk: {str(data)[:200]}", None
    if isinstance(last, dict) and "error" in last:
        return error_problem(protocol, last["error"].get("code", 0), last), None
    if not isinstance(last, dict) or not last.get("candidates") or not last["candidates"][0].get("finishReason"):
        return f"gemini stream ends without a finishReason: {str(last)[:200]}", None
    text = [part.get("text", "") for _, data in events for part in data["candidates"][0]["content"].get("parts", [])]
    return None, "".join(text)


@dataclass
class Outcome:
    shot: Shot
    status: int  # 0: no HTTP answer at all
    started: float  # time.time() at the start and the end of the request
    ended: float
    failed: bool  # a non-2xx status, a stream's error event, or a broken answer
    problem: str | None  # what is wrong with the answer's shape (None: nothing)
    broken: str | None = None  # the transport error that cut the answer short (None: it arrived whole)
    via: str = ""  # the instances nginx passed the request to (its X-Upstream header), when behind nginx

    @property
    def latency(self) -> float:
        return self.ended - self.started


def check_answer(shot: Shot, status: int, content_type: str, raw: bytes) -> tuple[bool, str | None]:
    """(failed, problem) for one whole answer."""
    expected_type = "text/event-stream" if shot.stream and status < 300 else "application/json"
    if not content_type.startswith(expected_type):
        return True, f"content type {content_type!r}, body {raw[:200]!r}"
    if shot.stream and status < 300:
        problem, text = stream_outcome(shot.protocol, raw.decode())
    else:
        try:
            body = json.loads(raw)
        except ValueError:
            return True, f"not JSON: {raw[:200]!r}"
        if status >= 300:
            return True, error_problem(shot.protocol, status, body)
        text = body_text(shot.protocol, body)
        problem = None if text is not None else f"not a {shot.protocol} response: {raw[:300]!r}"
    if text is not None and shot.fault is None and shot.session not in text:
        problem = problem or f"the answer does not echo {shot.session}: {text[:200]!r}"
    return text is None, problem


async def fire(client: httpx.AsyncClient, shot: Shot, key: str) -> Outcome:
    path, headers, payload = request_for(shot, key)
    started, status, via = time.time(), 0, ""
    try:
        async with client.stream("POST", path, headers=headers, json=payload) as resp:
            status, via = resp.status_code, resp.headers.get("x-upstream", "")
            raw = await resp.aread()
    except httpx.HTTPError as exc:
        return Outcome(shot, status, started, time.time(), True, None, broken=type(exc).__name__, via=via)
    failed, problem = check_answer(shot, status, resp.headers.get("content-type", ""), raw)
    return Outcome(shot, status, started, time.time(), failed, problem, via=via)


async def run_load(base_url: str, key: str, shots: list[Shot], *, concurrency: int = 24, timeout: float = 30.0,
                   outcomes: list[Outcome] | None = None) -> list[Outcome]:
    """Send ``shots`` with ``concurrency`` requests in flight; every request ends within ``timeout``.
    Outcomes are appended to ``outcomes`` as they come (a caller can watch the progress)."""
    pending = iter(shots)
    done: list[Outcome] = [] if outcomes is None else outcomes
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            for shot in pending:
                done.append(await fire(client, shot, key))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def summary(outcomes: list[Outcome], elapsed: float) -> str:
    latencies = sorted(o.latency for o in outcomes)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    faults = sum(o.shot.fault is not None for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    return (f"{len(outcomes)} requests ({faults} with a fault, {failed} failed) in {elapsed:.1f} s: "
            f"{len(outcomes) / elapsed:.0f} req/s, p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms")


def usage_sessions(rows: Iterable[tuple[str]], tag: str) -> Counter[str]:
    """How many usage records each of the run's sessions has (rows: ``SELECT session_id``)."""
    return Counter(session for (session,) in rows if session.startswith(f"{tag}-"))
