"""Daphne as ``runproxy`` runs it: the same server, minus per-request work nobody uses.

Each change is a subclass Daphne (or Twisted) is told to build instead of its own; all but the last
below leave what a client sees as it was. Written and measured against daphne 4.2.3 on Twisted 26.10.0 (``bench/``, Daphne):

* ``FormlessHTTPFactory`` / ``WebRequest``: no form parsing of POST bodies, ~30 µs of CPU per request
  and its cyclic garbage (profile);
* ``HTTPFactory``: no access-log line formatted for nothing, ~2 % of the CPU per request (profile);
* ``ReapingServer``: finished requests forgotten at once, CPU per request 1.288 → 1.218 ms (−5.4 %),
  req/s +5.6 % (A/B, c = 10);
* ``CoalescingServer``: responses sent at the end of the loop's turn, syscalls per request 29 → 25,
  CPU per 20-chunk stream −6 % and −10 % at c = 1 (A/B; c = 10 within noise).

One more changes what a client sees, on purpose: ``LimitedChannel`` answers a request over the
header or body limits with a 431 or 413 in the client's protocol where Twisted closed the connection
or answered a bare 400 (it needs the two factory patches above; without them Twisted's limits apply).

Each relies on private names of those versions, listed as a ``Patch`` below: ``tuned_daphne_cli``
leaves out, with a warning, a patch that no longer fits, and ``tests/server`` fails.
"""

from __future__ import annotations

import asyncio
import functools
from http import HTTPStatus
from typing import Any

import daphne.http_protocol
import daphne.server
from daphne.cli import CommandLineInterface
from django.conf import settings
from twisted.internet import abstract, asyncioreactor, tcp
from twisted.protocols import basic
from twisted.web import http

from llmproxy_site.server.early_errors import (
    BODY_TOO_LARGE,
    HEADERS_TOO_LARGE,
    body_too_large_message,
    error_response,
    path_of_request_line,
)
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
class LimitedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel answering a request over the proxy's limits in the client's protocol.

    Twisted drops the connection without a word when one header line exceeds ``MAX_LENGTH`` (16 KiB)
    and answers a bare ``400`` past ``totalHeadersSize`` or ``maxHeaders``: a client's SDK reports a
    connection error, not what was wrong. Here a head larger than ``MAX_REQUEST_HEADER_BYTES`` or with
    more than ``MAX_REQUEST_HEADER_COUNT`` fields gets a 431, a ``Content-Length`` over
    ``MAX_REQUEST_BODY_BYTES`` a 413 before any of the body is read (Twisted would spool it to a
    temporary file of any size first), each a JSON error in the path's protocol; then the connection
    closes (``early_errors``)."""

    def __init__(self) -> None:
        super().__init__()
        self.MAX_LENGTH = self.totalHeadersSize = settings.MAX_REQUEST_HEADER_BYTES
        self.maxHeaders = settings.MAX_REQUEST_HEADER_COUNT

    def lineReceived(self, line: bytes) -> None:
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            refuse(self, HEADERS_TOO_LARGE, f"request headers exceed {self.totalHeadersSize} bytes")
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        path = None if hasattr(self, "_path") else path_of_request_line(line)  # the request line itself is too long
        refuse(self, HEADERS_TOO_LARGE, f"request headers exceed {self.totalHeadersSize} bytes", path)

    def headerReceived(self, line: bytes) -> bool:
        if self._receivedHeaderCount >= self.maxHeaders:
            refuse(self, HEADERS_TOO_LARGE, f"more than {self.maxHeaders} request header fields")
            return False
        return bool(super().headerReceived(line))

    def allHeadersReceived(self) -> None:
        if self.length is not None and self.length > settings.MAX_REQUEST_BODY_BYTES:
            refuse(self, BODY_TOO_LARGE, body_too_large_message(settings.MAX_REQUEST_BODY_BYTES))
            return
        super().allHeadersReceived()


class LimitedWebRequest(WebRequest):
    """A request whose chunked body is refused (413) once it outgrows ``MAX_REQUEST_BODY_BYTES``, as it
    arrives: a chunked body has no length to check up front."""

    _body_bytes = 0
    _refused = False

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(data)
        if self._body_bytes > settings.MAX_REQUEST_BODY_BYTES:
            self._refused = True
            refuse(self.channel, BODY_TOO_LARGE, body_too_large_message(settings.MAX_REQUEST_BODY_BYTES))
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:  # the rest of a refused body may still have been parsed
            super().requestReceived(command, path, version)


class LimitedHTTPFactory(FormlessHTTPFactory):
    """The factory above, building the channels and requests that enforce the limits."""

    def protocol(self) -> Any:  # what ServerFactory.buildProtocol calls for a new connection
        return http._GenericHTTPChannelProtocol(LimitedChannel())

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedWebRequest
        return protocol


def refuse(channel: Any, status: HTTPStatus, message: str, path: str | None = None) -> None:
    """Answer ``status`` in the protocol of the request's path (as far as it was read) and close."""
    if path is None:
        path = path_of_request_line(b"- " + getattr(channel, "_path", b""))
    channel.transport.write(error_response(status, path, message))
    channel.loseConnection()


REQUEST_LIMITS = Patch("daphne_tuning.LimitedChannel", (
    Internal(http, "_GenericHTTPChannelProtocol"),
    Internal(http.HTTPFactory, "protocol"),  # a function building the channel, called by buildProtocol
    Internal(http.HTTPChannel, "lineReceived", parameters=("line",),
             uses=("_receivedHeaderSize", "totalHeadersSize", "_path", "headerReceived", "allHeadersReceived")),
    Internal(http.HTTPChannel, "headerReceived", parameters=("line",), uses=("_receivedHeaderCount", "maxHeaders")),
    Internal(http.HTTPChannel, "allHeadersReceived", uses=("gotLength",)),
    Internal(http.HTTPChannel, "_maybeChooseTransferDecoder", uses=("length", "handleContentChunk")),
    Internal(http.HTTPChannel, "allContentReceived", uses=("requestReceived", "_path")),
    Internal(http.HTTPChannel, "loseConnection"),
    Internal(basic.LineReceiver, "dataReceived", uses=("MAX_LENGTH", "lineLengthExceeded", "disconnecting")),
    Internal(basic.LineReceiver, "lineLengthExceeded", parameters=("line",)),
    Internal(http.Request, "handleContentChunk", parameters=("data",)),
    Internal(http.Request, "requestReceived", parameters=("command", "path", "version")),
))
PATCHES = (QUIET_FACTORY, FORMLESS_REQUESTS, REAPING, COALESCING, REQUEST_LIMITS)


def tuned_daphne_cli() -> CommandLineInterface:
    """Daphne's command line, building the classes above (those that fit the installed Daphne and Twisted)."""
    if QUIET_FACTORY.fits():
        # what Daphne's Server builds its factory from (the limits build on the formless requests)
        formless = FORMLESS_REQUESTS.fits()
        daphne.server.HTTPFactory = (LimitedHTTPFactory if formless and REQUEST_LIMITS.fits()
                                     else FormlessHTTPFactory if formless else HTTPFactory)
    if COALESCING.fits():
        tcp.Port.transport = CoalescingServer  # the transport Daphne's listening port builds
    cli = CommandLineInterface()
    if REAPING.fits():
        cli.server_class = ReapingServer
    return cli
