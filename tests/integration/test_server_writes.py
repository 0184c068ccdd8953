"""Responses from the real ``runproxy`` reach a client whole, however slowly it reads, on either server.

runproxy's Daphne sends each response from the end of the event loop's turn instead of waiting
for the socket to be reported writable (``daphne_tuning.CoalescingServer``); only what the
socket cannot take yet waits for writability. Its uvicorn holds a response's head back until the
first body message (``uvicorn_tuning.CoalescingCycle``). These tests make the socket refuse: a
client with a tiny receive buffer that does not read for a while, then reads slowly."""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Fakes
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env

pytestmark = pytest.mark.slow


@pytest.fixture(params=["daphne", "uvicorn"])
def proxy(request: pytest.FixtureRequest, tmp_path: Path, fakes: Fakes) -> Iterator[ProxyProcess]:
    fakes.openai.reset()
    proc = ProxyProcess(proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-writes-000000000000000001",
                                  LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY), "--server", request.param)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def chat_request(text: str, *, stream: bool = False, close: bool = False) -> bytes:
    body = json.dumps({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": text}]}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {PROXY_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n")
    return head.encode() + body


def slow_client(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small TCP window
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    return sock


def read_response(sock: socket.socket, *, pause_every: int = 0) -> tuple[bytes, bytes, bytes]:
    """One Content-Length response: (head, body, bytes after it). ``pause_every`` sleeps a little
    after each that many reads, so the server keeps finding the socket full."""
    data, reads = b"", 0
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(rest)} of {length} body bytes"
        rest += chunk
        reads += 1
        if pause_every and reads % pause_every == 0:
            time.sleep(0.01)
    return head, rest[:length], rest[length:]


def test_a_large_response_reaches_a_slow_reader_whole_and_the_connection_is_reused(proxy: ProxyProcess) -> None:
    text = secrets.token_hex(750_000)  # 1.5 MB, far more than the socket buffers hold; no repeats to look like a loop
    with slow_client(proxy.port) as sock:
        sock.sendall(chat_request(text))
        time.sleep(0.5)  # not reading: the server's send buffer fills and its writes come back partial
        head, body, rest = read_response(sock, pause_every=8)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert json.loads(body)["choices"][0]["message"]["content"] == f"Hello from the fake provider! You said: {text}"
        assert rest == b""

        sock.sendall(chat_request("and again", close=True))  # the same connection, then closed by the server
        head, body, rest = read_response(sock)
        assert json.loads(body)["choices"][0]["message"]["content"].endswith("You said: and again")
        assert rest + sock.recv(65536) == b"", "the server closes the connection after a Connection: close answer"


def test_a_large_stream_reaches_a_slow_reader_whole(proxy: ProxyProcess) -> None:
    text = secrets.token_hex(250_000)
    with slow_client(proxy.port) as sock:
        sock.sendall(chat_request(text, stream=True, close=True))
        time.sleep(0.5)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            time.sleep(0.001)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower(), head
    events = dechunk(body).split(b"\n\n")
    deltas = [json.loads(e[6:]) for e in events if e.startswith(b"data: {")]
    assert events[-2:] == [b"data: [DONE]", b""]
    assert "".join(d["choices"][0]["delta"].get("content") or "" for d in deltas if d["choices"]).endswith(text)


def dechunk(body: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol], 16)
        if size == 0:
            return out
        out += body[eol + 2:eol + 2 + size]
        pos = eol + 4 + size


def test_a_client_that_hangs_up_mid_stream_leaves_the_server_serving(proxy: ProxyProcess) -> None:
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as sock:
            sock.sendall(chat_request("[[slow]] tell me", stream=True))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as sock:
        sock.sendall(chat_request("still there?", close=True))
        _, body, _ = read_response(sock)
    assert json.loads(body)["choices"][0]["message"]["content"].endswith("You said: still there?")
    assert "Traceback" not in proxy.stop()
