"""An httpx transport speaking HTTP/1.1 over asyncio protocols, parsed by ``httptools`` (C).

Backends use httpx's API (``httpx.Response`` out, httpx's exceptions, httpx's content decoding);
this module does the network I/O with as little Python as a pooled HTTP/1.1 call needs. It
replaced a transport over aiohttp's client: on this project's machine a call through aiohttp cost
~780 µs after the process had sat idle for 20 ms (a paced stream's first token) against ~260 µs
for a bare protocol, and ~180 against ~100 µs under steady load. An upstream call is one of the
few things every request does, so that difference is most of what separated the proxy's
first-token overhead from its target.

* One connection per request at a time, kept alive for ``KEEPALIVE_SECONDS`` and reused most
  recently used first (the idle ones age out instead of all staying half-warm). A connection that
  receives bytes while idle (a server's goodbye) or that the server closed is never reused.
* Timeouts as httpx names them: ``connect`` (TCP, TLS and a proxy's CONNECT), ``pool`` (waiting for
  one of ``max_connections``), ``read`` (each wait for the next bytes). No total: callers bound it.
* HTTP proxies: absolute-form requests for ``http://`` upstreams, a CONNECT tunnel with TLS to the
  upstream through it for ``https://``; the proxy's credentials go to the proxy only.
* No cookies, no redirects, no retries: a gateway relays; it must not replay one client's
  upstream cookies for another, and it must not send a non-idempotent POST twice.

Measured against the library transports behind the same seam on 2026-12-06 (``PROXY_UPSTREAM_TRANSPORT``;
the figures are in ``client.py``): −0.38 / −0.48 ms of CPU per non-stream request against aiohttp
through httpx-aiohttp, −0.97 / −0.87 ms against httpx's own pool, at c = 1 under Daphne.

What it relies on in httpx beyond the documented transport API (``AsyncBaseTransport``,
``AsyncByteStream``, the ``timeout`` request extension), written against httpx 0.28.1 and checked by
``tests/upstream/test_httpx_reliance.py``:

* it builds ``httpx.Response`` itself, from raw ``(bytes, bytes)`` headers, the ``http_version`` and
  ``reason_phrase`` extensions and, on the hot path, no ``httpx.Request`` (``request=None``);
* ``Response.aclose()`` reaches ``_Body.aclose()`` once: that is how a half-read stream closes its
  connection, and how the upstream learns the call was cancelled;
* it raises httpx's exceptions before it has a request and sets ``RequestError.request`` afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

import httptools
import httpx

from proxy_app.core import destinations
from proxy_app.upstream.defaults import DEFAULT_HEADERS, KEEPALIVE_SECONDS, default_ssl_context, proxy_authorization

# A body not read this far ahead stops the socket being read (TCP flow control to the upstream).
READ_AHEAD_BYTES = 256 * 1024
_UNSAFE = re.compile(r"[\r\n\0]")
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class Origin(NamedTuple):
    """Where a connection goes: pooled per origin."""

    tls: bool
    host: str
    port: int

    @property
    def host_port(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def authority(self) -> str:
        return self.host_port if self.port != (443 if self.tls else 80) else self.host_port.rpartition(":")[0]


class RequestTarget(NamedTuple):
    origin: Origin
    origin_form: str  # path and query, as sent to the origin itself
    absolute_form: str  # the whole URL, as sent to a forward proxy


@functools.lru_cache(maxsize=4096)
def parse_target(url: str) -> RequestTarget:
    """``url`` split once (upstream URLs repeat): origin, and the request target in both forms."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 80)
    except ValueError as exc:
        raise httpx.UnsupportedProtocol(f"invalid port in {url!r}") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _UNSAFE.search(path):
        raise httpx.UnsupportedProtocol("control characters in the URL")
    origin = Origin(tls, parts.hostname, port)
    return RequestTarget(origin, path, f"{parts.scheme}://{origin.authority}{path}")


def request_head(method: str, target: str, origin: Origin, headers: Any, body_length: int,
                 extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The request line and headers. Host, Content-Length and Connection are the transport's own
    (a caller's copies are dropped); Accept, Accept-Encoding and User-Agent default unless given.
    A name or value with CR, LF or NUL is refused: it would smuggle a header or a second request."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    lines = [f"{method} {target} HTTP/1.1\r\nhost: {origin.authority}\r\n"]
    given = set()
    for name, value in (*items, *extra):
        lower = name.lower()
        if lower in _FRAMING:
            continue
        if _UNSAFE.search(name) or _UNSAFE.search(value):
            raise httpx.LocalProtocolError(f"header {name!r} contains a line break or NUL")
        given.add(lower)
        lines.append(f"{name}: {value}\r\n")
    for name, value in DEFAULT_HEADERS:
        if name not in given:
            lines.append(f"{name}: {value}\r\n")
    lines.append(f"content-length: {body_length}\r\n\r\n")
    return "".join(lines).encode()


class _Unsolicited(Exception):
    """A second response began on a connection whose response had ended (see ``on_message_begin``)."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection and the response it is reading. httptools calls the ``on_*`` methods
    from ``data_received``; a reader waits on ``_waiter`` for the head, body bytes or the end."""

    def __init__(self, pool: Http1Transport, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.in_use = True
        self.closed = False
        self.counted = True  # holds one of the pool's connection slots
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._new_response()

    def _new_response(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.error: httpx.TransportError | None = None

    # ---------------------------------------------------------------- asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.in_use or self.complete:  # a server says nothing unasked (a 408, a goodbye): we leave
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the upstream switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response from the upstream: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_use and not self.complete and self.error is None:
            if self.head_done and exc is None and self._ends_at_close():
                self.complete = True  # a body delimited by the connection's end, now ended
            elif isinstance(exc, OSError):
                self.error = httpx.ReadError(f"{type(exc).__name__}: {exc}")
            else:
                self.error = httpx.RemoteProtocolError(
                    "the upstream closed the connection "
                    + ("before the response ended" if self.head_done else "without sending a response"))
            self._wake()
        self.pool._lost(self)

    def pause_writing(self) -> None:  # bodies are written whole; the read timeout bounds a stuck upload
        pass

    def resume_writing(self) -> None:
        pass

    # ---------------------------------------------------------------- httptools callbacks

    def on_message_begin(self) -> None:
        if self.complete:  # bytes after the response's end: unasked, so the connection is done
            raise _Unsolicited

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and other interim answers: the real one follows
            self.reason, self.headers = b"", []
            return
        self.status = status
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > READ_AHEAD_BYTES and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self.head_done:  # the end of an interim answer
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        self._wake()

    # ---------------------------------------------------------------- the reading side

    def _ends_at_close(self) -> bool:
        if self.status in (204, 304):
            return False
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _fail(self, error: httpx.TransportError) -> None:
        if self.error is None and not self.complete:
            self.error = error
            self._wake()
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _timed_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(httpx.ReadTimeout("no data from the upstream within the read timeout"))

    async def wait(self, timeout: float | None) -> None:
        """Until the parser has something new (head, body bytes, the end) or the connection failed."""
        waiter = self._waiter = self.loop.create_future()
        timer = None if timeout is None else self.loop.call_later(timeout, self._timed_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def read_head(self, timeout: float | None) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self.wait(timeout)

    def take(self) -> bytes:
        """Everything buffered, as one chunk; reading resumes once the buffer has drained."""
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        self.buffered = 0
        self._resume_reading()
        return data

    def _resume_reading(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    # ---------------------------------------------------------------- life cycle

    def release(self) -> None:
        """The response is done with: back to the pool when all of it has arrived on a connection
        that stays open (unread bytes of it are dropped), else closed (how a stream read only in
        part is cancelled upstream)."""
        if not self.in_use:
            return
        if self.complete and self.keep_alive and not self.closed:
            self.in_use = False
            self._new_response()
            self._resume_reading()  # an idle connection must hear the server close it
            self.pool._put_idle(self)
        else:
            self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self.pool._lost(self)


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives (a plain async iterator, no generator to be finalised).
    ``aclose`` gives the connection back (see ``_Connection.release``)."""

    def __init__(self, conn: _Connection, read_timeout: float | None, request: httpx.Request | None) -> None:
        self._conn: _Connection | None = conn
        self._read_timeout = read_timeout
        self._request = request

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        while True:
            if conn.chunks:
                return conn.take()
            if conn.complete:
                raise StopAsyncIteration
            if conn.error is not None:
                conn.error.request = self._request  # type: ignore[assignment]
                raise conn.error
            await conn.wait(self._read_timeout)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.release()


class Http1Transport(httpx.AsyncBaseTransport):
    """A pool of HTTP/1.1 connections (at most ``max_connections`` open), made on first use on the
    running loop; optionally through an HTTP proxy (``http://user:pass@host:port``)."""

    def __init__(self, *, max_connections: int, proxy: str | None = None) -> None:
        self._max_connections = max_connections
        self._proxy: Origin | None = None
        self._proxy_auth: tuple[tuple[str, str], ...] = ()
        if proxy:
            parts = urllib.parse.urlsplit(proxy)
            self._proxy = Origin(parts.scheme == "https", parts.hostname or "", parts.port or
                                 (443 if parts.scheme == "https" else 80))
            if authorization := proxy_authorization(proxy):
                self._proxy_auth = (("proxy-authorization", authorization),)
        self._idle: dict[Origin, list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._open = 0
        self._waiters: list[asyncio.Future[None]] = []  # requests waiting for room in the pool
        self._sweeper: asyncio.TimerHandle | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        return await self.send(
            request.method, str(request.url), request.headers.multi_items(), await request.aread(),
            httpx.Timeout(**timeout) if timeout else httpx.Timeout(None), request=request,
        )

    async def send(
        self, method: str, url: str, headers: Mapping[str, str] | list[tuple[str, str]], body: bytes,
        timeout: httpx.Timeout, *, request: httpx.Request | None = None, head_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request and return its response with the head read and the body unread (the
        caller reads or ``aclose()``s it). The proxy's hot path calls this without an
        ``httpx.Request``: building one was ~90 µs of a request's way to the upstream when idle.
        ``head_timeout``, when given, bounds the wait for the head instead of ``timeout.read``, which
        then bounds the waits for body bytes only."""
        target = parse_target(url)
        via_proxy = self._proxy is not None and not target.origin.tls
        head = request_head(method, target.absolute_form if via_proxy else target.origin_form, target.origin,
                            headers, len(body), self._proxy_auth if via_proxy else ())
        try:
            conn = await self._acquire(target.origin, timeout)
        except httpx.TransportError as exc:
            exc.request = request  # type: ignore[assignment]
            raise
        try:
            assert conn.transport is not None
            conn.transport.writelines([head, body] if body else [head])
            await conn.read_head(timeout.read if head_timeout is None else head_timeout)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, httpx.TransportError):
                exc.request = request  # type: ignore[assignment]
            raise
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if conn.reason:
            extensions["reason_phrase"] = conn.reason
        return httpx.Response(conn.status, headers=conn.headers, stream=_Body(conn, timeout.read, request),
                              request=request, extensions=extensions)

    # ---------------------------------------------------------------- the pool

    async def _acquire(self, origin: Origin, timeout: httpx.Timeout) -> _Connection:
        """A kept-alive connection to ``origin``, else a new one if the limit allows (an idle
        connection elsewhere is closed to make room), else wait for either within the pool timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout.pool is None else loop.time() + timeout.pool
        while True:
            conn = self._idle_connection(origin, loop.time())
            if conn is not None:
                return conn
            if self._open < self._max_connections:
                self._open += 1
                try:
                    return await self._connect(origin, timeout.connect)
                except BaseException:
                    self._give_slot()
                    raise
            oldest = min((c for conns in self._idle.values() for c in conns), key=lambda c: c.idle_since, default=None)
            if oldest is not None:  # an idle connection to another upstream makes room
                oldest.close()
                continue
            await self._wait_for_room(deadline)

    def _idle_connection(self, origin: Origin, now: float) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            fresh = now - conn.idle_since < KEEPALIVE_SECONDS
            if fresh and not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                conn.in_use = True
                return conn
            conn.close()
        return None

    async def _wait_for_room(self, deadline: float | None) -> None:
        """Until a connection comes back to the pool or one closes (then the caller looks again)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._wake_one()  # woken, but leaving (timed out, cancelled): the room goes to the next
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout(f"no free upstream connection (of {self._max_connections}) in time") from None
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    def _give_slot(self) -> None:
        self._open -= 1
        self._wake_one()

    def _put_idle(self, conn: _Connection) -> None:
        loop = conn.loop
        conn.idle_since = loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._wake_one()
        if self._sweeper is None:
            self._sweeper = loop.call_later(KEEPALIVE_SECONDS, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle for longer than ``KEEPALIVE_SECONDS``; again later while any are idle."""
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        for conns in list(self._idle.values()):
            for conn in [c for c in conns if now - c.idle_since >= KEEPALIVE_SECONDS]:
                conn.close()
        if any(self._idle.values()):
            self._sweeper = asyncio.get_running_loop().call_later(KEEPALIVE_SECONDS, self._sweep)

    def _lost(self, conn: _Connection) -> None:
        """``conn`` is closed or closing: out of the pool, and its slot free (once)."""
        if not conn.in_use:
            idle = self._idle.get(conn.origin)
            if idle and conn in idle:
                idle.remove(conn)
        self._all.discard(conn)
        if conn.counted:
            conn.counted = False
            self._give_slot()

    async def _connect(self, origin: Origin, connect_timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(self, origin, loop)
        self._all.add(conn)
        try:
            async with asyncio.timeout(connect_timeout):
                if self._proxy is None and (guard := destinations.GUARD.get()) is not None:
                    await _connect_checked(loop, conn, origin, guard)
                elif self._proxy is None:
                    await loop.create_connection(lambda: conn, origin.host, origin.port, **_tls(origin))
                elif not origin.tls:  # absolute-form requests to the proxy
                    await loop.create_connection(lambda: conn, self._proxy.host, self._proxy.port, **_tls(self._proxy))
                else:
                    await self._tunnel(conn, origin)
        except BaseException as exc:
            conn.counted = False  # the caller gives the slot back
            self._all.discard(conn)
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(f"connecting to {origin.authority} timed out") from None
            if isinstance(exc, OSError):  # refused, DNS, TLS verification (ssl.SSLError is one)
                raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
            raise
        return conn

    async def _tunnel(self, conn: _Connection, origin: Origin) -> None:
        """CONNECT through the proxy, then TLS with the upstream inside the tunnel (verified as if direct)."""
        assert self._proxy is not None
        loop = asyncio.get_running_loop()
        handshake = _TunnelHandshake(loop)
        transport, _ = await loop.create_connection(lambda: handshake, self._proxy.host, self._proxy.port,
                                                    **_tls(self._proxy))
        try:
            auth = "".join(f"{name}: {value}\r\n" for name, value in self._proxy_auth)
            transport.write(f"CONNECT {origin.host_port} HTTP/1.1\r\nhost: {origin.host_port}\r\n{auth}\r\n".encode())
            status_line = await handshake.answer
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or parts[1] != b"200":
                raise ConnectionRefusedError(f"the proxy refused the tunnel: {status_line.decode('latin-1')}")
            tls_transport = await loop.start_tls(transport, handshake, default_ssl_context(),
                                                 server_hostname=origin.host)
        except BaseException:
            transport.close()
            raise
        if tls_transport is None:
            raise ConnectionResetError("the tunnel closed during the TLS handshake")
        tls_transport.set_protocol(conn)
        conn.connection_made(tls_transport)

    async def aclose(self) -> None:
        for conn in list(self._all):
            conn.close()
        self._idle.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


class _TunnelHandshake(asyncio.Protocol):
    """Reads a proxy's answer to CONNECT: ``answer`` is its status line once the head has arrived."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.answer: asyncio.Future[bytes] = loop.create_future()
        self._head = b""

    def data_received(self, data: bytes) -> None:
        self._head += data
        if b"\r\n\r\n" in self._head and not self.answer.done():
            self.answer.set_result(self._head.split(b"\r\n", 1)[0])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc or ConnectionResetError("the proxy closed the connection"))


async def _connect_checked(loop: asyncio.AbstractEventLoop, conn: _Connection, origin: Origin,
                           guard: destinations.DestinationPolicy) -> None:
    """Connect to an address of ``origin`` that ``guard`` allows, resolved and checked here, at
    connect time (a name checked earlier may resolve elsewhere now); the Host header and TLS
    name stay the origin's name. A name the policy allows as such is connected to as usual."""
    infos = await guard.resolve(origin.host, origin.port)
    if infos is None:
        await loop.create_connection(lambda: conn, origin.host, origin.port, **_tls(origin))
        return
    last: OSError = ConnectionRefusedError(f"{origin.host} has no address")
    for family, _, _, _, sockaddr in infos:
        try:
            await loop.create_connection(lambda: conn, sockaddr[0], origin.port, family=family, **_tls(origin))
            return
        except OSError as exc:
            last = exc
    raise last


def _tls(origin: Origin) -> dict[str, Any]:
    return {"ssl": default_ssl_context(), "server_hostname": origin.host} if origin.tls else {}
