"""aiohttp's client behind httpx's transport API, through the ``httpx-aiohttp`` package, for
``PROXY_UPSTREAM_TRANSPORT=aiohttp``.

httpx-aiohttp turns an ``httpx.Request`` into an aiohttp request and aiohttp's response into an
``httpx.Response``. What it leaves to aiohttp's defaults, or gets wrong for a gateway, is set here:

* The session keeps no cookies (aiohttp's default jar would replay one client's upstream cookies
  on another's calls), verifies TLS with the shared context (``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
  honoured), opens at most ``max_connections`` connections, keeps idle ones ``KEEPALIVE_SECONDS``,
  and goes through no proxy but the one passed in (as the other transports, from the environment).
* Errors are classified as the HTTP/1.1 transport classifies them. The package maps every aiohttp
  connection error to ``httpx.ConnectTimeout``, so an upstream that closed the connection would
  read as a timeout (a 504, "timed out"), and lets others through unmapped (a malformed response
  head would not be an ``httpx.TransportError`` at all).
* The body is read through one iterator (``ResumableBody``), closed with the response: a stream
  closed half read closes its connection, which is how the upstream learns the call was cancelled.

Timeouts: httpx's ``connect`` is aiohttp's ``sock_connect``, ``read`` its ``sock_read`` (each wait
for bytes, the response head's included) and ``pool`` its ``connect``, which covers waiting for a
free connection *and* connecting (httpx times them apart); both surface as ``ConnectTimeout`` (the
HTTP/1.1 transport raises ``PoolTimeout`` for the wait). ``write`` has no aiohttp equivalent: a
request body is written whole and the ``read`` timeout bounds the wait for its answer. aiohttp
retries a request on a dropped kept-alive connection only for idempotent methods: a POST is never
sent twice. HTTP/2: not spoken.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _PackageTransport

from proxy_app.upstream.defaults import KEEPALIVE_SECONDS, default_ssl_context, proxy_authorization
from proxy_app.upstream.resumable import ResumableBody

# aiohttp's error -> httpx's, the first that matches (subclasses before their bases).
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # SocketTimeoutError: no bytes within sock_read
    (aiohttp.ClientHttpProxyError, httpx.ConnectError),  # the proxy refused the tunnel
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS verification, the proxy unreachable
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short or malformed
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed response head
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),  # reset, broken pipe
    (aiohttp.ClientError, httpx.TransportError),
)


def classified(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx error for one the package raised (its mapping of an aiohttp error, which it keeps
    as the cause) or let through (aiohttp's own); the aiohttp error stays its cause."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    for aiohttp_type, httpx_type in _ERRORS:
        if isinstance(cause, aiohttp_type):
            error = httpx_type(f"{type(cause).__name__}: {cause}", request=request)
            error.__cause__ = cause
            return error
    return exc


class _Body(ResumableBody):
    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        super().__init__(stream)
        self._request = request

    async def __anext__(self) -> bytes:
        try:
            return await super().__anext__()
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise classified(exc, self._request)  # noqa: B904  # the aiohttp error is its cause


class AiohttpTransport(_PackageTransport):
    """httpx-aiohttp's transport on a session made for a gateway (see the module's docstring)."""

    def __init__(self, *, max_connections: int, proxy: str | None) -> None:
        self._max_connections = max_connections
        # A proxy's credentials as a header: in the URL, the package would pass them as aiohttp's
        # proxy_auth, deprecated (gone in aiohttp 4). aiohttp sends proxy headers with a CONNECT
        # only; a plain http:// request goes to the proxy itself and carries its own (see below).
        self._proxy_authorization = proxy_authorization(proxy) if proxy else None
        tunnel_headers = {"proxy-authorization": self._proxy_authorization} if self._proxy_authorization else None
        # The session is made on first use, on the running loop: aiohttp binds it to one.
        super().__init__(
            verify=default_ssl_context(), trust_env=False, client=self._session,
            proxy=httpx.Proxy(httpx.URL(proxy).copy_with(username=None, password=None), headers=tunnel_headers)
            if proxy else None,
        )

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=KEEPALIVE_SECONDS,
                                         ssl=default_ssl_context())
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._proxy_authorization and request.url.scheme == "http":
            request.headers["proxy-authorization"] = self._proxy_authorization
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise classified(exc, request)  # noqa: B904  # the aiohttp error is its cause
        response.stream = _Body(response.stream, request)  # type: ignore[arg-type]  # an AsyncByteStream
        return response
