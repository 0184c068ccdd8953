"""A forward HTTP proxy on loopback, in its own thread: what a corporate ``HTTP_PROXY`` points at.

It takes absolute-form requests (``POST http://host:port/path HTTP/1.1``) and, for HTTPS
upstreams, tunnels (``CONNECT host:port HTTP/1.1``, then TLS end to end through it). It records
each request line and its ``Proxy-Authorization``, and relays the connection to ``host:port`` on
127.0.0.1 (``host`` itself need not resolve), streaming both ways until either side closes.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse


class ForwardProxy:
    def __init__(self) -> None:
        self.requests: list[tuple[bytes, str | None]] = []  # (request line, Proxy-Authorization)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="forward-proxy", daemon=True)

    def start(self) -> ForwardProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _close(self) -> None:
        self._server.close()
        relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()
            return
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.split(b" ")
        auth = next((line.split(b":", 1)[1].strip().decode() for line in rest.split(b"\r\n")
                     if line.lower().startswith(b"proxy-authorization:")), None)
        self.requests.append((request_line, auth))
        if method == b"CONNECT":
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", int(target.rpartition(b":")[2]))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        url = urllib.parse.urlsplit(target.decode())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", url.port)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        up_writer.write(b" ".join([method, path.encode(), version]) + b"\r\n" + rest)
        # The relay carries this connection's later requests unchanged: a client keeps one
        # kept-alive connection per proxy, and these tests send every request to one upstream.
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()
