"""One pooled ``httpx.AsyncClient`` per upstream base URL and event loop.

By default the client runs httpx's API over this project's HTTP/1.1 transport
(``http1_transport``: asyncio protocols and httptools' C parser): measured on this project's
machine, httpx's own pool halves throughput under concurrency, and aiohttp's client, used before,
cost three times as much per call after an idle wait. ``PROXY_HTTP2=true`` switches to httpx's own
transport with HTTP/2 (one multiplexed connection per upstream), for upstreams and networks where
that matters more than raw local throughput.
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import logging
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator

import httpx
from django.conf import settings

from proxy_app.upstream.http1 import Http1Transport, default_ssl_context

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)
_transports: weakref.WeakKeyDictionary[httpx.AsyncClient, httpx.AsyncBaseTransport] = weakref.WeakKeyDictionary()
_draining: set[asyncio.Task[None]] = set()
logger = logging.getLogger("llmproxy.http_client")
DRAIN_SECONDS = 1.0


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.PROXY_CONNECT_TIMEOUT,
        read=settings.PROXY_IDLE_TIMEOUT,
        write=settings.PROXY_IDLE_TIMEOUT,
        pool=settings.PROXY_CONNECT_TIMEOUT,
    )


def no_cookies() -> http.cookiejar.CookieJar:
    """A jar that keeps nothing: one client's upstream cookies must never reach another's calls."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def get_client(base_url: str) -> httpx.AsyncClient:
    """The shared client for ``base_url`` on the running loop, created on first use."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    client = per_loop.get(base_url)
    if client is None:
        limits = httpx.Limits(
            max_connections=settings.PROXY_MAX_CONNECTIONS,
            max_keepalive_connections=settings.PROXY_MAX_CONNECTIONS,
        )
        proxy = environment_proxy(base_url) if settings.PROXY_TRUST_ENV else None
        transport: httpx.AsyncBaseTransport = (
            httpx.AsyncHTTPTransport(http2=True, limits=limits, verify=default_ssl_context(), trust_env=False,
                                     proxy=proxy)
            if settings.PROXY_HTTP2
            else Http1Transport(max_connections=settings.PROXY_MAX_CONNECTIONS, proxy=proxy)
        )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=default_timeout(),
            follow_redirects=False,
            cookies=no_cookies(),
        )
        per_loop[base_url] = client
        _transports[client] = transport
    return client


def environment_proxy(base_url: str) -> str | None:
    """The HTTP proxy the environment names for ``base_url`` (``HTTPS_PROXY`` for an https URL,
    ``HTTP_PROXY`` for http, else ``ALL_PROXY``), or None when there is none or ``NO_PROXY``
    exempts its host. Worked out once per base URL, so the request path pays nothing for it."""
    url = urllib.parse.urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(url.hostname or "", proxies):
        return None
    proxy_scheme = urllib.parse.urlsplit(proxy).scheme
    if proxy_scheme not in ("http", "https"):
        logger.warning("ignoring the %s proxy for %s upstreams: only http:// and https:// proxies are supported",
                       proxy_scheme, url.scheme)
        return None
    return proxy


async def send(
    base_url: str, method: str, url: str, *, content: bytes, headers: dict[str, str], timeout: httpx.Timeout
) -> httpx.Response:
    """Send one request on the shared client's connection pool and return the unread response.

    This is the hot path: it goes straight to the client's transport, skipping the client's
    per-request redirect, auth, cookie and URL-merging layers, none of which an upstream API call
    uses (measured at about a tenth of the proxy's CPU per request); to the HTTP/1.1 transport
    without even an ``httpx.Request``.
    The caller reads or ``aclose()``s the response.
    """
    transport = _transports[get_client(base_url)]
    if isinstance(transport, Http1Transport):
        return await transport.send(method, url, headers, content, timeout)
    request = httpx.Request(method, parsed_url(url), content=content, headers=headers, extensions={"timeout": timeout.as_dict()})
    return await transport.handle_async_request(request)


def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of an unread ``response``, decoded, as it arrives.

    A body without a content-coding (what LLM APIs send) is read straight from the transport's
    stream. ``response.aiter_bytes()`` wraps that stream in two async generators: per-chunk cost,
    and when a reader stops early (the SSE reader stops at ``[DONE]``) each is left suspended for
    asyncio's finaliser to close, a task and a self-pipe wake-up apiece, per stream."""
    if _uncoded(response):
        return response.stream  # type: ignore[return-value]  # an AsyncByteStream, as sent
    return response.aiter_bytes()


def _uncoded(response: httpx.Response) -> bool:
    return response.headers.get("content-encoding", "identity").lower() == "identity"


async def read_body(response: httpx.Response) -> bytes:
    """All of an unread ``response``'s body, decoded (``aread`` without httpx's generators)."""
    return b"".join([chunk async for chunk in body_chunks(response)])


def release_after_body(response: httpx.Response) -> None:
    """Close ``response`` once the rest of its body has arrived, without waiting for it.

    For a body read up to its logical end (an SSE stream's ``[DONE]``) whose last bytes, the
    chunked-encoding terminator, may still be on the wire: read at once, they let the pool keep the
    connection for the next call, where closing first would cost that call a new TCP (and TLS)
    handshake with the upstream. A body that has not ended after ``DRAIN_SECONDS`` is closed."""
    task = asyncio.get_running_loop().create_task(_drain(response))
    _draining.add(task)  # the loop keeps only a weak reference to its tasks
    task.add_done_callback(_draining.discard)


async def _drain(response: httpx.Response) -> None:
    try:
        stream = response.stream
        # Only an iterator resumes where the reader stopped (the HTTP/1.1 transport's stream does;
        # aiter_bytes() and httpx's HTTP/2 stream, where closing costs no connection anyway, do not).
        if _uncoded(response) and isinstance(stream, AsyncIterator):
            async with asyncio.timeout(DRAIN_SECONDS):
                async for _ in stream:
                    pass
    except (TimeoutError, httpx.TransportError):
        pass
    finally:
        await response.aclose()


@functools.lru_cache(maxsize=4096)
def parsed_url(url: str) -> httpx.URL:
    """``url`` parsed once (httpx URLs are immutable): parsing is a third of building a request."""
    return httpx.URL(url)


async def close_clients() -> None:
    """Close every client of the running loop (graceful shutdown, tests)."""
    loop = asyncio.get_running_loop()
    for client in _clients.pop(loop, {}).values():
        await client.aclose()
