"""The upstream seam (``proxy_app.upstream.client``) on every transport PROXY_UPSTREAM_TRANSPORT
names, against loopback upstreams: what the proxy relies on, whichever client does the I/O."""

from __future__ import annotations

import asyncio
import gzip
import socket
from pathlib import Path

import httpx
import orjson
import pytest
import trustme

from proxy_app.upstream import client as http_client
from proxy_app.upstream.client import (
    body_chunks,
    close_clients,
    environment_proxy,
    get_client,
    read_body,
    release_after_body,
    send,
)
from tests.upstream.conftest import TIMEOUTS, RawServer, base_of, keep_answering, raw_server, response, tls_for

# ------------------------------------------------------------------ answers


async def test_json_answers_reuse_one_connection_and_never_replay_cookies(transport: str) -> None:
    async with raw_server(keep_answering) as (srv, url):
        c = get_client(base_of(url))  # the client API (model listing) as well as the hot path
        r = await c.post(url, content=b'{"q":1}', headers={"Authorization": "Bearer sk-test"})
        assert r.status_code == 200 and r.json() == {"ok": True}
        assert r.headers["content-type"] == "application/json"
        for _ in range(2):
            r = await send(base_of(url), "POST", url, content=b"{}", headers={"content-type": "application/json"},
                           timeout=TIMEOUTS)
            assert orjson.loads(await read_body(r)) == {"ok": True}
            await r.aclose()
    assert srv.connections == 1 and len(srv.heads) == 3
    assert all(b"cookie:" not in head.lower() for head in srv.heads)
    assert b"authorization: bearer sk-test" in srv.heads[0].lower()


async def test_the_request_carries_the_default_headers_unless_the_caller_sets_them(transport: str) -> None:
    async with raw_server(keep_answering) as (srv, url):
        for headers in ({}, {"User-Agent": "mine/1"}):
            r = await send(base_of(url), "POST", url + "?beta=true", content=b'{"q":1}', headers=headers,
                           timeout=TIMEOUTS)
            await read_body(r)
            await r.aclose()
    default, given = ([line for line in head.decode().lower().split("\r\n")] for head in srv.heads)
    assert default[0] == given[0] == "post /v1/chat?beta=true http/1.1"
    assert "user-agent: llm-interactive-proxy" in default and "accept-encoding: gzip, deflate" in default
    assert [line for line in given if line.startswith("user-agent:")] == ["user-agent: mine/1"]
    assert [line for line in given if line.startswith("content-length:")] == ["content-length: 7"]


async def test_a_gzip_body_is_decoded_and_a_plain_one_passed_through(transport: str) -> None:
    packed = gzip.compress(b'{"text":"zipped"}')
    answers = [response(packed, b"Content-Encoding: gzip"), response(b'{"text":"plain"}')] * 2

    async def in_turn(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await srv.read_request(reader)
            writer.write(answer)
            await writer.drain()

    async with raw_server(in_turn) as (_, url):
        for expected in ("zipped", "plain"):
            r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
            assert orjson.loads(await read_body(r)) == {"text": expected}
            await r.aclose()
        for expected in ("zipped", "plain"):  # and through the client API
            assert (await get_client(base_of(url)).post(url, content=b"{}")).json() == {"text": expected}


async def test_an_upstream_error_status_comes_back_with_its_body_and_headers(transport: str) -> None:
    error = b'{"error":{"type":"rate_limit_error","message":"slow down"}}'

    async def limited(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await keep_answering_with(srv, reader, writer, response(error, b"Retry-After: 7", status=b"429 Too Many Requests"))

    async with raw_server(limited) as (srv, url):
        for _ in range(2):
            r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
            assert r.status_code == 429 and r.reason_phrase == "Too Many Requests"
            assert r.headers["retry-after"] == "7"
            assert await read_body(r) == error
            await r.aclose()
    assert srv.connections == 1  # an error answer read whole keeps its connection


async def keep_answering_with(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                              answer: bytes) -> None:
    while True:
        try:
            await srv.read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(answer)
        await writer.drain()


# ------------------------------------------------------------------ streams


def sse_head() -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def read_to_done(url: str) -> tuple[httpx.Response, list[bytes]]:
    """Send one request on the shared client and read its body up to [DONE], as the SSE reader does."""
    r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
    received = []
    async for data in body_chunks(r):
        received.append(data)
        if b"[DONE]" in data:
            break
    return r, received


async def test_a_stream_arrives_event_by_event_and_its_connection_is_kept_once_its_end_arrives(transport: str) -> None:
    events = [b"data: {\"n\":%d}\n\n" % i for i in range(3)] + [b"data: [DONE]\n\n"]

    async def paced(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await srv.read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(sse_head())
            for event in events:
                writer.write(chunk(event))
                await writer.drain()
                await asyncio.sleep(0.03)
            await asyncio.sleep(0.05)  # the chunked terminator comes later, as over a network
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with raw_server(paced) as (srv, url):
        for _ in range(2):
            r, received = await read_to_done(url)
            assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
            assert received == events  # each as it was sent, not gathered up
            release_after_body(r)
            await asyncio.sleep(0.2)
    assert srv.connections == 1


async def test_a_stream_that_does_not_end_after_done_is_closed(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_client, "DRAIN_SECONDS", 0.1)

    async def never_ends(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(sse_head() + chunk(b"data: [DONE]\n\n"))
        await writer.drain()
        await reader.read()  # until the client hangs up

    async with raw_server(never_ends) as (srv, url):
        r, _ = await read_to_done(url)
        release_after_body(r)
        await asyncio.wait_for(srv.closed.wait(), 2)


# ------------------------------------------------------------------ cancellation


async def endless(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await srv.read_request(reader)
    writer.write(sse_head())
    while not reader.at_eof():
        writer.write(chunk(b"data: hello\n\n"))
        await writer.drain()
        await asyncio.sleep(0.01)


async def test_a_stream_closed_half_read_closes_its_upstream_connection(transport: str) -> None:
    """How a client's disconnect or a guard's stop cancels the upstream call: the connection goes."""
    async with raw_server(endless) as (srv, url):
        r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        async for data in body_chunks(r):
            assert data.startswith(b"data: hello")
            break
        await r.aclose()
        await asyncio.wait_for(srv.closed.wait(), 2)  # the upstream saw the proxy hang up


async def test_a_stream_closed_half_read_through_the_client_api_closes_its_connection(transport: str) -> None:
    async with raw_server(endless) as (srv, url):
        async with get_client(base_of(url)).stream("POST", url, content=b"{}") as r:
            async for data in r.aiter_bytes():
                assert data.startswith(b"data: hello")
                break
        await asyncio.wait_for(srv.closed.wait(), 2)


async def test_a_call_cancelled_before_the_answer_closes_its_upstream_connection(transport: str) -> None:
    """The connector's first-byte and total timeouts (``asyncio.timeout`` around ``send``), or the
    client going away, cancel the call while it waits for the answer's head."""
    async def silent(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        await reader.read()  # until the client hangs up

    async with raw_server(silent) as (srv, url):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        await asyncio.wait_for(srv.closed.wait(), 2)


# ------------------------------------------------------------------ timeouts and failures


async def test_an_upstream_that_never_answers_is_a_read_timeout(transport: str) -> None:
    async def silent(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(silent) as (_, url):
        with pytest.raises(httpx.ReadTimeout):
            await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=httpx.Timeout(2.0, read=0.3))
        with pytest.raises(httpx.ReadTimeout):  # and through the client API
            await get_client(base_of(url)).post(url, content=b"{}", timeout=httpx.Timeout(2.0, read=0.3))


async def test_a_stream_that_stalls_midway_is_a_read_timeout(transport: str) -> None:
    async def stalls(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(sse_head() + chunk(b"data: {}\n\n"))
        await writer.drain()
        await asyncio.sleep(5)

    async with raw_server(stalls) as (_, url):
        r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=httpx.Timeout(2.0, read=0.3))
        with pytest.raises(httpx.ReadTimeout):
            async for _ in body_chunks(r):
                pass
        await r.aclose()
        c = get_client(base_of(url))  # and through the client API
        async with c.stream("POST", url, content=b"{}", timeout=httpx.Timeout(2.0, read=0.3)) as r:
            with pytest.raises(httpx.ReadTimeout):
                async for _ in r.aiter_bytes():
                    pass


async def test_no_free_connection_in_time_is_a_timeout(transport: str, settings: object) -> None:
    """A pool wait: ``PoolTimeout`` from httpx's pool and the HTTP/1.1 transport; aiohttp counts
    the wait and the connecting as one connect timeout (``ConnectTimeout``)."""
    settings.PROXY_MAX_CONNECTIONS = 1  # type: ignore[attr-defined]
    release = asyncio.Event()

    async def slow(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        await release.wait()
        writer.write(response(b"{}"))
        await writer.drain()

    async with raw_server(slow) as (_, url):
        c = get_client(base_of(url))
        first = asyncio.create_task(c.post(url, content=b"{}"))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.ConnectTimeout if transport == "aiohttp" else httpx.PoolTimeout):
            await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=httpx.Timeout(2.0, pool=0.2))
        release.set()
        assert (await first).status_code == 200


async def test_an_upstream_that_never_finishes_the_tls_handshake_is_a_connect_timeout(transport: str) -> None:
    """The connect timeout covers TCP and TLS: a host that accepts and then says nothing."""
    async def mute(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(mute) as (_, url):
        https = url.replace("http://", "https://")
        with pytest.raises(httpx.ConnectTimeout):
            await send(base_of(https), "POST", https, content=b"{}", headers={},
                       timeout=httpx.Timeout(2.0, connect=0.3, pool=2.0))


async def test_a_refused_connection_is_a_connect_error(transport: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(httpx.ConnectError):
        await send(base, "POST", f"{base}/chat", content=b"{}", headers={}, timeout=TIMEOUTS)


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut", b"NOT HTTP AT ALL\r\n\r\n"])
async def test_a_disconnect_a_truncated_body_or_garbage_is_a_protocol_error(transport: str, reply: bytes) -> None:
    """Not a timeout: the connector answers 502 (bad gateway) for these, 504 for timeouts."""
    async def breaks(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with raw_server(breaks) as (_, url):
        with pytest.raises(httpx.RemoteProtocolError):
            r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
            try:
                await read_body(r)
            finally:
                await r.aclose()


# ------------------------------------------------------------------ TLS


async def test_an_https_upstream_signed_by_the_ca_in_ssl_cert_file_is_trusted(
    transport: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    async with raw_server(keep_answering, tls=tls_for(ca)) as (_, url):
        r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
    assert url.startswith("https://")


async def test_an_https_upstream_with_an_unknown_ca_is_refused(transport: str, ca: trustme.CA) -> None:
    async with raw_server(keep_answering, tls=tls_for(ca)) as (srv, url):
        with pytest.raises(httpx.ConnectError):
            await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
    assert srv.heads == []  # not a byte of the request went to the unverified server


# ------------------------------------------------------------------ proxies from the environment


def test_the_environment_names_the_proxy_per_scheme_and_no_proxy_exempts_hosts(proxy_env: pytest.MonkeyPatch) -> None:
    assert environment_proxy("https://api.openai.com/v1") is None
    proxy_env.setenv("HTTPS_PROXY", "http://corp-proxy:3128")
    proxy_env.setenv("ALL_PROXY", "http://fallback:8080")
    proxy_env.setenv("NO_PROXY", "localhost,.internal.example")
    assert environment_proxy("https://api.openai.com/v1") == "http://corp-proxy:3128"
    assert environment_proxy("http://models.example/v1") == "http://fallback:8080"
    assert environment_proxy("https://llm.internal.example/v1") is None
    assert environment_proxy("http://localhost:11434/v1") is None
    proxy_env.setenv("HTTPS_PROXY", "socks5://corp-proxy:1080")
    assert environment_proxy("https://api.openai.com/v1") is None  # not an HTTP proxy: ignored, with a warning


async def test_upstream_calls_go_through_the_proxy_the_environment_names(
    transport: str, proxy_env: pytest.MonkeyPatch
) -> None:
    async with raw_server(keep_answering) as (proxy_srv, proxy_url):
        proxy_env.setenv("HTTP_PROXY", base_of(proxy_url).replace("http://", "http://corp:s3cret@").rsplit("/v1", 1)[0])
        upstream = "http://upstream.invalid:8080/v1"  # never resolved: the proxy connects to it
        r = await send(upstream, "POST", f"{upstream}/chat/completions", content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
    head = proxy_srv.heads[0]
    assert head.startswith(b"POST http://upstream.invalid:8080/v1/chat/completions HTTP/1.1")
    assert b"proxy-authorization: basic " in head.lower()  # credentials from the URL, sent to the proxy only


async def test_an_https_upstream_is_reached_through_the_proxy_by_a_verified_tunnel(
    transport: str, ca: trustme.CA, tmp_path: Path, proxy_env: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY: a CONNECT tunnel, and TLS with the upstream (verified) through it, so the proxy
    sees where the call goes but not what it says."""
    from tests.fakes.forward_proxy import ForwardProxy

    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    proxy_env.setenv("SSL_CERT_FILE", str(bundle))
    forward = ForwardProxy().start()
    try:
        proxy_env.setenv("HTTPS_PROXY", forward.url.replace("http://", "http://corp:s3cret@"))
        async with raw_server(keep_answering, tls=tls_for(ca)) as (srv, url):
            r = await send(base_of(url), "POST", url, content=b'{"secret":"prompt"}', headers={}, timeout=TIMEOUTS)
            assert orjson.loads(await read_body(r)) == {"ok": True}
            await r.aclose()
            await close_clients()
    finally:
        forward.stop()
    (line, auth), = forward.requests
    assert line == f"CONNECT {url.split('/')[2]} HTTP/1.1".encode()
    assert auth is not None and auth.lower().startswith("basic ")
    assert srv.heads[0].startswith(b"POST /v1/chat HTTP/1.1")  # origin-form, inside the tunnel
    assert b"proxy-authorization" not in srv.heads[0].lower()  # the proxy's credentials stay with the proxy


async def test_a_proxy_that_refuses_the_tunnel_is_a_connect_error(transport: str, proxy_env: pytest.MonkeyPatch) -> None:
    async def refuses(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(refuses) as (_, proxy_url):
        proxy_env.setenv("HTTPS_PROXY", proxy_url.rsplit("/v1", 1)[0])
        with pytest.raises(httpx.ProxyError if transport == "httpx" else httpx.ConnectError, match="407"):
            await send("https://upstream.invalid/v1", "POST", "https://upstream.invalid/v1/chat", content=b"{}",
                       headers={}, timeout=TIMEOUTS)


@pytest.mark.parametrize("bypass", ["no_proxy", "setting"])
async def test_no_proxy_or_proxy_trust_env_off_goes_direct(
    transport: str, bypass: str, proxy_env: pytest.MonkeyPatch, settings: object
) -> None:
    async with raw_server(keep_answering) as (proxy_srv, proxy_url), raw_server(keep_answering) as (srv, url):
        proxy_env.setenv("HTTP_PROXY", proxy_url.rsplit("/v1", 1)[0])
        if bypass == "no_proxy":
            proxy_env.setenv("NO_PROXY", "127.0.0.1")
        else:
            settings.PROXY_TRUST_ENV = False  # type: ignore[attr-defined]
        r = await send(base_of(url), "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
    assert srv.connections == 1 and proxy_srv.connections == 0
