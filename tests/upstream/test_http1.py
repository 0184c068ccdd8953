"""The project's own HTTP/1.1 transport (``PROXY_UPSTREAM_TRANSPORT=own``) against raw loopback
servers that misbehave on purpose: its pool and its HTTP/1.1 handling. What every transport must do
behind the seam is in ``test_seam.py``."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest

from proxy_app.upstream import http1
from proxy_app.upstream.client import close_clients, no_cookies, read_body, send
from proxy_app.upstream.http1 import Http1Transport, parse_target
from tests.upstream.conftest import TIMEOUTS, RawServer, base_of, keep_answering, raw_server, response


@pytest.fixture(autouse=True)
def own_transport(settings: object) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT = "own"  # type: ignore[attr-defined]  # for the tests through send()


@asynccontextmanager
async def client(max_connections: int = 10) -> AsyncIterator[httpx.AsyncClient]:
    """A client built as the proxy builds its shared ones."""
    async with httpx.AsyncClient(transport=Http1Transport(max_connections=max_connections), timeout=TIMEOUTS,
                                 cookies=no_cookies()) as c:
        yield c


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
        r = await send(base_of(url), "POST", url + "?beta=true", content=b'{"q":1}',
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
    monkeypatch.setattr(http1, "KEEPALIVE_SECONDS", 0.1)
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


async def test_a_whole_body_left_unread_still_gives_its_connection_back() -> None:
    body = b"x" * (300 * 1024)  # past the read-ahead, so reading pauses as the last bytes arrive

    async def big_then_small(srv: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await srv.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        await keep_answering(srv, reader, writer)

    async with raw_server(big_then_small) as (srv, url):
        base = base_of(url)
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
    assert parse_target("https://[::1]:8443/v1").origin.host_port == "[::1]:8443"
    assert parse_target("https://[::1]:8443/v1").origin.authority == "[::1]:8443"
    assert parse_target("https://[::1]/v1").origin.authority == "[::1]"
    assert parse_target("http://example.com:80/v1").origin.authority == "example.com"
