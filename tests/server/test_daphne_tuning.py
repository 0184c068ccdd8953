"""runproxy's Daphne patches fit the installed Daphne and Twisted (or are left out), and the server it
builds forgets finished requests at once, and only those."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import daphne.server
import pytest
from twisted.internet import tcp

from llmproxy_site.server import daphne_tuning
from llmproxy_site.server.daphne_tuning import ReapingServer
from llmproxy_site.server.internals import Internal, Patch


@pytest.mark.parametrize("patch", daphne_tuning.PATCHES, ids=lambda patch: patch.name)
def test_the_patch_fits_the_installed_daphne_and_twisted(patch: Patch) -> None:
    assert patch.problems() == []


@pytest.fixture
def daphne_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put back what ``tuned_daphne_cli`` replaces in Daphne and Twisted."""
    monkeypatch.setattr(daphne.server, "HTTPFactory", daphne.server.HTTPFactory)
    monkeypatch.setattr(tcp.Port, "transport", tcp.Port.transport)


@pytest.mark.usefixtures("daphne_globals")
def test_the_cli_builds_the_tuned_classes() -> None:
    cli = daphne_tuning.tuned_daphne_cli()
    assert cli.server_class is ReapingServer
    assert daphne.server.HTTPFactory is daphne_tuning.LimitedHTTPFactory
    assert tcp.Port.transport is daphne_tuning.CoalescingServer


@pytest.mark.usefixtures("daphne_globals")
def test_a_patch_that_no_longer_fits_is_left_out_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    gone = (Internal(daphne.server.Server, "no_longer_there"),)
    monkeypatch.setattr(daphne_tuning, "REAPING", Patch("daphne_tuning.ReapingServer", gone))
    monkeypatch.setattr(daphne_tuning, "FORMLESS_REQUESTS", Patch("daphne_tuning.WebRequest", gone))
    with caplog.at_level(logging.WARNING, logger="llmproxy.server"):
        cli = daphne_tuning.tuned_daphne_cli()
    assert cli.server_class is daphne.server.Server
    assert daphne.server.HTTPFactory is daphne_tuning.HTTPFactory  # the access-log patch still fits
    assert tcp.Port.transport is daphne_tuning.CoalescingServer
    assert [m.split(" relies on")[0] for m in caplog.messages] == ["daphne_tuning.WebRequest",
                                                                  "daphne_tuning.ReapingServer"]


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

