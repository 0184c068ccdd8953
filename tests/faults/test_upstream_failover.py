"""Failover around upstream faults: a fault before any content reached the client hands the request to
the route's next key or backend; once content went out, nothing is retried."""

from __future__ import annotations

import pytest

from tests.faults import misbehaving as mb
from tests.faults.conftest import (
    Faulty,
    assert_complete,
    assert_stream_error,
    call_for,
    last_usage_record,
    send,
    streamed_text,
)

PAIRS = [("openai_chat", "openai"), ("responses", "gemini"), ("anthropic", "anthropic"), ("gemini", "anthropic")]
PAIR_IDS = [f"{client}-to-{backend}" for client, backend in PAIRS]
EVERY_PAIR = pytest.mark.parametrize(("client", "backend"), PAIRS, ids=PAIR_IDS)
BEFORE_ANY_BYTE = [mb.reset(), mb.stall(), mb.error(502), mb.error(529), mb.error(429, retry_after=30)]


@pytest.mark.parametrize("fault", BEFORE_ANY_BYTE, ids=[f.label for f in BEFORE_ANY_BYTE])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@EVERY_PAIR
def test_the_backends_second_key_takes_over_from_a_fault_before_the_first_byte(
        faulty: Faulty, client: str, backend: str, stream: bool, fault: mb.Reply) -> None:
    faulty.configure(keys=2)
    faulty.timeouts(PROXY_FIRST_BYTE_TIMEOUT=0.3, PROXY_TIMEOUT=0.3)
    faulty.upstream.script(fault, mb.ok())
    call = call_for(client, backend, stream=stream)
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT
    first, second = faulty.upstream.requests()
    assert first.headers.keys() & second.headers.keys()  # the same call …
    auth = {"openai": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}[backend]
    assert first.headers[auth] != second.headers[auth]  # … with the other key
    record = last_usage_record()
    assert (record.status, record.attempts, record.error_type) == (200, 2, "")
    assert record.attempt_log[0]["status"] != 200 and record.attempt_log[1]["status"] == 200


OPENING_FAULTS = [mb.frames(0, "reset"), mb.frames(0, "close"), mb.frames(0, "error_event"),
                  mb.raw("opening-then-garbage", lambda wire: [*wire.opening(), b"data: {oops\n\n"])]


@pytest.mark.parametrize("fault", OPENING_FAULTS, ids=[f.label for f in OPENING_FAULTS])
@EVERY_PAIR
def test_a_stream_that_fails_after_its_opening_but_before_content_fails_over(
        faulty: Faulty, client: str, backend: str, fault: mb.Reply) -> None:
    faulty.configure(keys=2)
    faulty.upstream.script(fault, mb.ok())
    call = call_for(client, backend, stream=True)
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT
    assert len(faulty.upstream.requests()) == 2
    record = last_usage_record()
    assert (record.status, record.attempts) == (200, 2)


@pytest.mark.parametrize("then", ["reset", "stall", "error_event"])
@EVERY_PAIR
def test_nothing_is_retried_once_content_reached_the_client(faulty: Faulty, client: str, backend: str,
                                                             then: str) -> None:
    faulty.configure(keys=2)
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.3)
    faulty.upstream.script(mb.frames(1, then), mb.ok())
    call = call_for(client, backend, stream=True)
    answer = send(faulty, call)
    assert_stream_error(call, answer)
    assert streamed_text(call, answer) == mb.words()[0]
    assert len(faulty.upstream.requests()) == 1
    record = last_usage_record()
    assert record.status >= 500 and record.attempts == 1


def _route(name: str, *elements: str) -> None:
    """A global failover route with policy ``m``: each element in order."""
    from commands_app.routes import route_create, route_set_elements

    route_set_elements(route_create(name=name, policy="m", owner_id=None), list(elements))


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("client", ["openai_chat", "responses", "anthropic", "gemini"])
def test_the_routes_second_backend_takes_over_from_a_refused_connection(faulty: Faulty, client: str,
                                                                         stream: bool) -> None:
    faulty.configure(OPENAI_API_BASE_URL=f"http://127.0.0.1:{mb.closed_port()}/v1")
    _route("fallback", "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash")
    faulty.upstream.script(mb.reset(), mb.ok())  # the second element resets too: the third answers
    call = call_for(client, "openai", stream=stream, model="fallback")
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT
    assert [r.wire.name for r in faulty.upstream.requests()] == ["anthropic", "gemini"]
    record = last_usage_record()
    assert (record.status, record.attempts, record.backend) == (200, 3, "gemini")
    assert [a["status"] for a in record.attempt_log] == [502, 502, 200]
