"""httpx's own connection pool (httpcore), for ``PROXY_UPSTREAM_TRANSPORT=httpx``: HTTP/2 when
``PROXY_HTTP2`` is on (one multiplexed connection per upstream, over TLS), HTTP/1.1 otherwise."""

from __future__ import annotations

import httpx

from proxy_app.upstream.defaults import KEEPALIVE_SECONDS, default_ssl_context
from proxy_app.upstream.resumable import ResumableBody


class HttpxTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the shared TLS context, at most ``max_connections`` connections, no
    proxy but the one passed in, and bodies that can be read on after a reader stopped."""

    def __init__(self, *, max_connections: int, proxy: str | None, http2: bool) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=KEEPALIVE_SECONDS)
        super().__init__(http2=http2, limits=limits, verify=default_ssl_context(), trust_env=False, proxy=proxy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        response.stream = ResumableBody(response.stream)  # type: ignore[arg-type]  # an AsyncByteStream
        return response
