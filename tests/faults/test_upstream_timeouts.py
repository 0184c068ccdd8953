"""Each upstream timeout bounds what it names and nothing else: connect (covered with the faults),
first byte (a stream's response head), idle (each wait for a stream's next bytes), total (a whole
non-streamed call); globally (``PROXY_*``) or per backend (``<BACKEND>_*`` in the environment)."""

from __future__ import annotations

import pytest

from tests.faults import misbehaving as mb
from tests.faults.conftest import (
    Faulty,
    assert_complete,
    assert_error_answer,
    assert_stream_error,
    call_for,
    last_usage_record,
    send,
    streamed_text,
)


@pytest.mark.parametrize("client", ["openai_chat", "anthropic"])
def test_a_slow_first_byte_is_waited_for_up_to_the_first_byte_timeout_not_the_idle_one(faulty: Faulty,
                                                                                      client: str) -> None:
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.3, PROXY_FIRST_BYTE_TIMEOUT=3.0)
    call = call_for(client, "anthropic", stream=True)
    faulty.upstream.script(mb.delayed(0.8, mb.ok()))
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT


@pytest.mark.parametrize("client", ["openai_chat", "gemini"])
def test_a_non_streamed_answer_may_take_longer_than_the_idle_and_first_byte_timeouts(faulty: Faulty,
                                                                                    client: str) -> None:
    # its head comes when the whole answer is ready: only the total bounds that wait
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.3, PROXY_FIRST_BYTE_TIMEOUT=0.3, PROXY_TIMEOUT=3.0)
    call = call_for(client, "openai", stream=False)
    faulty.upstream.script(mb.delayed(0.8, mb.ok()))
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT


def test_the_total_timeout_bounds_a_non_streamed_answer_that_trickles_in(faulty: Faulty) -> None:
    faulty.timeouts(PROXY_IDLE_TIMEOUT=2.0, PROXY_TIMEOUT=0.6)
    call = call_for("anthropic", "gemini", stream=False)
    faulty.upstream.script(mb.trickle(0.1))  # ~20 pieces: 2 s in all, never 0.2 s idle
    answer = send(faulty, call)
    assert_error_answer(call, answer, 504)
    assert 0.55 <= answer.seconds < 1.5, answer.seconds
    assert faulty.upstream.wait_for_connection().wait_closed(1.0)
    record = last_usage_record()
    assert (record.status, record.error_type) == (504, "timeout")


def test_a_stream_is_bounded_by_its_gaps_not_its_length(faulty: Faulty) -> None:
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.4, PROXY_TIMEOUT=0.3)
    call = call_for("responses", "openai", stream=True)
    faulty.upstream.script(mb.trickle(0.1))  # ~10 frames 0.1 s apart: 1 s in all
    answer = send(faulty, call)
    assert_complete(call, answer)
    assert streamed_text(call, answer) == mb.TEXT
    assert answer.seconds >= 0.8


@pytest.mark.parametrize(("variable", "fault", "stream", "status"), [
    ("ANTHROPIC_IDLE_TIMEOUT", mb.frames(2, "stall"), True, 200),
    ("ANTHROPIC_FIRST_BYTE_TIMEOUT", mb.stall(), True, 504),
    ("ANTHROPIC_TIMEOUT", mb.stall(), False, 504),
], ids=["idle", "first-byte", "total"])
def test_a_backends_own_timeout_wins_over_the_global_one(faulty: Faulty, variable: str, fault: mb.Reply,
                                                         stream: bool, status: int) -> None:
    faulty.configure(**{variable: "0.3"})  # the global ones stay at seconds
    call = call_for("openai_chat", "anthropic", stream=stream)
    faulty.upstream.script(fault)
    answer = send(faulty, call)
    if status == 200:
        assert_stream_error(call, answer)
    else:
        assert_error_answer(call, answer, status)
    assert 0.3 <= answer.seconds < 1.5, answer.seconds
    record = last_usage_record()
    assert (record.status, record.error_type) == (504, "timeout")
