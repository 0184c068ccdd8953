"""Hostile requests against every client protocol's endpoints on the live proxy.

Valid bodies are mutated at random JSON paths (fields dropped, replaced by values of any type, huge
numbers, lone surrogates, deep nesting), or replaced by bytes that are not a JSON object, or sent
with a wrong Content-Type. Whatever comes in, the proxy answers in the client's protocol: no 5xx
(the fakes fail no request here), a 4xx in that protocol's error shape, a stream that ends as that
protocol ends one, nothing logged as an unhandled exception, and a healthy proxy afterwards.
``FUZZ_EXAMPLES`` sets the examples per endpoint (CI's default keeps the directory under ~90 s).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.conftest import Proxy
from tests.fuzz.conftest import ErrorLog, as_text
from tests.fuzz.mutations import RawRequest, hostile_requests
from tests.fuzz.wire import ENDPOINT_NAMES, MODELS, Endpoint, endpoints, sse_events

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAKE_SERVER_LOGGER = "aiohttp.server"  # the fake providers' server (only they use aiohttp's server here)
ODD_PATH_MODELS = ["", "no-such-backend:model", "models/gemini:x", "a/../b", "%zz", "\U0001f600", "x" * 300]


@st.composite
def cases(draw: st.DrawFn, endpoint: Endpoint) -> tuple[str, RawRequest]:
    """A path (with a model, for Gemini) and a hostile request derived from one of the endpoint's valid bodies."""
    model = draw(st.sampled_from(MODELS))
    base = draw(st.sampled_from(endpoint.bodies(model)))
    if endpoint.stream_ended is not None and not endpoint.streams_always:
        base = {**base, "stream": draw(st.booleans())}
    request = draw(hostile_requests(base, endpoint.field_names()))
    path_model = draw(st.sampled_from([model, model, model, *ODD_PATH_MODELS]))
    path = endpoint.path.replace("{model}", quote(path_model, safe=":/"))
    if endpoint.streams_always:
        request = RawRequest(request.body, request.content_type, stream=True)
    return path, request


def answer_problems(endpoint: Endpoint, request: RawRequest, response: httpx.Response, *,
                    upstream_failed: bool = False) -> list[str]:
    """What is wrong with the proxy's answer to ``request`` (nothing, for an answer in the protocol).
    ``upstream_failed``: the fake provider crashed, so a 5xx in the protocol's error shape is right."""
    status, text = response.status_code, response.text
    content_type = response.headers.get("content-type", "")
    if status >= 500 and not upstream_failed:
        return [f"HTTP {status}: {text[:500]}"]
    if content_type.startswith("text/event-stream"):
        if status != 200 or endpoint.stream_ended is None:
            return [f"an unexpected stream (HTTP {status})"]
        events = sse_events(text)
        if not endpoint.stream_ended(events):
            return [f"the stream did not end properly; last events: {events[-3:]}"]
        last = events[-1].json()
        if isinstance(last, dict) and ("error" in last or last.get("type") == "error"):
            return [f"stream error event: {p}" for p in endpoint.error_problems(last, None)]
        return []
    if not content_type.startswith("application/json"):
        return [f"HTTP {status} with Content-Type {content_type!r}: {text[:300]}"]
    try:
        body: Any = json.loads(text)
    except ValueError:
        return [f"HTTP {status}: not JSON: {text[:300]}"]
    if status >= 400:
        return [f"HTTP {status} {text[:300]}: {p}" for p in endpoint.error_problems(body, status)]
    if status != 200:
        return [f"unexpected HTTP {status}: {text[:300]}"]
    if request.stream:
        return ["asked for a stream, answered with JSON"]
    return [] if isinstance(body, dict) and endpoint.answer_key in body else [f"answer without {endpoint.answer_key}"]


def post(client: httpx.Client, endpoint: Endpoint, path: str, request: RawRequest) -> httpx.Response:
    headers = dict(endpoint.headers)
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    with client.stream("POST", path, content=request.body, headers=headers) as response:
        response.read()
    return response


def exchange_problems(client: httpx.Client, endpoint: Endpoint, path: str, request: RawRequest,
                      error_log: ErrorLog) -> list[str]:
    """Send ``request``; what is wrong with the answer, and every error the process logged meanwhile."""
    response = post(client, endpoint, path, request)
    records = error_log.take()
    if fake_crashed := [r for r in records if r.name == FAKE_SERVER_LOGGER]:
        note("a fake provider failed on this request (a defect of the fake): " + as_text(fake_crashed)[0])
        # the 5xx the proxy relays for it is logged as a response, not as an exception
        records = [r for r in records if r not in fake_crashed and (r.exc_info or r.name != "django.request")]
    return answer_problems(endpoint, request, response, upstream_failed=bool(fake_crashed)) + as_text(records)


def assert_healthy(client: httpx.Client, endpoint: Endpoint) -> None:
    assert client.get("/healthz").status_code == 200
    valid = RawRequest(json.dumps(endpoint.bodies(MODELS[0])[0]).encode())
    response = post(client, endpoint, endpoint.path.replace("{model}", MODELS[0]), valid)
    assert response.status_code == 200 and not answer_problems(endpoint, valid, response), response.text[:500]


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_hostile_requests_are_answered_in_the_clients_protocol(proxy: Proxy, error_log: ErrorLog, name: str) -> None:
    endpoint = next(e for e in endpoints(proxy.key) if e.name == name)
    with httpx.Client(base_url=proxy.url, timeout=30) as client:

        @FUZZ
        @given(case=cases(endpoint))
        def survives(case: tuple[str, RawRequest]) -> None:
            path, request = case
            problems = exchange_problems(client, endpoint, path, request, error_log)
            assert not problems, f"POST {path} {request.body[:300]!r}:\n" + "\n".join(problems)

        survives()
        assert_healthy(client, endpoint)
    assert not error_log.take()


NATIVE_MODEL = {"openai": MODELS[0], "anthropic": MODELS[1], "gemini": MODELS[2]}


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
@pytest.mark.parametrize("depth", [300, 1000])
def test_deep_json_is_refused_or_served_never_a_500(proxy: Proxy, error_log: ErrorLog, name: str, depth: int) -> None:
    """JSON nested deeper than orjson writes (254 levels) but not deeper than it reads (1024), in a field
    passed on to a backend of the client's own protocol."""
    endpoint = next(e for e in endpoints(proxy.key) if e.name == name)
    model = NATIVE_MODEL[name.split("_")[0]]
    body = json.dumps(endpoint.bodies(model)[0]).encode()
    request = RawRequest(body[:-1] + b', "x_deep": ' + b"[" * depth + b"]" * depth + b"}",
                         stream=endpoint.streams_always)
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        problems = exchange_problems(client, endpoint, endpoint.path.replace("{model}", model), request, error_log)
    assert not problems, "\n".join(problems)


HI = [{"role": "user", "content": "Hi"}]
# What the fuzz found (each once a 500 with a traceback), kept as fixed examples with the status now answered.
FOUND: list[tuple[str, str, dict[str, Any]]] = [
    ("gemini_generate", "openai:gpt-4o", {"contents": [{"parts": [{"text": "Hi"}]}], "systemInstruction": {}}),
    ("gemini_count_tokens", "openai:gpt-4o", {"generateContentRequest": [{"contents": []}]}),
    ("gemini_count_tokens", "openai:gpt-4o", {"contents": [{"parts": [{"text": "Hi"}]}],
                                              "tools": [{"functionDeclarations": [{"name": "a", "description": [1]}]}]}),
    ("anthropic_count_tokens", "openai:gpt-4o", {"model": "openai:gpt-4o", "messages": HI,
                                                 "tools": [{"name": "a", "description": [1], "input_schema": {}}]}),
    ("openai_chat", "gemini:gemini-2.5-flash", {"model": "gemini:gemini-2.5-flash", "messages": [
        *HI, {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "a", "arguments": {"x": 1}}}]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"}]}),
    ("openai_chat", "openai:gpt-4o", {"model": "openai:gpt-4o", "messages": [
        *HI, {"role": "assistant", "content": "x", "tool_calls": 5}]}),
    ("openai_chat", "anthropic:claude-sonnet-4-5", {"model": "anthropic:claude-sonnet-4-5", "messages": HI,
                                                    "tools": [{"type": "function",
                                                               "function": {"name": "a", "parameters": [1]}}]}),
    ("openai_responses", "openai:gpt-4o", {"model": "openai:gpt-4o", "input": "Hi",
                                           "tools": [{"type": "namespace", "name": "ns", "tools": 5}]}),
]


@pytest.mark.parametrize(("name", "model", "body"), FOUND)
def test_what_the_fuzz_found_is_answered_in_the_clients_protocol(proxy: Proxy, error_log: ErrorLog, name: str,
                                                                 model: str, body: dict[str, Any]) -> None:
    endpoint = next(e for e in endpoints(proxy.key) if e.name == name)
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        path = endpoint.path.replace("{model}", model)
        request = RawRequest(json.dumps(body).encode())
        problems = exchange_problems(client, endpoint, path, request, error_log)
        status = post(client, endpoint, path, request).status_code
    assert not problems, "\n".join(problems)
    # refused before any upstream call, except an empty system instruction, which is no system prompt
    assert status == (200 if "systemInstruction" in body else 400)
