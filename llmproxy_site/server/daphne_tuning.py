"""Daphne as ``runproxy`` runs it: the same server, minus per-request work nobody uses.

Each change is a subclass Daphne (or Twisted) is told to build instead of its own; none alters what a
client sees. Written and measured against daphne 4.2.3 on Twisted 26.10.0 (``bench/``, Daphne):

* ``FormlessHTTPFactory`` / ``WebRequest``: no form parsing of POST bodies, ~30 µs of CPU per request
  and its cyclic garbage (profile);
* ``HTTPFactory``: no access-log line formatted for nothing, ~2 % of the CPU per request (profile);
* ``ReapingServer``: finished requests forgotten at once, CPU per request 1.288 → 1.218 ms (−5.4 %),
  req/s +5.6 % (A/B, c = 10);
* ``CoalescingServer``: responses sent at the end of the loop's turn, syscalls per request 29 → 25,
  CPU per 20-chunk stream −6 % and −10 % at c = 1 (A/B; c = 10 within noise).

Each relies on private names of those versions, listed as a ``Patch`` below: ``tuned_daphne_cli``
leaves out, with a warning, a patch that no longer fits, and ``tests/server`` fails.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import daphne.http_protocol
import daphne.server
from daphne.cli import CommandLineInterface
from twisted.internet import abstract, asyncioreactor, tcp
from twisted.web import http

from llmproxy_site.server.internals import Internal, Patch


class WebRequest(daphne.http_protocol.WebRequest):
    """Skips Twisted's own parsing of POST bodies into ``request.args``.

    Daphne never reads ``args``: it hands the raw body to the ASGI app. But for every POST Twisted
    still parses the Content-Type header with ``email.message.EmailMessage``, whose header registry
    builds two new classes per call (CPU, plus garbage only the cyclic GC frees). Twisted's
    ``parsePOSTFormSubmission`` switch turns that off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


class HTTPFactory(daphne.http_protocol.HTTPFactory):
    """Does not format an access-log line per request that nothing reads.

    Daphne writes its own access log (``log_action``). Twisted's factory also formats a
    combined-log line for every request and hands it to Twisted's log, which Daphne points at a
    no-op at the verbosity runproxy runs it with."""

    def log(self, request: Any) -> None:
        pass


class FormlessHTTPFactory(HTTPFactory):
    """The factory above, building the requests that skip form parsing."""

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = WebRequest
        return protocol


QUIET_FACTORY = Patch("daphne_tuning.HTTPFactory", (
    Internal(daphne.server, "HTTPFactory"),
    Internal(daphne.server.Server, "run", uses=("HTTPFactory",)),  # the module global, looked up when it runs
    Internal(http.HTTPFactory, "log", parameters=("request",)),
    Internal(http.Request, "finish", uses=("log",)),
))
FORMLESS_REQUESTS = Patch("daphne_tuning.WebRequest", (
    Internal(http.HTTPChannel, "requestFactory"),
    Internal(daphne.http_protocol.HTTPFactory, "buildProtocol", uses=("requestFactory",)),
    Internal(daphne.http_protocol.WebRequest, "__init__", parameters=("kwargs",)),
    Internal(http.Request, "__init__", parameters=("parsePOSTFormSubmission",)),
))


class ReapingServer(daphne.server.Server):
    """Forgets a finished request at once instead of at the next once-a-second sweep.

    Daphne keeps every request (its Twisted request and finished application task) in
    ``connections`` until ``application_checker`` runs: at ~1,000 requests/s a thousand dead
    requests are alive at any moment, and the sweep walks them all (plus work for the cyclic GC).
    A request whose response is complete and whose application returned cleanly is dropped when
    the later of the two happens; the sweep still handles the rest (failed applications, slow
    shutdowns, websockets)."""

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> asyncio.Queue | None:
        queue = super().create_application(protocol, scope)
        task = self.connections.get(protocol, {}).get("application_instance")
        if task is not None:
            task.add_done_callback(functools.partial(self._reap_after_application, protocol))
        return queue

    def protocol_disconnected(self, protocol: Any) -> None:
        super().protocol_disconnected(protocol)
        self._reap(protocol)

    def _reap_after_application(self, protocol: Any, task: asyncio.Future) -> None:
        self._reap(protocol)

    def _reap(self, protocol: Any) -> None:
        details = self.connections.get(protocol)
        if details is None or "disconnected" not in details:
            return
        task = details.get("application_instance")
        if task is None or not task.done():
            return
        if task.cancelled() or task.exception() is None:
            del self.connections[protocol]


REAPING = Patch("daphne_tuning.ReapingServer", (
    Internal(daphne.server.Server, "run", uses=("connections",)),
    Internal(daphne.server.Server, "create_application", parameters=("protocol", "scope"),
             uses=("connections", "application_instance")),
    Internal(daphne.server.Server, "protocol_disconnected", parameters=("protocol",), uses=("disconnected",)),
    Internal(daphne.server.Server, "application_checker", uses=("application_instance", "disconnected")),
    Internal(CommandLineInterface, "server_class"),
    Internal(CommandLineInterface, "run", uses=("server_class",)),
))


class CoalescingServer(tcp.Server):
    """A client connection whose writes go out at the end of the event loop's current turn.

    Twisted's TCP transport buffers each write and registers the socket for writability; the
    data goes out when the next poll reports the socket writable. A socket with room in its
    send buffer always is, so every response (and every streamed chunk) paid for a writer
    registration and its removal (two ``epoll_ctl`` calls), one more poll and a turn of the
    reactor's dispatch. This transport instead sends what is buffered from a ``call_soon``
    callback: writes made in the same turn (a response's status line, headers and body) still
    leave in one ``send``, and only data the socket cannot take yet waits for writability, the
    normal way. Needs Twisted's asyncio reactor (what Daphne runs on)."""

    _flush_pending = False
    _polling = False  # registered with the reactor, waiting for the socket to be writable

    def startWriting(self) -> None:
        if self._polling or self._flush_pending:
            return
        self._flush_pending = True
        self.reactor._asyncioEventloop.call_soon(self._flush)

    def stopWriting(self) -> None:
        self._polling = False
        super().stopWriting()

    def _flush(self) -> None:
        self._flush_pending = False
        if self.disconnected:
            return
        # the reactor's own dispatch of a writable socket: doWrite, then a disconnect if it asks for one
        self.reactor._readOrWrite(self, False)
        if not self.disconnected and (self._tempDataBuffer or self.offset < len(self.dataBuffer)):
            self._polling = True
            super().startWriting()


COALESCING = Patch("daphne_tuning.CoalescingServer", (
    Internal(tcp.Port, "transport"),
    Internal(tcp.Port, "doRead", uses=("transport",)),  # builds each connection from the class attribute
    Internal(tcp.Server, "startWriting"),
    Internal(tcp.Server, "stopWriting"),
    Internal(tcp.Server, "disconnected"),
    Internal(abstract.FileDescriptor, "__init__", uses=("_tempDataBuffer",)),
    Internal(abstract.FileDescriptor, "doWrite", uses=("_tempDataBuffer", "offset", "dataBuffer")),
    Internal(asyncioreactor.AsyncioSelectorReactor, "__init__", uses=("_asyncioEventloop",)),
    Internal(asyncioreactor.AsyncioSelectorReactor, "_readOrWrite", parameters=("selectable", "read")),
))
PATCHES = (QUIET_FACTORY, FORMLESS_REQUESTS, REAPING, COALESCING)


def tuned_daphne_cli() -> CommandLineInterface:
    """Daphne's command line, building the classes above (those that fit the installed Daphne and Twisted)."""
    if QUIET_FACTORY.fits():
        # what Daphne's Server builds its factory from
        daphne.server.HTTPFactory = FormlessHTTPFactory if FORMLESS_REQUESTS.fits() else HTTPFactory
    if COALESCING.fits():
        tcp.Port.transport = CoalescingServer  # the transport Daphne's listening port builds
    cli = CommandLineInterface()
    if REAPING.fits():
        cli.server_class = ReapingServer
    return cli
