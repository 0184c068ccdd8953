"""A loopback upstream that misbehaves on command, byte by byte.

A raw asyncio server (an HTTP library would refuse to send broken frames) speaking just enough of
each backend's wire protocol — OpenAI Chat Completions (SSE), Anthropic Messages (named SSE events),
Gemini ``generateContent`` / ``streamGenerateContent?alt=sse`` — to answer validly around a fault.

A test scripts the next requests' replies (``MisbehavingUpstream.script``; unscripted requests get a
normal answer) and watches each connection from the upstream's side (``Connection.wait_closed``: when
the proxy closed it). Every response says ``Connection: close``, so one connection is one request.

Replies (module functions returning a ``Reply``): ``ok``, ``error`` (the provider's real error
body and headers), ``reset`` (RST before any byte), ``stall`` (no byte until the proxy leaves),
``frames`` (the opening and N content frames, then reset / stall / close / the provider's error
event), ``raw`` (exact bytes, written in the given pieces), ``huge_json``, ``endless_stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

STALL_LIMIT = 15.0  # no reply waits longer than this for the proxy to give up: everything ends by itself
ENDLESS_LIMIT = 15.0
OPENAI, ANTHROPIC, GEMINI = "openai", "anthropic", "gemini"
TEXT = "Hello from the misbehaving upstream"

# ---------------------------------------------------------------- the wire protocols


def _sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


class Wire:
    """One backend protocol's answers: a whole JSON answer, a stream's opening, content frames and
    closing, its error bodies and its in-stream error event. ``TEXT`` split in words is the content."""

    name = ""
    model = ""

    def answer(self, text: str) -> dict[str, Any]:
        raise NotImplementedError

    def opening(self) -> list[bytes]:
        return []

    def delta(self, text: str) -> bytes:
        raise NotImplementedError

    def closing(self) -> list[bytes]:
        raise NotImplementedError

    def unknown_event(self) -> bytes:
        raise NotImplementedError

    def stream_error(self) -> bytes:
        raise NotImplementedError

    def error(self, status: int, retry_after: float | None) -> tuple[bytes, list[tuple[str, str]]]:
        """The provider's error answer for ``status``: body and headers (``retry_after`` as it sends it)."""
        raise NotImplementedError


class OpenAIWire(Wire):
    name = OPENAI
    model = "gpt-4o-mini"
    MESSAGES = {
        429: ("Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
              "Limit 3, Used 3, Requested 1.", "requests", "rate_limit_exceeded"),
        500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
        503: ("The engine is currently overloaded, please try again later", "server_error", None),
        529: ("The server is overloaded", "server_error", None),
    }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1700000000,
                "model": self.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def answer(self, text: str) -> dict[str, Any]:
        return {"id": "chatcmpl-fault", "object": "chat.completion", "created": 1700000000, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}

    def opening(self) -> list[bytes]:
        return [_sse(self._chunk({"role": "assistant", "content": ""}))]

    def delta(self, text: str) -> bytes:
        return _sse(self._chunk({"content": text}))

    def closing(self) -> list[bytes]:
        usage = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1700000000, "model": self.model,
                 "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
        return [_sse(self._chunk({}, "stop")), _sse(usage), b"data: [DONE]\n\n"]

    def unknown_event(self) -> bytes:
        return _sse({"object": "chat.completion.chunk.annotation", "id": "x", "choices": []}, "annotation")

    def stream_error(self) -> bytes:
        return _sse({"error": {"message": "The server had an error while processing your request.",
                               "type": "server_error", "param": None, "code": None}})

    def error(self, status: int, retry_after: float | None) -> tuple[bytes, list[tuple[str, str]]]:
        if status == 502:
            return CLOUDFLARE_502, [("content-type", "text/html")]
        message, kind, code = self.MESSAGES.get(status, (f"HTTP {status}", "server_error", None))
        headers = [("content-type", "application/json"), ("x-request-id", "req_fault")]
        if retry_after is not None:
            headers.append(("retry-after", f"{retry_after:g}"))
        if status == 429:
            headers.append(("x-ratelimit-remaining-requests", "0"))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return json.dumps(body).encode(), headers


class AnthropicWire(Wire):
    name = ANTHROPIC
    model = "claude-sonnet-4-5"
    TYPES = {429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
             500: ("api_error", "Internal server error"), 503: ("api_error", "Service unavailable"),
             529: ("overloaded_error", "Overloaded")}

    def answer(self, text: str) -> dict[str, Any]:
        return {"id": "msg_fault", "type": "message", "role": "assistant", "model": self.model,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 7}}

    def opening(self) -> list[bytes]:
        message = {**self.answer(""), "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
        return [_sse({"type": "message_start", "message": message}, "message_start"),
                _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                     "content_block_start"),
                _sse({"type": "ping"}, "ping")]

    def delta(self, text: str) -> bytes:
        return _sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                    "content_block_delta")

    def closing(self) -> list[bytes]:
        return [_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": 7}}, "message_delta"),
                _sse({"type": "message_stop"}, "message_stop")]

    def unknown_event(self) -> bytes:
        return _sse({"type": "content_block_sparkle", "index": 0, "sparkle": {"level": 3}}, "content_block_sparkle")

    def stream_error(self) -> bytes:
        return _sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")

    def error(self, status: int, retry_after: float | None) -> tuple[bytes, list[tuple[str, str]]]:
        if status == 502:
            return CLOUDFLARE_502, [("content-type", "text/html")]
        kind, message = self.TYPES.get(status, ("api_error", f"HTTP {status}"))
        headers = [("content-type", "application/json"), ("request-id", "req_fault"),
                   ("x-should-retry", "true")]
        if retry_after is not None:
            headers.append(("retry-after", f"{retry_after:g}"))
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fault"}
        return json.dumps(body).encode(), headers


class GeminiWire(Wire):
    name = GEMINI
    model = "gemini-2.5-flash"
    STATUSES = {429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details."),
                500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
                                  "https://developers.generativeai.google/guide/troubleshooting"),
                503: ("UNAVAILABLE", "The model is overloaded. Please try again later.")}

    def _chunk(self, text: str, finish: str | None = None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": self.model, "responseId": "fault-resp"}
        if finish:
            chunk["usageMetadata"] = {"promptTokenCount": 5, "candidatesTokenCount": 7, "totalTokenCount": 12}
        return chunk

    def answer(self, text: str) -> dict[str, Any]:
        return self._chunk(text, "STOP")

    def delta(self, text: str) -> bytes:
        return _sse(self._chunk(text))

    def closing(self) -> list[bytes]:
        return [_sse(self._chunk("", "STOP"))]

    def unknown_event(self) -> bytes:
        return _sse({"sessionResumptionUpdate": {"newHandle": "h"}, "modelVersion": self.model}, "session_update")

    def stream_error(self) -> bytes:
        return _sse({"error": {"code": 503, "message": "The model is overloaded. Please try again later.",
                               "status": "UNAVAILABLE"}})

    def error(self, status: int, retry_after: float | None) -> tuple[bytes, list[tuple[str, str]]]:
        if status == 502:
            return GOOGLE_502, [("content-type", "text/html; charset=UTF-8")]
        rpc, message = self.STATUSES.get(status, ("INTERNAL", f"HTTP {status}"))
        error: dict[str, Any] = {"code": status, "message": message, "status": rpc}
        if retry_after is not None:  # Gemini says when to retry in the body, not in a header
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after:g}s"}]
        return json.dumps({"error": error}).encode(), [("content-type", "application/json; charset=UTF-8")]


CLOUDFLARE_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
                  b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")
GOOGLE_502 = (b"<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1</title>"
              b"<p><b>502.</b> <ins>That\xe2\x80\x99s an error.</ins><p>The server encountered a temporary error.")

WIRES: dict[str, Wire] = {OPENAI: OpenAIWire(), ANTHROPIC: AnthropicWire(), GEMINI: GeminiWire()}


# ---------------------------------------------------------------- what the upstream saw


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    wire: Wire
    stream: bool


@dataclass
class Connection:
    """One accepted connection as the upstream saw it. ``peer_closed_at`` is when the proxy's end
    closed it (EOF or reset) while the upstream still held it open."""

    accepted_at: float
    request: Request | None = None
    peer_closed_at: float | None = None
    upstream_closed: bool = False
    bytes_sent: int = 0
    _closed: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait_closed(self, timeout: float) -> bool:
        """Whether the proxy closed this connection within ``timeout`` seconds from now."""
        return self._closed.wait(timeout) and self.peer_closed_at is not None


# ---------------------------------------------------------------- replies

Action = Callable[["Stream", Request], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """What to answer one request with; ``label`` names it in test ids."""

    label: str
    act: Action


class Stream:
    """The server's end of one connection: raw writes, HTTP framing, and the peer's close."""

    def __init__(self, writer: asyncio.StreamWriter, conn: Connection, peer_gone: asyncio.Event) -> None:
        self.writer = writer
        self.conn = conn
        self.peer_gone = peer_gone
        self.chunked = False

    async def write(self, data: bytes) -> None:
        if self.peer_gone.is_set():
            raise ConnectionResetError("the proxy went away")
        self.writer.write(data)
        self.conn.bytes_sent += len(data)
        await self.writer.drain()

    async def head(self, status: int, headers: list[tuple[str, str]], *, length: int | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "connection: close",
                 "date: Sun, 06 Dec 2026 08:00:00 GMT", *(f"{n}: {v}" for n, v in headers)]
        if length is None:
            self.chunked = True
            lines.append("transfer-encoding: chunked")
        else:
            lines.append(f"content-length: {length}")
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def body(self, data: bytes) -> None:
        """One piece of the body (one chunk when chunked), written at once."""
        if data:
            await self.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    async def end(self) -> None:
        if self.chunked:
            await self.write(b"0\r\n\r\n")

    async def pause(self) -> None:
        """Long enough for the previous write to reach the proxy as a read of its own."""
        await asyncio.sleep(0.02)

    async def stall(self) -> None:
        """Send nothing more until the proxy closes the connection (or ``STALL_LIMIT`` passes)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.peer_gone.wait(), STALL_LIMIT)

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0)."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


REASONS = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 529: "Site is overloaded"}
SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
JSON_HEADERS = [("content-type", "application/json")]


def words(text: str = TEXT) -> list[str]:
    first, *rest = text.split(" ")
    return [first, *(f" {w}" for w in rest)]


async def _answer(out: Stream, req: Request, text: str = TEXT) -> None:
    wire = req.wire
    if not req.stream:
        body = json.dumps(wire.answer(text)).encode()
        await out.head(200, JSON_HEADERS, length=len(body))
        await out.write(body)
        return
    await out.head(200, SSE_HEADERS)
    for frame in [*wire.opening(), *(wire.delta(w) for w in words(text)), *wire.closing()]:
        await out.body(frame)
    await out.end()


def ok(text: str = TEXT) -> Reply:
    """A normal, valid answer (streamed when the request asked for a stream)."""
    return Reply("ok", lambda out, req: _answer(out, req, text))


def error(status: int, *, retry_after: float | None = None) -> Reply:
    """The provider's own error answer for ``status`` (``retry_after`` as the provider sends it)."""

    async def act(out: Stream, req: Request) -> None:
        sent = 503 if status == 529 and req.wire.name == GEMINI else status  # Google's "overloaded" is a 503
        body, headers = req.wire.error(sent, retry_after)
        await out.head(sent, headers, length=len(body))
        await out.write(body)

    return Reply(f"http{status}{'-retry' if retry_after is not None else ''}", act)


def error_cut_off(status: int) -> Reply:
    """The provider's error answer for ``status``, reset after its first bytes."""

    async def act(out: Stream, req: Request) -> None:
        body, headers = req.wire.error(status, None)
        await out.head(status, headers, length=len(body))
        await out.write(body[:10])
        await out.pause()
        out.reset()

    return Reply(f"http{status}-cut-off", act)


def reset() -> Reply:
    """Read the request, then reset the connection before sending a byte."""

    async def act(out: Stream, req: Request) -> None:
        out.reset()

    return Reply("reset-before-headers", act)


def stall() -> Reply:
    """Read the request and send nothing until the proxy gives up."""

    async def act(out: Stream, req: Request) -> None:
        await out.stall()

    return Reply("stall-before-first-byte", act)


def delayed(seconds: float, reply: Reply) -> Reply:
    """``reply``, after ``seconds`` of silence (a slow first byte)."""

    async def act(out: Stream, req: Request) -> None:
        await asyncio.sleep(seconds)
        await reply.act(out, req)

    return Reply(f"{reply.label}-after-{seconds:g}s", act)


def trickle(gap: float) -> Reply:
    """A normal answer sent a few bytes at a time, ``gap`` seconds apart: never idle for long, but slow."""

    async def act(out: Stream, req: Request) -> None:
        wire = req.wire
        if req.stream:
            await out.head(200, SSE_HEADERS)
            pieces = [*wire.opening(), *(wire.delta(w) for w in words()), *wire.closing()]
        else:
            body = json.dumps(wire.answer(TEXT)).encode()
            await out.head(200, JSON_HEADERS, length=len(body))
            pieces = [body[i:i + 16] for i in range(0, len(body), 16)]
        for piece in pieces:
            await out.body(piece)
            await asyncio.sleep(gap)
        await out.end()

    return Reply(f"trickle-{gap:g}s", act)


def frames(count: int, then: str) -> Reply:
    """A 200, the stream's opening and ``count`` content frames (pausing after each), then ``then``:
    ``reset`` (RST), ``stall`` (silence until the proxy leaves), ``close`` (FIN without the chunked
    terminator) or ``error_event`` (the provider's in-stream error event, then a proper end)."""

    async def act(out: Stream, req: Request) -> None:
        wire = req.wire
        await out.head(200, SSE_HEADERS)
        for frame in [*wire.opening(), *(wire.delta(w) for w in words()[:count])]:
            await out.body(frame)
            await out.pause()
        if then == "reset":
            out.reset()
        elif then == "stall":
            await out.stall()
        elif then == "close":
            out.writer.close()
        elif then == "error_event":
            await out.body(wire.stream_error())
            await out.end()
        else:
            raise ValueError(then)

    return Reply(f"{then}-after-{count}-frames", act)


def raw(label: str, pieces: Callable[[Wire], list[bytes]], *, stream: bool = True) -> Reply:
    """A 200 whose body is exactly ``pieces(wire)``, each written (as its own chunk when streamed)
    and given time to arrive as a read of its own."""

    async def act(out: Stream, req: Request) -> None:
        parts = pieces(req.wire)
        if stream:
            await out.head(200, SSE_HEADERS)
            for piece in parts:
                await out.body(piece)
                await out.pause()
            await out.end()
            return
        body = b"".join(parts)
        await out.head(200, JSON_HEADERS, length=len(body))
        for piece in parts:
            await out.write(piece)
            await out.pause()

    return Reply(label, act)


def huge_json(size: int) -> Reply:
    """A 200 announcing a ``size``-byte JSON answer (one enormous text) and sending it in 1 MB writes
    for as long as the proxy reads."""

    async def act(out: Stream, req: Request) -> None:
        head, _, tail = json.dumps(req.wire.answer("@@")).encode().partition(b"@@")
        filler = size - len(head) - len(tail)
        await out.head(200, JSON_HEADERS, length=size)
        await out.write(head)
        block = b"x" * (1 << 20)
        while filler > 0:
            await out.write(block[:filler])
            filler -= len(block)
        await out.write(tail)

    return Reply(f"huge-json-{size >> 20}MB", act)


def endless_stream(*, one_line: bool = False) -> Reply:
    """A stream that never ends: content frames (or, ``one_line``, one event whose line never ends)
    as fast as the proxy takes them, until it leaves or ``ENDLESS_LIMIT`` passes."""

    async def act(out: Stream, req: Request) -> None:
        wire = req.wire
        await out.head(200, SSE_HEADERS)
        for frame in wire.opening():
            await out.body(frame)
        deadline = time.monotonic() + ENDLESS_LIMIT
        if one_line:
            await out.body(b"data: ")
        n = 0
        while time.monotonic() < deadline:
            if one_line:
                await out.body(b"y" * 65536)
            else:  # every word new: a text that never repeats itself (no loop guard halts it)
                await out.body(b"".join(wire.delta(f" more{n + i}") for i in range(64)))
                n += 64
            await asyncio.sleep(0)

    return Reply("endless-line" if one_line else "endless-stream", act)


# ---------------------------------------------------------------- the server


class MisbehavingUpstream:
    """The server, in a thread of its own on a free loopback port."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    def start(self) -> MisbehavingUpstream:
        ready = threading.Event()

        async def main() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            self._loop.run_until_complete(main())
            self._loop.run_forever()

        threading.Thread(target=run, name="misbehaving-upstream", daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the misbehaving upstream did not start")
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.connections.clear()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order; requests after them get ``ok()``."""
        with self._lock:
            self._script.extend(replies)

    def requests(self) -> list[Request]:
        with self._lock:
            return [c.request for c in self.connections if c.request is not None]

    def wait_for_connection(self, count: int = 1, timeout: float = 5.0) -> Connection:
        """The ``count``-th connection that sent a whole request, once it has."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                served = [c for c in self.connections if c.request is not None]
            if len(served) >= count:
                return served[count - 1]
            time.sleep(0.005)
        raise AssertionError(f"the upstream saw {len(served)} requests, not {count}, within {timeout}s")

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.pop(0) if self._script else ok()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Connection(time.monotonic())
        with self._lock:
            self.connections.append(conn)
        peer_gone = asyncio.Event()
        watcher: asyncio.Task[None] | None = None
        try:
            request = await _read_request(reader)
            if request is None:
                return
            conn.request = request
            watcher = asyncio.create_task(_watch_peer(reader, conn, peer_gone))
            with contextlib.suppress(ConnectionError):
                await self._next_reply().act(Stream(writer, conn, peer_gone), request)
            if not writer.transport.is_closing():
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await asyncio.sleep(0)  # a close the proxy made at the same time is the proxy's
            if watcher is not None:
                watcher.cancel()
            if conn.peer_closed_at is None:
                conn.upstream_closed = True
            conn._closed.set()
            writer.close()
            self._tasks.discard(task)


async def _watch_peer(reader: asyncio.StreamReader, conn: Connection, peer_gone: asyncio.Event) -> None:
    """Read until the proxy's end closes (EOF or reset): that moment is ``peer_closed_at``."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    conn.peer_closed_at = time.monotonic()
    peer_gone.set()
    conn._closed.set()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    raw_body = await reader.readexactly(int(headers.get("content-length", "0")))
    body = json.loads(raw_body) if raw_body else None
    path = target.split("?", 1)[0]
    if path.endswith("/chat/completions"):
        wire, stream = WIRES[OPENAI], bool(body and body.get("stream"))
    elif path.endswith("/messages"):
        wire, stream = WIRES[ANTHROPIC], bool(body and body.get("stream"))
    else:
        wire, stream = WIRES[GEMINI], ":streamGenerateContent" in path
    return Request(method, target, headers, body, wire, stream)


# ---------------------------------------------------------------- ports that misbehave before HTTP


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Blackhole:
    """A loopback port whose accept queue is full: a connection attempt gets no answer (the SYN is
    dropped), so only a connect timeout ends it. ``close()`` when done."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = int(self.listener.getsockname()[1])
        self.fillers: list[socket.socket] = []
        for _ in range(8):  # fill the queue until a connect no longer completes
            filler = socket.socket()
            filler.setblocking(False)
            self.fillers.append(filler)
            if filler.connect_ex(("127.0.0.1", self.port)) != 0:
                try:
                    filler.settimeout(0.2)
                    filler.connect(("127.0.0.1", self.port))
                except (TimeoutError, BlockingIOError, OSError):
                    break

    def close(self) -> None:
        for sock in [*self.fillers, self.listener]:
            sock.close()
