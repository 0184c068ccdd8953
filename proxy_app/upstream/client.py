"""The one seam between the proxy and its upstreams: a pooled ``httpx.AsyncClient`` per upstream
base URL and event loop, and the hot path beside it.

The connectors call ``send`` and read the answer with ``read_body`` / ``body_chunks`` (then
``release_after_body`` or ``aclose``); the rest (model listing) uses ``get_client``'s client. The
transport under it is ``PROXY_UPSTREAM_TRANSPORT``'s (``transports.py``); callers see httpx's
responses and exceptions whichever it is.

**Why ``own`` is the default**: ``bench/ab.py --env-a PROXY_UPSTREAM_TRANSPORT=<library> --env-b
PROXY_UPSTREAM_TRANSPORT=own`` (Daphne, 6 interleaved rounds of 3 s; two runs each, 2026-12-06, a
2-vCPU VM shared with other work, so single rounds swing; medians of rounds, B − A):

============  ===========================  ======================  =====================
own against   CPU per request, c = 1        req/s at c = 10         paced-stream TTFT
============  ===========================  ======================  =====================
httpx         1.95 → 1.07 ms, 1.97 → 1.00   269 → 809, 205 → 670    −4.7 ms, −6.3 ms
aiohttp       1.42 → 1.04 ms, 1.45 → 1.05   427 → 553, 587 → 768    −1.2 ms, +0.7 ms
============  ===========================  ======================  =====================

The upstream call alone (``bench/seam.py``, CPU per call, two runs): own 57 / 70 µs back to back
and 443 / 398 µs after 20 ms idle; aiohttp 319 / 396 and 875 / 883 µs; httpx 746 / 791 and
1,467 / 1,279 µs. So ~560 lines of upkeep (``http1.py``) save 27–33 % of the proxy's CPU per
non-stream request against aiohttp at c = 1, and about half against httpx.

**What ``send`` relies on in httpx beyond its documented API**, written against httpx 0.28.1 (pinned
``>=0.28.1,<0.29``) and checked by ``tests/upstream/test_httpx_reliance.py``, which names what an
upgrade changed:

* a response is usable as a transport returns it: ``send`` calls ``handle_async_request`` itself,
  skipping ``AsyncClient.send``'s redirect, auth, cookie and URL-merging layers, which no upstream
  call uses (own transport, CPU per call: ``AsyncClient.post`` 319 / 449 µs against 128 / 146 µs
  through an ``httpx.Request``, back to back; 872 / 832 against 497 / 500 µs after 20 ms idle);
* to the own transport not even an ``httpx.Request`` (57 / 70 µs against 128 / 146; 443 / 398
  against 497 / 500 after idle);
* ``Response.stream``, an undocumented attribute, is the transport's stream as returned:
  ``body_chunks`` iterates it directly, sparing ``aiter_bytes()``' two async generators per
  response (−10 % CPU per stream in the 2026-12-02 A/B, ``bench/README.md``);
* an ``httpx.Request`` built from an ``httpx.URL`` reuses its parsed form (``parsed_url``'s cache).
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

from proxy_app.core.tracing import UPSTREAM_TRACE_HEADERS
from proxy_app.upstream.defaults import DEFAULT_HEADERS
from proxy_app.upstream.http1 import Http1Transport
from proxy_app.upstream.transports import build_transport

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
        transport = build_transport(environment_proxy(base_url) if settings.PROXY_TRUST_ENV else None)
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
    if not proxy or urllib.request.proxy_bypass_environment(url.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    proxy_scheme = urllib.parse.urlsplit(proxy).scheme
    if proxy_scheme not in ("http", "https"):
        logger.warning("ignoring the %s proxy for %s upstreams: only http:// and https:// proxies are supported",
                       proxy_scheme, url.scheme)
        return None
    return proxy


async def send(
    base_url: str, method: str, url: str, *, content: bytes, headers: dict[str, str], timeout: httpx.Timeout,
    head_timeout: float | None = None,
) -> httpx.Response:
    """Send one request on the shared client's connection pool and return the unread response.

    This is the hot path: straight to the client's transport, to the own one without even an
    ``httpx.Request`` (what that saves, and relies on: the module's docstring). The caller reads
    or ``aclose()``s the response.

    ``head_timeout``, when given, bounds the wait for the response's head instead of ``timeout.read``,
    which then bounds each wait for body bytes only. The library transports have one read timeout
    for both: they get the longer of the two.
    """
    if (trace_headers := UPSTREAM_TRACE_HEADERS.get()) is not None:  # the attempt's span, when tracing is on
        headers = {**headers, **trace_headers}
    transport = _transports[get_client(base_url)]
    if isinstance(transport, Http1Transport):
        return await transport.send(method, url, headers, content, timeout, head_timeout=head_timeout)
    if head_timeout is not None and timeout.read is not None and head_timeout > timeout.read:
        timeout = httpx.Timeout(connect=timeout.connect, read=head_timeout, write=timeout.write, pool=timeout.pool)
    request = httpx.Request(method, parsed_url(url), content=content, headers=with_default_headers(headers),
                            extensions={"timeout": timeout.as_dict()})
    return await transport.handle_async_request(request)


def with_default_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    """``headers`` and the defaults it does not set, as the HTTP/1.1 transport sends them."""
    given = {name.lower() for name in headers}
    return [*headers.items(), *((name, value) for name, value in DEFAULT_HEADERS if name not in given)]


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


class ResponseTooLarge(Exception):
    """An upstream's body went past the size its reader allows (the rest of it was not read)."""


async def read_body(response: httpx.Response, *, limit: int | None = None) -> bytes:
    """All of an unread ``response``'s body, decoded (``aread`` without httpx's generators);
    ``ResponseTooLarge`` as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in body_chunks(response):
        size += len(chunk)
        if limit is not None and size > limit:
            raise ResponseTooLarge(f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
        # Only an iterator resumes where the reader stopped: every transport's stream is one (the
        # HTTP/1.1 transport's own, the libraries' as a ResumableBody); aiter_bytes() is not.
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
