"""Loopback upstreams that misbehave on purpose, and the transport each test runs on."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

from proxy_app.upstream.client import close_clients
from proxy_app.upstream.defaults import default_ssl_context

Handler = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUTS = httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)

# Every choice of PROXY_UPSTREAM_TRANSPORT; aiohttp's only where its optional package is installed.
TRANSPORTS = [
    "own",
    "httpx",
    pytest.param("aiohttp", marks=pytest.mark.skipif(importlib.util.find_spec("httpx_aiohttp") is None,
                                                     reason="httpx-aiohttp is not installed")),
]


class RawServer:
    """A loopback TCP server; counts connections and keeps every request head it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.closed = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(self, reader, writer)
        finally:
            writer.close()
            self.closed.set()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        length = next((int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
                       if line.startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        return head


@asynccontextmanager
async def raw_server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[RawServer, str]]:
    """``handler`` serving each connection; yields the server and a URL on it (``…/v1/chat``)."""
    srv = RawServer(handler)
    server = await asyncio.start_server(srv.serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield srv, f"{'https' if tls else 'http'}://127.0.0.1:{port}/v1/chat"
    finally:
        server.close()


def base_of(url: str) -> str:
    return url.rsplit("/", 1)[0]


def response(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    return b"\r\n".join([b"HTTP/1.1 " + status, b"Content-Type: application/json",
                         b"Content-Length: %d" % len(body), *extra, b"", body])


async def keep_answering(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            await srv.read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(response(b'{"ok":true}', b"Set-Cookie: session=secret-of-client-a; Path=/"))
        await writer.drain()


@pytest.fixture(params=TRANSPORTS)
async def transport(request: pytest.FixtureRequest, settings: object) -> AsyncIterator[str]:
    """The test runs once per transport, through the shared clients (closed afterwards)."""
    settings.PROXY_UPSTREAM_TRANSPORT = request.param  # type: ignore[attr-defined]
    yield request.param
    await close_clients()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables but those the test sets."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def tls_for(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca(monkeypatch: pytest.MonkeyPatch) -> Iterator[trustme.CA]:
    """A throw-away CA; the process-wide SSL context is rebuilt around each test."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default_ssl_context.cache_clear()
    yield trustme.CA()
    default_ssl_context.cache_clear()
