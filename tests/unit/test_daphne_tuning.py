"""The Daphne server runproxy builds forgets finished requests at once, and only those."""

from __future__ import annotations

import asyncio
from typing import Any

from llmproxy_site.server.daphne_tuning import ReapingServer


class Protocol:
    """Stands in for a Daphne ``WebRequest``: the server only uses it as a key here."""


async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await asyncio.sleep(0)


async def fail(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("application bug")


def started(app: Any) -> tuple[ReapingServer, Protocol]:
    server = ReapingServer(application=app, endpoints=["tcp:port=0:interface=127.0.0.1"])  # never started
    server.connections = {}  # what Server.run() starts with
    protocol = Protocol()
    server.protocol_connected(protocol)
    server.create_application(protocol, {"type": "http"})
    return server, protocol


async def test_a_request_is_forgotten_when_its_response_ends_after_the_application() -> None:
    server, protocol = started(answer)
    await server.connections[protocol]["application_instance"]
    assert protocol in server.connections  # the response is not complete yet
    server.protocol_disconnected(protocol)
    assert protocol not in server.connections


async def test_a_request_is_forgotten_when_the_application_ends_after_its_response() -> None:
    server, protocol = started(answer)
    task = server.connections[protocol]["application_instance"]
    server.protocol_disconnected(protocol)
    assert protocol in server.connections  # the application is still running
    await task
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert protocol not in server.connections


async def test_a_failed_application_is_left_for_daphnes_sweep_to_report() -> None:
    server, protocol = started(fail)
    task = server.connections[protocol]["application_instance"]
    await asyncio.gather(task, return_exceptions=True)
    server.protocol_disconnected(protocol)
    await asyncio.sleep(0)
    assert server.connections[protocol]["application_instance"] is task


def test_daphne_serves_on_a_uvloop_event_loop() -> None:
    """``llmproxy_site`` installs Twisted's asyncio reactor on uvloop before Django imports Daphne,
    and Daphne keeps it rather than installing its own on the standard library's loop."""
    import daphne.server
    import uvloop
    from twisted.internet import reactor

    assert daphne.server.reactor is reactor
    assert isinstance(reactor._asyncioEventloop, uvloop.Loop)
