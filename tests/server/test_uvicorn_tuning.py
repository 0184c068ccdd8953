"""runproxy's uvicorn writes a response's head together with its first body message (when the patch fits
the installed uvicorn; it is left out otherwise)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.flow_control import FlowControl

from llmproxy_site.server import uvicorn_tuning
from llmproxy_site.server.internals import Internal, Patch
from llmproxy_site.server.uvicorn_tuning import CoalescingCycle


def test_the_patch_fits_the_installed_uvicorn() -> None:
    assert uvicorn_tuning.COALESCING_CYCLE.problems() == []


def test_install_replaces_the_cycle_only_when_the_patch_fits(monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    stock = httptools_impl.RequestResponseCycle
    monkeypatch.setattr(httptools_impl, "RequestResponseCycle", stock)  # put back after the test
    broken = Patch("uvicorn_tuning.CoalescingCycle", (Internal(httptools_impl, "NoLongerThere"),))
    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING, logger="llmproxy.server"):
        patched.setattr(uvicorn_tuning, "COALESCING_CYCLE", broken)
        uvicorn_tuning.install()
    assert httptools_impl.RequestResponseCycle is stock
    assert "uvicorn_tuning.CoalescingCycle relies on uvicorn.protocols.http.httptools_impl.NoLongerThere" in caplog.text
    uvicorn_tuning.install()
    assert httptools_impl.RequestResponseCycle is CoalescingCycle


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


def cycle(transport: Transport, *, keep_alive: bool = True) -> CoalescingCycle:
    scope: Any = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "http_version": "1.1"}
    log = logging.getLogger("test")
    return CoalescingCycle(scope, transport, FlowControl(transport), log, log, False, [], asyncio.Event(), False,
                           keep_alive, lambda: None)


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}


async def test_the_head_leaves_with_the_first_body_message_and_later_ones_alone() -> None:
    transport = Transport()
    c = cycle(transport)
    await c.send(START)
    assert transport.writes == []
    await c.send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
    await c.send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": True})
    await c.send({"type": "http.response.body", "body": b"", "more_body": False})
    head_and_first, second, end = transport.writes
    assert head_and_first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head_and_first.endswith(b"transfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
    assert (second, end) == (b"9\r\ndata: 2\n\n\r\n", b"0\r\n\r\n")


async def test_a_head_whose_body_comes_later_leaves_at_the_end_of_the_turn() -> None:
    transport = Transport()
    c = cycle(transport)
    await c.send(START)
    await asyncio.sleep(0)  # the loop's turn ends
    assert len(transport.writes) == 1 and transport.writes[0].endswith(b"\r\n\r\n")
    await c.send({"type": "http.response.body", "body": b"late", "more_body": False})
    assert transport.writes[1:] == [b"4\r\nlate\r\n0\r\n\r\n"]


async def test_a_closing_response_is_written_before_the_connection_closes() -> None:
    transport = Transport()
    c = cycle(transport, keep_alive=False)
    await c.send({**START, "headers": [(b"content-length", b"2")]})
    await c.send({"type": "http.response.body", "body": b"{}", "more_body": False})
    assert transport.closed
    (whole,) = transport.writes
    assert whole.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close\r\n" in whole and whole.endswith(b"\r\n\r\n{}")
