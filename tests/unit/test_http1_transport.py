"""The HTTP/1.1 upstream transport against raw loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
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
    no_cookies,
    read_body,
    release_after_body,
    send,
)
from proxy_app.upstream.http1 import Http1Transport, default_ssl_context

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUTS = httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)


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
            await self.handler(reader, writer)
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
async def raw_server(handler: Callable[[RawServer, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                     tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[RawServer, str]]:
    srv = RawServer(lambda r, w: handler(srv, r, w))
    server = await asyncio.start_server(srv.serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield srv, f"{'https' if tls else 'http'}://127.0.0.1:{port}/v1/chat"
    finally:
        server.close()


@asynccontextmanager
async def client(max_connections: int = 10) -> AsyncIterator[httpx.AsyncClient]:
    """A client built as the proxy builds its shared ones."""
    async with httpx.AsyncClient(transport=Http1Transport(max_connections=max_connections), timeout=TIMEOUTS,
                                 cookies=no_cookies()) as c:
        yield c


def response(body: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"Content-Type: application/json",
                         b"Content-Length: %d" % len(body), *extra, b"", body])


async def keep_answering(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            await srv.read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(response(b'{"ok":true}', b"Set-Cookie: session=secret-of-client-a; Path=/"))
        await writer.drain()


async def test_answers_reuse_one_connection_and_never_replay_cookies() -> None:
    async with raw_server(keep_answering) as (srv, url), client() as c:
        for _ in range(3):
            r = await c.post(url, content=b'{"q":1}', headers={"Authorization": "Bearer sk-test"})
            assert r.status_code == 200 and r.json() == {"ok": True}
            assert r.headers["content-type"] == "application/json"
    assert srv.connections == 1
    assert all(b"cookie:" not in head.lower() for head in srv.heads)
    assert b"authorization: bearer sk-test" in srv.heads[0].lower()


async def test_the_hot_path_send_sends_no_cookies_either() -> None:
    async with raw_server(keep_answering) as (srv, url):
        base = url.rsplit("/", 1)[0]
        for _ in range(2):
            r = await send(base, "POST", url, content=b"{}", headers={"content-type": "application/json"},
                           timeout=TIMEOUTS)
            assert orjson.loads(await r.aread()) == {"ok": True}
            await r.aclose()
        await close_clients()
    assert srv.connections == 1 and len(srv.heads) == 2
    assert all(b"cookie:" not in head.lower() for head in srv.heads)


async def test_a_gzip_body_is_decoded_by_httpx() -> None:
    packed = gzip.compress(b'{"text":"' + b"x" * 5000 + b'"}')

    async def gzipped(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(response(packed, b"Content-Encoding: gzip"))
        await writer.drain()

    async with raw_server(gzipped) as (_, url), client() as c:
        r = await c.post(url, content=b"{}")
    assert r.json()["text"] == "x" * 5000


async def test_read_body_decodes_a_gzip_body_and_passes_a_plain_one_through() -> None:
    packed = gzip.compress(b'{"text":"zipped"}')

    async def both(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for body in (response(packed, b"Content-Encoding: gzip"), response(b'{"text":"plain"}')):
            await srv.read_request(reader)
            writer.write(body)
            await writer.drain()

    async with raw_server(both) as (_, url):
        base = url.rsplit("/", 1)[0]
        for expected in ("zipped", "plain"):
            r = await send(base, "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
            assert orjson.loads(await read_body(r)) == {"text": expected}
            await r.aclose()
        await close_clients()


def sse_head_and_done() -> bytes:
    done = b"data: [DONE]\n\n"
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(done), done)


async def read_to_done(url: str) -> httpx.Response:
    """Send one request on the shared client and read its body up to [DONE], as the SSE reader does."""
    r = await send(url.rsplit("/", 1)[0], "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
    async for chunk in body_chunks(r):
        if b"[DONE]" in chunk:
            break
    return r


async def test_a_body_read_to_done_gives_its_connection_back_once_its_end_arrives() -> None:
    async def late_end(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await srv.read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(sse_head_and_done())
            await writer.drain()
            await asyncio.sleep(0.05)  # the chunked terminator comes later, as over a network
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with raw_server(late_end) as (srv, url):
        for _ in range(2):
            release_after_body(await read_to_done(url))
            await asyncio.sleep(0.2)
        await close_clients()
    assert srv.connections == 1


async def test_a_body_that_does_not_end_after_done_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_client, "DRAIN_SECONDS", 0.1)

    async def never_ends(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(sse_head_and_done())
        await writer.drain()
        await reader.read()  # until the client hangs up

    async with raw_server(never_ends) as (srv, url):
        release_after_body(await read_to_done(url))
        await asyncio.wait_for(srv.closed.wait(), 2)
        await close_clients()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


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


async def test_upstream_calls_go_through_the_proxy_the_environment_names(proxy_env: pytest.MonkeyPatch) -> None:
    async with raw_server(keep_answering) as (proxy_srv, proxy_url):
        proxy_env.setenv("HTTP_PROXY", proxy_url.replace("http://", "http://corp:s3cret@").rsplit("/v1", 1)[0])
        upstream = "http://upstream.invalid:8080/v1"  # never resolved: the proxy connects to it
        r = await send(upstream, "POST", f"{upstream}/chat/completions", content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
        await close_clients()
    head = proxy_srv.heads[0]
    assert head.startswith(b"POST http://upstream.invalid:8080/v1/chat/completions HTTP/1.1")
    assert b"proxy-authorization: basic " in head.lower()  # credentials from the URL, sent to the proxy only


@pytest.mark.parametrize("bypass", ["no_proxy", "setting"])
async def test_no_proxy_or_proxy_trust_env_off_goes_direct(
    bypass: str, proxy_env: pytest.MonkeyPatch, settings: object
) -> None:
    async with raw_server(keep_answering) as (proxy_srv, proxy_url), raw_server(keep_answering) as (srv, url):
        proxy_env.setenv("HTTP_PROXY", proxy_url.rsplit("/v1", 1)[0])
        if bypass == "no_proxy":
            proxy_env.setenv("NO_PROXY", "127.0.0.1")
        else:
            settings.PROXY_TRUST_ENV = False  # type: ignore[attr-defined]
        r = await send(url.rsplit("/", 1)[0], "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
        await close_clients()
    assert srv.connections == 1 and proxy_srv.connections == 0


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with client() as c:
        with pytest.raises(httpx.ConnectError):
            await c.post(f"http://127.0.0.1:{port}/v1/chat", content=b"{}")


async def test_an_upstream_that_never_answers_is_a_read_timeout() -> None:
    async def silent(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        await asyncio.sleep(5)

    async with raw_server(silent) as (_, url), client() as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(url, content=b"{}", timeout=httpx.Timeout(2.0, read=0.3))


async def test_a_body_that_stalls_midway_is_a_read_timeout() -> None:
    async def stalls(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"6\r\ndata: \r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with raw_server(stalls) as (_, url), client() as c:
        async with c.stream("POST", url, content=b"{}", timeout=httpx.Timeout(2.0, read=0.3)) as r:
            with pytest.raises(httpx.ReadTimeout):
                async for _ in r.aiter_bytes():
                    pass


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut", b"NOT HTTP AT ALL\r\n\r\n"])
async def test_a_disconnect_a_truncated_body_or_garbage_is_a_protocol_error(reply: bytes) -> None:
    async def breaks(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(reply)
        await writer.drain()

    async with raw_server(breaks) as (_, url), client() as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(url, content=b"{}")


async def test_a_stream_closed_half_read_closes_its_connection() -> None:
    async def endless(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not reader.at_eof():
            writer.write(b"5\r\nhello\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)

    async with raw_server(endless) as (srv, url), client() as c:
        async with c.stream("POST", url, content=b"{}") as r:
            async for chunk in r.aiter_bytes():
                assert chunk.startswith(b"hello")
                break
        await asyncio.wait_for(srv.closed.wait(), 2)  # the server saw the proxy hang up


async def test_no_free_connection_in_the_pool_timeout_is_a_connect_timeout() -> None:
    release = asyncio.Event()

    async def slow(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        await release.wait()
        writer.write(response(b"{}"))
        await writer.drain()

    async with raw_server(slow) as (_, url), client(max_connections=1) as c:
        first = asyncio.create_task(c.post(url, content=b"{}"))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await c.post(url, content=b"{}", timeout=httpx.Timeout(2.0, pool=0.2))
        release.set()
        assert (await first).status_code == 200


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


async def test_an_https_upstream_signed_by_the_ca_in_ssl_cert_file_is_trusted(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    async with raw_server(keep_answering, tls=tls_for(ca)) as (_, url), client() as c:
        r = await c.post(url, content=b"{}")
    assert url.startswith("https://") and r.json() == {"ok": True}


async def test_an_https_upstream_with_an_unknown_ca_is_refused(ca: trustme.CA) -> None:
    async with raw_server(keep_answering, tls=tls_for(ca)) as (srv, url), client() as c:
        with pytest.raises(httpx.ConnectError):
            await c.post(url, content=b"{}")
    assert srv.heads == []  # not a byte of the request went to the unverified server


async def test_an_https_upstream_is_reached_through_the_proxy_by_a_verified_tunnel(
    ca: trustme.CA, tmp_path: Path, proxy_env: pytest.MonkeyPatch
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
            base = url.rsplit("/", 1)[0]
            r = await send(base, "POST", url, content=b'{"secret":"prompt"}', headers={}, timeout=TIMEOUTS)
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


# ------------------------------------------------------------------ the transport's own HTTP/1.1 handling


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def one_per_connection(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(response(b'{"ok":true}'))  # keep-alive by HTTP/1.1's default, then closed anyway
        await writer.drain()

    async with raw_server(one_per_connection) as (srv, url), client() as c:
        for _ in range(3):
            assert (await c.post(url, content=b"{}")).json() == {"ok": True}
            await asyncio.wait_for(srv.closed.wait(), 2)
            srv.closed.clear()
            await asyncio.sleep(0.05)  # the FIN has reached the pool
    assert srv.connections == 3


async def test_a_connection_that_speaks_while_idle_is_dropped() -> None:
    async def says_goodbye(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(response(b'{"ok":true}'))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")  # unasked: the connection is done
        await writer.drain()
        await keep_answering(srv, reader, writer)

    async with raw_server(says_goodbye) as (srv, url), client() as c:
        assert (await c.post(url, content=b"{}")).status_code == 200
        await asyncio.sleep(0.15)
        second = await c.post(url, content=b"{}")
    assert second.status_code == 200 and second.json() == {"ok": True}
    assert srv.connections == 2


@pytest.mark.parametrize("closing", [b"Connection: close", b""])
async def test_a_body_that_ends_with_the_connection_is_read_whole(closing: bytes) -> None:
    async def no_length(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + closing + b"\r\n\r\n" + b'{"ok":')
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"true}")
        await writer.drain()

    async with raw_server(no_length) as (srv, url), client() as c:
        assert (await c.post(url, content=b"{}")).json() == {"ok": True}
        assert (await c.post(url, content=b"{}")).json() == {"ok": True}
    assert srv.connections == 2  # such a connection is never reused


async def test_a_large_body_read_slowly_arrives_whole_and_in_order() -> None:
    body = bytes(range(256)) * 16384  # 4 MiB: more than the read-ahead, so reading pauses and resumes

    async def big(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 65536):
            writer.write(body[i:i + 65536])
            await writer.drain()
        await keep_answering(srv, reader, writer)

    async with raw_server(big) as (srv, url), client() as c:
        async with c.stream("POST", url, content=b"{}") as r:
            received = bytearray()
            async for chunk in r.aiter_raw():
                received += chunk
                await asyncio.sleep(0.001)
        assert bytes(received) == body
        assert (await c.post(url, content=b"{}")).json() == {"ok": True}
    assert srv.connections == 1


async def test_an_interim_100_continue_is_skipped() -> None:
    async def continues(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + response(b'{"ok":true}', b"X-Real: yes"))
        await writer.drain()

    async with raw_server(continues) as (_, url), client() as c:
        r = await c.post(url, content=b"{}")
    assert r.status_code == 200 and r.headers["x-real"] == "yes" and r.json() == {"ok": True}


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    async with raw_server(keep_answering) as (srv, url), client() as c:
        with pytest.raises(httpx.LocalProtocolError):
            await c.post(url, content=b"{}", headers={"x-note": "a\r\nx-injected: 1"})
    assert srv.heads == []


async def test_the_request_head_carries_host_length_and_defaults_once() -> None:
    async with raw_server(keep_answering) as (srv, url):
        base = url.rsplit("/", 1)[0]
        r = await send(base, "POST", url + "?beta=true", content=b'{"q":1}',
                       headers={"Content-Length": "999", "Host": "evil.example", "User-Agent": "mine/1"},
                       timeout=TIMEOUTS)
        await read_body(r)
        await r.aclose()
        await close_clients()
    lines = srv.heads[0].decode().lower().split("\r\n")
    assert lines[0] == "post /v1/chat?beta=true http/1.1"
    port = url.split(":")[2].split("/")[0]
    assert [ln for ln in lines if ln.startswith("host:")] == [f"host: 127.0.0.1:{port}"]
    assert [ln for ln in lines if ln.startswith("content-length:")] == ["content-length: 7"]
    assert [ln for ln in lines if ln.startswith("user-agent:")] == ["user-agent: mine/1"]
    assert "accept-encoding: gzip, deflate" in lines


async def test_idle_connections_are_closed_after_the_keep_alive_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from proxy_app.upstream import http1 as http1_transport

    monkeypatch.setattr(http1_transport, "KEEPALIVE_SECONDS", 0.1)
    async with raw_server(keep_answering) as (srv, url), client() as c:
        assert (await c.post(url, content=b"{}")).status_code == 200
        await asyncio.wait_for(srv.closed.wait(), 2)  # the pool hung up on its own
        assert (await c.post(url, content=b"{}")).status_code == 200
    assert srv.connections == 2


async def test_at_the_connection_limit_an_idle_connection_elsewhere_makes_room() -> None:
    async with raw_server(keep_answering) as (first, url_a), raw_server(keep_answering) as (_, url_b), \
            client(max_connections=1) as c:
        assert (await c.post(url_a, content=b"{}")).status_code == 200
        assert (await c.post(url_b, content=b"{}", timeout=httpx.Timeout(2.0, pool=0.2))).status_code == 200
        await asyncio.wait_for(first.closed.wait(), 2)


async def test_a_proxy_that_refuses_the_tunnel_is_a_connect_error(proxy_env: pytest.MonkeyPatch) -> None:
    async def refuses(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(refuses) as (_, proxy_url):
        proxy_env.setenv("HTTPS_PROXY", proxy_url.rsplit("/v1", 1)[0])
        with pytest.raises(httpx.ConnectError, match="407"):
            await send("https://upstream.invalid/v1", "POST", "https://upstream.invalid/v1/chat", content=b"{}",
                       headers={}, timeout=TIMEOUTS)
        await close_clients()


async def test_a_whole_body_left_unread_still_gives_its_connection_back() -> None:
    body = b"x" * (300 * 1024)  # past the read-ahead, so reading pauses as the last bytes arrive

    async def big_then_small(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        await keep_answering(srv, reader, writer)

    async with raw_server(big_then_small) as (srv, url):
        base = url.rsplit("/", 1)[0]
        r = await send(base, "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        await asyncio.sleep(0.2)  # all of it arrives; none of it is read
        await r.aclose()
        r = await send(base, "POST", url, content=b"{}", headers={}, timeout=TIMEOUTS)
        assert orjson.loads(await read_body(r)) == {"ok": True}
        await r.aclose()
        await close_clients()
    assert srv.connections == 1


async def test_a_request_waiting_for_room_takes_the_connection_given_back_to_the_pool() -> None:
    async def answers_slowly(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await srv.read_request(reader)
            except asyncio.IncompleteReadError:
                return
            await asyncio.sleep(0.2)
            writer.write(response(b'{"ok":true}'))
            await writer.drain()

    async with raw_server(answers_slowly) as (srv, url), client(max_connections=1) as c:
        started = asyncio.get_running_loop().time()
        both = await asyncio.gather(*(c.post(url, content=b"{}", timeout=httpx.Timeout(5.0, pool=3.0))
                                      for _ in range(2)))
        elapsed = asyncio.get_running_loop().time() - started
    assert [r.status_code for r in both] == [200, 200]
    assert srv.connections == 1 and elapsed < 1.0  # the second went as soon as the first was done


async def test_a_reset_during_a_body_that_ends_with_the_connection_is_an_error() -> None:
    import struct

    async def resets(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart of it")
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        writer.transport.abort()

    async with raw_server(resets) as (_, url), client() as c:
        with pytest.raises(httpx.ReadError):
            await c.post(url, content=b"{}")


async def test_bytes_after_a_response_are_not_read_as_its_body_and_end_the_connection() -> None:
    async def chatty(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(response(b'{"ok":true}') + b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 4\r\n\r\nbye!")
        await writer.drain()
        await keep_answering(srv, reader, writer)

    async with raw_server(chatty) as (srv, url), client() as c:
        assert (await c.post(url, content=b"{}")).content == b'{"ok":true}'
        assert (await c.post(url, content=b"{}")).json() == {"ok": True}
    assert srv.connections == 2


def test_ipv6_hosts_are_bracketed_in_the_host_header_and_a_tunnel_target() -> None:
    from proxy_app.upstream.http1 import parse_target

    assert parse_target("https://[::1]:8443/v1").origin.host_port == "[::1]:8443"
    assert parse_target("https://[::1]:8443/v1").origin.authority == "[::1]:8443"
    assert parse_target("https://[::1]/v1").origin.authority == "[::1]"
    assert parse_target("http://example.com:80/v1").origin.authority == "example.com"
