"""An httpx transport over aiohttp's connection pool.

Backends speak httpx's API (``httpx.Request`` in, ``httpx.Response`` out, httpx's exceptions,
httpx's content decoding); aiohttp does the network I/O, because its pool and C HTTP parser
cost a fraction of httpx's own under load. This replaces the third-party ``httpx-aiohttp``
package, which cost ~150 µs per sequential request above plain aiohttp on a loopback upstream
(this one, fed ``http_client``'s pre-parsed URLs: ~70 µs), kept upstream cookies across every
client of the proxy, and mapped every aiohttp connection error, a server disconnecting
mid-body included, to ``httpx.ConnectTimeout``.

* No cookie jar: a gateway must not replay one client's upstream cookies for another.
* The body stream is a plain async iterator, not an async generator, so a response dropped
  half-read is not left to asyncio's async-generator finalizer (a task per generator).
* aiohttp's exceptions become the httpx exception that says what happened (see ``_httpx_error``).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import yarl


def _httpx_error(exc: Exception, request: httpx.Request | None) -> httpx.TransportError:
    """The httpx exception for an aiohttp failure; more specific classes are tested first."""
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout  # no free pooled connection, or the TCP/TLS connect, in time
    elif isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError (sock_read) is one
        kind = httpx.ReadTimeout  # no byte from the upstream within the read timeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # refused, DNS, TLS handshake
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError  # closed early, truncated or malformed response
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectionError | OSError):
        kind = httpx.ReadError  # reset, broken pipe
    else:
        kind = httpx.TransportError
    return kind(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, request=request)


@functools.lru_cache(maxsize=4096)
def _yarl_url(url: str) -> yarl.URL:
    """``url`` parsed once (yarl URLs are immutable); aiohttp would parse the string on every call."""
    return yarl.URL(url)


# How long an idle pooled connection is reused: httpx's own default, kept short so a connection
# the upstream has already closed is rarely picked for a request that cannot be retried.
KEEPALIVE_SECONDS = 5.0


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context, built once per process (reading a CA bundle took tens of
    milliseconds of the first request to every backend): certifi's bundle, or the one that
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name instead (a private or corporate CA), as httpx reads them."""
    return httpx.create_ssl_context(trust_env=True)


class _BodyStream(httpx.AsyncByteStream):
    """The upstream body as it arrives; ``aclose`` returns the connection to the pool when the
    body was read to the end, and closes it otherwise (that is how a stream is cancelled)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request | None) -> None:
        self._response = response
        self._request = request

    def __aiter__(self) -> _BodyStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await self._response.content.readany()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _httpx_error(exc, self._request) from exc
        if not chunk:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one connection pool), created on first use on the running loop."""

    def __init__(self, *, max_connections: int, proxy: str | None = None) -> None:
        self._max_connections = max_connections
        # a proxy's credentials go to the proxy in a header (of the CONNECT request, for an https
        # upstream), not in its URL
        self._proxy, auth = aiohttp.helpers.strip_auth_from_url(yarl.URL(proxy)) if proxy else (None, None)
        self._proxy_headers = {"Proxy-Authorization": auth.encode()} if auth else None
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=default_ssl_context(),
        )
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, trust_env=False,
        )

    def _timeout(self, connect: float | None, read: float | None, pool: float | None) -> aiohttp.ClientTimeout:
        """httpx's connect/read/pool timeouts as aiohttp's (no total: callers bound the whole call)."""
        key = (connect, read, pool)
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read,
                                                                connect=pool)
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        return await self.send(
            request.method, str(request.url), request.headers.multi_items(), await request.aread(),
            httpx.Timeout(**timeout) if timeout else httpx.Timeout(None), request=request,
        )

    async def send(
        self, method: str, url: str, headers: Mapping[str, str] | list[tuple[str, str]], body: bytes,
        timeout: httpx.Timeout, *, request: httpx.Request | None = None,
    ) -> httpx.Response:
        """The request, sent without an ``httpx.Request`` unless the caller has one: the proxy's hot
        path (``http_client.send``) builds none, which was ~90 µs of a request's way to the upstream
        after the proxy had been idle (header normalisation, URL and byte-stream objects)."""
        if self._session is None:
            self._session = self._open_session()
        if self._proxy_headers and url.startswith("http:"):
            # a plain-HTTP call is sent to the proxy itself; aiohttp adds proxy_headers to CONNECT only
            headers = [*(headers.items() if isinstance(headers, Mapping) else headers), *self._proxy_headers.items()]
        try:
            response = await self._session.request(
                method, _yarl_url(url), headers=headers, data=body or None, allow_redirects=False, compress=False,
                timeout=self._timeout(timeout.connect, timeout.read, timeout.pool),
                proxy=self._proxy, proxy_headers=self._proxy_headers,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _httpx_error(exc, request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status, headers=response.raw_headers, stream=_BodyStream(response, request),
            request=request, extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
