"""Each upstream fault, as each client protocol sees it through the live proxy, streamed and not: a
well-formed answer or error in the client's own protocol, a usage record saying what happened, and a
proxy that answers the next request normally. One key per backend here: no failover (see
``test_upstream_failover``)."""

from __future__ import annotations

import pytest

from tests.faults import misbehaving as mb
from tests.faults.conftest import (
    Call,
    Faulty,
    assert_complete,
    assert_error_answer,
    assert_stream_error,
    call_for,
    last_usage_record,
    send,
    streamed_text,
)

# Every client protocol once and every backend protocol, the same protocol on both sides twice
# and across protocols twice; error answers (which go through as they came to a client of the
# provider's own protocol) also for the other two pairs of the same protocol, and across once more.
PAIRS = [("openai_chat", "openai"), ("responses", "anthropic"), ("anthropic", "gemini"), ("gemini", "gemini")]
ERROR_PAIRS = [*PAIRS, ("anthropic", "anthropic"), ("gemini", "openai")]


def _pairs(pairs: list[tuple[str, str]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("client", "backend"), pairs, ids=[f"{c}-to-{b}" for c, b in pairs])


STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
EVERY_PAIR = _pairs(PAIRS)
EVERY_ERROR_PAIR = _pairs(ERROR_PAIRS)


def assert_healthy(faulty: Faulty, call: Call) -> None:
    """The proxy answers the next request (a normal one) in full."""
    faulty.upstream.script(mb.ok())
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT


def assert_recorded(status: int, error_type: str, *, attempts: int = 1) -> None:
    record = last_usage_record()
    assert (record.status, record.error_type, record.attempts) == (status, error_type, attempts), (
        record.status, record.error_type, record.attempts, record.error_message)
    assert record.error_message


# ---------------------------------------------------------------- before the first byte


@STREAMED
@EVERY_PAIR
def test_a_refused_connection_is_a_502(faulty: Faulty, client: str, backend: str, stream: bool) -> None:
    port = mb.closed_port()
    faulty.configure(OPENAI_API_BASE_URL=f"http://127.0.0.1:{port}/v1", ANTHROPIC_API_BASE_URL=f"http://127.0.0.1:{port}/v1",
                     GEMINI_API_BASE_URL=f"http://127.0.0.1:{port}/v1beta")
    call = call_for(client, backend, stream=stream)
    assert_error_answer(call, send(faulty, call), 502)
    assert_recorded(502, "bad_gateway")
    faulty.configure()
    assert_healthy(faulty, call)


@STREAMED
@EVERY_PAIR
def test_a_reset_before_the_headers_is_a_502(faulty: Faulty, client: str, backend: str, stream: bool) -> None:
    call = call_for(client, backend, stream=stream)
    faulty.upstream.script(mb.reset())
    assert_error_answer(call, send(faulty, call), 502)
    assert_recorded(502, "bad_gateway")
    assert_healthy(faulty, call)


@pytest.mark.parametrize("status", [502, 503, 529])  # an HTML page, JSON, a status Gemini lacks
@STREAMED
@EVERY_ERROR_PAIR
def test_a_server_error_keeps_its_status(faulty: Faulty, client: str, backend: str, stream: bool, status: int) -> None:
    call = call_for(client, backend, stream=stream)
    faulty.upstream.script(mb.error(status))
    # Gemini has no 529: its overloaded model is a 503, and its clients get 503 UNAVAILABLE, which they retry
    expected = 503 if status == 529 and "gemini" in (client, backend) else status
    body = assert_error_answer(call, send(faulty, call), expected)
    if status == 502:  # an HTML page from the provider's front end: the client gets JSON all the same
        assert "<html" not in str(body).lower()
    record = last_usage_record()
    assert record.status == expected and record.error_type and record.attempts == 1
    assert_healthy(faulty, call)


@STREAMED
@EVERY_PAIR
def test_an_error_answer_cut_off_keeps_its_status(faulty: Faulty, client: str, backend: str, stream: bool) -> None:
    call = call_for(client, backend, stream=stream)
    faulty.upstream.script(mb.error_cut_off(503))
    assert_error_answer(call, send(faulty, call), 503)
    assert_recorded(503, "unavailable")
    assert_healthy(faulty, call)


@pytest.mark.parametrize("retry_after", [None, 7.0], ids=["no-retry-after", "retry-after-7"])
@STREAMED
@EVERY_ERROR_PAIR
def test_a_rate_limit_is_a_429_with_retry_after(faulty: Faulty, client: str, backend: str, stream: bool,
                                                retry_after: float | None) -> None:
    call = call_for(client, backend, stream=stream)
    faulty.upstream.script(mb.error(429, retry_after=retry_after))
    answer = send(faulty, call)
    assert_error_answer(call, answer, 429)
    expected = retry_after if retry_after is not None else faulty.settings.DEFAULT_COOLDOWN_SECONDS
    assert abs(float(answer.headers["retry-after"]) - expected) <= 1, answer.headers
    assert_recorded(429, "rate_limit")
    faulty.configure()  # the key cools down: a fresh registry and key state for the next request
    assert_healthy(faulty, call)


@STREAMED
@EVERY_PAIR
def test_a_stall_before_the_first_byte_is_a_504_and_the_upstream_request_is_closed(
        faulty: Faulty, client: str, backend: str, stream: bool) -> None:
    faulty.timeouts(PROXY_FIRST_BYTE_TIMEOUT=0.3, PROXY_TIMEOUT=0.3)
    call = call_for(client, backend, stream=stream)
    faulty.upstream.script(mb.stall())
    answer = send(faulty, call)
    assert_error_answer(call, answer, 504)
    assert 0.25 <= answer.seconds < 2.0, answer.seconds
    assert faulty.upstream.wait_for_connection().wait_closed(1.0)
    assert_recorded(504, "timeout")
    assert_healthy(faulty, call)


@STREAMED
@EVERY_PAIR
def test_a_connect_timeout_is_a_504(faulty: Faulty, client: str, backend: str, stream: bool) -> None:
    blackhole = mb.Blackhole()
    try:
        origin = f"http://127.0.0.1:{blackhole.port}"
        faulty.configure(OPENAI_API_BASE_URL=origin + "/v1", ANTHROPIC_API_BASE_URL=origin + "/v1",
                         GEMINI_API_BASE_URL=origin + "/v1beta")
        faulty.timeouts(PROXY_CONNECT_TIMEOUT=0.3)
        call = call_for(client, backend, stream=stream)
        answer = send(faulty, call)
    finally:
        blackhole.close()
    assert_error_answer(call, answer, 504)
    assert 0.25 <= answer.seconds < 2.0, answer.seconds
    assert_recorded(504, "timeout")
    faulty.configure()
    assert_healthy(faulty, call)


# ---------------------------------------------------------------- malformed answers


@EVERY_PAIR
@pytest.mark.parametrize("body", [b'{"id": "chatcmpl-1", "choices": [', b"<html>maintenance</html>", b"[]"],
                         ids=["truncated-json", "html", "json-array"])
def test_a_200_that_is_not_an_answer_is_a_502(faulty: Faulty, client: str, backend: str, body: bytes) -> None:
    call = call_for(client, backend, stream=False)
    faulty.upstream.script(mb.raw("malformed", lambda wire: [body], stream=False))
    assert_error_answer(call, send(faulty, call), 502)
    assert_recorded(502, "bad_gateway")
    assert_healthy(faulty, call)


def _noisy(wire: mb.Wire) -> list[bytes]:
    """Lines that are no ``data:`` (no colon, unknown fields, ``id``, ``retry``, comments) around every frame."""
    noise = b"this line has no colon\nid: 42\nretry: 1000\nx-custom: 1\n: keep-alive\n\n"
    frames = [*wire.opening(), *(wire.delta(w) for w in mb.words()), *wire.closing()]
    return [noise + frame for frame in frames]


MULTIBYTE = "Grüße — 世界 🎉 naïve"


def _split_multibyte(wire: mb.Wire) -> list[bytes]:
    """Every frame holding a multibyte character split in the middle of one, over two writes."""
    pieces = list(wire.opening())
    for word in mb.words(MULTIBYTE):
        frame = wire.delta(word)
        at = next((i for i, byte in enumerate(frame) if byte >= 0xC0), None)
        pieces += [frame] if at is None else [frame[:at + 1], frame[at + 1:]]
    return pieces + wire.closing()


def _unknown_events(wire: mb.Wire) -> list[bytes]:
    frames = [*wire.opening(), *(wire.delta(w) for w in mb.words()), *wire.closing()]
    return [wire.unknown_event() + frame for frame in frames]


@pytest.mark.parametrize(("pieces", "text"), [(_noisy, mb.TEXT), (_split_multibyte, MULTIBYTE),
                                              (_unknown_events, mb.TEXT)],
                         ids=["non-data-lines", "split-utf8", "unknown-events"])
@EVERY_PAIR
def test_a_stream_sses_quirks_are_read_as_sdks_read_them(faulty: Faulty, client: str, backend: str, pieces: object,
                                                        text: str) -> None:
    call = call_for(client, backend, stream=True)
    faulty.upstream.script(mb.raw("quirky", pieces))  # type: ignore[arg-type]
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == text
    record = last_usage_record()
    assert (record.status, record.error_type) == (200, "")


@pytest.mark.parametrize("bad", [b"data: {not json\n\n", b"data: [1, 2]\n\n"],
                         ids=["invalid-json", "json-array"])
@pytest.mark.parametrize("after_content", [False, True], ids=["before-content", "after-content"])
@EVERY_PAIR
def test_a_malformed_stream_event_is_a_502_in_the_clients_protocol(faulty: Faulty, client: str, backend: str,
                                                                   bad: bytes, after_content: bool) -> None:
    call = call_for(client, backend, stream=True)
    faulty.upstream.script(mb.raw("malformed-event", lambda wire: [
        *wire.opening(), *([wire.delta("Hello")] if after_content else []), bad, *wire.closing()]))
    answer = send(faulty, call)
    if answer.status == 200:  # the stream had begun (an opening, or content): its error event
        assert_stream_error(call, answer)
    else:
        assert not after_content
        assert_error_answer(call, answer, 502)
    assert_recorded(502, "bad_gateway")
    assert_healthy(faulty, call)


# ---------------------------------------------------------------- after the stream began


@pytest.mark.parametrize("then", ["reset", "close", "error_event"])
@EVERY_PAIR
def test_a_stream_broken_after_content_ends_with_the_protocols_error_event(faulty: Faulty, client: str, backend: str,
                                                                            then: str) -> None:
    call = call_for(client, backend, stream=True)
    faulty.upstream.script(mb.frames(2, then))
    answer = send(faulty, call)
    assert_stream_error(call, answer)
    assert streamed_text(call, answer) == "".join(mb.words()[:2])
    record = last_usage_record()
    expected = {"reset": 502, "close": 502, "error_event": {"openai": 502, "anthropic": 529, "gemini": 503}[backend]}
    assert record.status == expected[then] and record.error_type and record.attempts == 1, (
        record.status, record.error_type, record.error_message)
    assert len(faulty.upstream.requests()) == 1  # never retried once content went out
    assert_healthy(faulty, call)


@EVERY_PAIR
def test_a_stall_mid_stream_ends_after_the_idle_timeout(faulty: Faulty, client: str, backend: str) -> None:
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.3)
    call = call_for(client, backend, stream=True)
    faulty.upstream.script(mb.frames(2, "stall"))
    answer = send(faulty, call)
    assert_stream_error(call, answer)
    assert 0.3 <= answer.seconds < 2.0, answer.seconds
    assert faulty.upstream.wait_for_connection().wait_closed(1.0)
    assert_recorded(504, "timeout")
    assert_healthy(faulty, call)


# ---------------------------------------------------------------- far too much


@EVERY_PAIR
def test_a_json_answer_larger_than_the_limit_is_a_502_and_is_not_read_to_its_end(
        faulty: Faulty, client: str, backend: str) -> None:
    faulty.settings.PROXY_MAX_RESPONSE_BYTES = 1 << 20
    call = call_for(client, backend, stream=False)
    faulty.upstream.script(mb.huge_json(50 << 20))
    answer = send(faulty, call)
    assert_error_answer(call, answer, 502)
    connection = faulty.upstream.wait_for_connection()
    assert connection.wait_closed(1.0)
    assert connection.bytes_sent < 20 << 20
    assert_recorded(502, "bad_gateway")
    assert_healthy(faulty, call)


@EVERY_PAIR
def test_a_stream_event_larger_than_the_limit_is_a_502(faulty: Faulty, client: str, backend: str) -> None:
    faulty.settings.PROXY_MAX_RESPONSE_BYTES = 1 << 20
    _assert_endless_line_refused(faulty, call_for(client, backend, stream=True))


def test_an_endless_line_is_refused_at_the_default_limit_in_time_proportional_to_it(faulty: Faulty) -> None:
    # 64 MB read at once (not a copy of the line so far per chunk read: that took seconds)
    _assert_endless_line_refused(faulty, call_for("openai_chat", "openai", stream=True))


def _assert_endless_line_refused(faulty: Faulty, call: Call) -> None:
    faulty.upstream.script(mb.endless_stream(one_line=True))
    answer = send(faulty, call)
    if answer.status == 200:
        assert_stream_error(call, answer)
    else:
        assert_error_answer(call, answer, 502)
    assert answer.seconds < 2.0
    assert faulty.upstream.wait_for_connection().wait_closed(1.0)
    assert_recorded(502, "bad_gateway")
    assert_healthy(faulty, call)
