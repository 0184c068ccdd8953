"""What the upstream package relies on in httpx beyond its documented API, checked one by one.

``proxy_app/upstream/http1.py`` (the own transport) and ``client.send`` (the hot path) were written
against httpx 0.28.1 and measured with it (the figures are in their docstrings). When an httpx
upgrade fails one of these, the failure names what changed: re-measure (``bench/ab.py``) and adapt
the code, or make a library transport the default.
"""

from __future__ import annotations

import gzip
import inspect
import ssl
import weakref
from collections.abc import AsyncIterator

import httpx
import pytest

WRITTEN_AGAINST = "0.28.1"


def relied_on(what: str, holds: bool) -> None:
    assert holds, (
        f"httpx {httpx.__version__} changed {what}, which proxy_app/upstream relies on (written and measured "
        f"against httpx {WRITTEN_AGAINST}). Re-measure the own transport against the library ones "
        "(bench/ab.py --env-a PROXY_UPSTREAM_TRANSPORT=httpx --env-b PROXY_UPSTREAM_TRANSPORT=own) and adapt "
        "http1.py / client.py to the new httpx, or make the faster library transport the default."
    )


class Body(httpx.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.closed = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for data in self.chunks:
            yield data

    async def aclose(self) -> None:
        self.closed += 1


def test_a_response_built_without_a_request_carries_what_the_transport_gives() -> None:
    """http1.py builds ``httpx.Response`` itself, without an ``httpx.Request`` on the hot path."""
    body = Body(b"{}")
    response = httpx.Response(429, headers=[(b"Retry-After", b"7")], stream=body, request=None,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": b"Slow Down"})
    relied_on("httpx.Response(..., request=None) with raw (bytes, bytes) headers",
              response.status_code == 429 and response.headers["retry-after"] == "7")
    relied_on("the 'reason_phrase' / 'http_version' response extensions",
              response.reason_phrase == "Slow Down" and response.http_version == "HTTP/1.1")
    relied_on("httpx.Response.stream (an undocumented attribute: client.body_chunks reads the transport's "
              "stream from it, skipping aiter_bytes' generators)", response.stream is body)


async def test_closing_a_response_closes_its_stream_once() -> None:
    """How a half-read stream reaches the transport: ``Response.aclose`` -> ``stream.aclose``."""
    body = Body(b"{}")
    response = httpx.Response(200, stream=body)
    await response.aclose()
    await response.aclose()
    relied_on("httpx.Response.aclose() calling its stream's aclose() once", body.closed == 1)


async def test_aiter_bytes_decodes_a_content_coding_from_the_stream() -> None:
    """``client.body_chunks`` reads an uncoded body straight from the stream and leaves a coded one to httpx."""
    packed = gzip.compress(b'{"text":"zipped"}')
    response = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Body(packed[:10], packed[10:]))
    decoded = b"".join([data async for data in response.aiter_bytes()])
    relied_on("httpx.Response.aiter_bytes() decoding gzip read from Response.stream", decoded == b'{"text":"zipped"}')


def test_the_timeout_extension_round_trips() -> None:
    """``client.send`` hands the timeout to a transport as ``Timeout.as_dict()``; http1.py reads it back."""
    timeout = httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
    request = httpx.Request("POST", "http://upstream.invalid/v1", content=b"{}",
                            extensions={"timeout": timeout.as_dict()})
    relied_on("the 'timeout' request extension and httpx.Timeout(**Timeout.as_dict())",
              httpx.Timeout(**request.extensions["timeout"]) == timeout)


def test_a_transport_error_takes_its_request_after_it_was_raised() -> None:
    """http1.py raises errors from its connections, then sets ``exc.request`` (None on the hot path)."""
    error = httpx.ReadTimeout("no data")
    request = httpx.Request("POST", "http://upstream.invalid/v1")
    error.request = request
    relied_on("the settable httpx.RequestError.request property", error.request is request)


def test_the_errors_keep_their_classification() -> None:
    """The connector answers 504 for ``TimeoutException`` and 502 for any other ``TransportError``."""
    relied_on("httpx's exception hierarchy (timeouts under TimeoutException, all under TransportError)", all([
        issubclass(httpx.ReadTimeout, httpx.TimeoutException), issubclass(httpx.ConnectTimeout, httpx.TimeoutException),
        issubclass(httpx.PoolTimeout, httpx.TimeoutException), issubclass(httpx.TimeoutException, httpx.TransportError),
        *(issubclass(error, httpx.TransportError) and not issubclass(error, httpx.TimeoutException) for error in (
            httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.LocalProtocolError,
            httpx.UnsupportedProtocol, httpx.ProxyError)),
    ]))


def test_a_parsed_url_is_not_parsed_again_by_a_request() -> None:
    """``client.parsed_url`` caches ``httpx.URL``s: a request built from one must copy, not re-parse, it."""
    url = httpx.URL("http://upstream.invalid/v1/chat")
    relied_on("httpx.URL being hashable, and httpx.Request reusing a URL's parsed form (httpx.URL._uri_reference) "
              "rather than parsing it again (client.parsed_url's cache)",
              hash(url) == hash(httpx.URL(str(url)))
              and httpx.Request("POST", url).url._uri_reference is url._uri_reference)


def test_the_library_response_stream_is_one_async_generator_per_iteration() -> None:
    """``ResumableBody`` keeps the generator httpx's stream makes per ``async for`` and closes it itself."""
    from httpx._transports.default import AsyncResponseStream

    relied_on("httpx._transports.default.AsyncResponseStream.__aiter__ (an async generator function)",
              inspect.isasyncgenfunction(AsyncResponseStream.__aiter__))


def test_the_ssl_context_and_the_client_registry_keep_working() -> None:
    relied_on("httpx.create_ssl_context(trust_env=True) returning an ssl.SSLContext",
              isinstance(httpx.create_ssl_context(trust_env=True), ssl.SSLContext))
    client = httpx.AsyncClient()
    relied_on("httpx.AsyncClient being weak-referenceable (client._transports maps each client to its transport)",
              weakref.ref(client)() is client)


@pytest.mark.parametrize("name", ["AsyncBaseTransport", "AsyncByteStream", "AsyncHTTPTransport"])
def test_the_transport_api_is_there(name: str) -> None:
    relied_on(f"httpx.{name} (the transport API the own transport and ResumableBody subclass)",
              inspect.isclass(getattr(httpx, name, None)))
