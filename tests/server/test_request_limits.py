"""Under the real server (``runproxy``, Daphne), a request over the header or body limits gets a 431 or
413 in its client's protocol, not a dropped connection or a bare 400."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Fakes
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env

BODY_LIMIT = 100_000
pytestmark = pytest.mark.slow  # one runproxy start-up, a few seconds


@pytest.fixture(scope="module")
def daphne(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> Iterator[ProxyProcess]:
    tmp = Path(tmp_path_factory.mktemp("limits"))
    proc = ProxyProcess(proxy_env(tmp, fakes, OPENAI_API_KEY="sk-limits-key-0000000000000001",
                                  LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY, MAX_REQUEST_BODY_BYTES=str(BODY_LIMIT)))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def exchange(proc: ProxyProcess, head: bytes, body: bytes = b"", *, send_all: bool = True) -> tuple[int, dict[str, Any]]:
    """Send a raw request and read the answer to the end of the connection: (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
        try:
            sock.sendall(head + (body if send_all else b""))
        except (BrokenPipeError, ConnectionResetError):  # the server answered and closed mid-upload
            pass
        answer = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    headers, _, content = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in headers.lower()
    return int(status_line.split()[1]), json.loads(content)


def request_head(path: str, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {PROXY_KEY}",
             "Content-Type: application/json", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("path, shape", [
    ("/v1/chat/completions", "openai"),
    ("/v1/messages", "anthropic"),
    ("/anthropic/v1/messages?beta=true", "anthropic"),
    ("/v1beta/models/gemini-2.5-flash:generateContent", "gemini"),
])
def test_a_64_kib_header_gets_a_431_in_the_paths_protocol(daphne: ProxyProcess, path: str, shape: str) -> None:
    status, body = exchange(daphne, request_head(path, "X-Huge: " + "a" * 65536, "Content-Length: 2"), b"{}")
    assert status == 431
    if shape == "openai":
        assert body["error"]["type"] == "invalid_request_error" and "32768 bytes" in body["error"]["message"]
    elif shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    else:
        assert body["error"]["code"] == 431 and body["error"]["status"] == "INVALID_ARGUMENT"


def test_too_many_headers_get_a_431(daphne: ProxyProcess) -> None:
    many = [f"X-Field-{n}: {n}" for n in range(150)]
    status, body = exchange(daphne, request_head("/v1/messages", *many, "Content-Length: 2"), b"{}")
    assert status == 431 and "more than 100 request header fields" in body["error"]["message"]


def test_headers_as_large_as_real_clients_send_pass(daphne: ProxyProcess) -> None:
    headers = {f"x-stainless-field-{n}": "v" * 200 for n in range(40)}  # ~9 KB, twice Claude Code's
    r = httpx.get(f"{daphne.url}/v1/models", headers={"Authorization": f"Bearer {PROXY_KEY}", **headers})
    assert r.status_code != 431


def test_a_declared_length_over_the_limit_gets_a_413_before_the_body_is_sent(daphne: ProxyProcess) -> None:
    head = request_head("/v1/messages", f"Content-Length: {10 * 1024**3}")
    status, body = exchange(daphne, head, send_all=False)  # the answer comes without a byte of the 10 GiB
    assert status == 413
    assert body["error"] == {"type": "request_too_large",
                             "message": f"request body exceeds the limit of {BODY_LIMIT} bytes"}


def test_a_chunked_body_over_the_limit_gets_a_413_before_it_ends(daphne: ProxyProcess) -> None:
    chunk = b"a" * 10_000
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 15  # and no last chunk: the body has not ended
    status, answer = exchange(daphne, request_head("/v1/chat/completions", "Transfer-Encoding: chunked"), body)
    assert status == 413 and answer["error"]["type"] == "invalid_request_error"
    assert f"limit of {BODY_LIMIT} bytes" in answer["error"]["message"]


def test_a_chunked_body_within_the_limit_is_served(daphne: ProxyProcess) -> None:
    payload = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "chunked"}]}).encode()
    body = b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n"
    head = request_head("/v1/chat/completions", "Transfer-Encoding: chunked", "Connection: close")
    status, answer = exchange(daphne, head, body)
    assert status == 200 and answer["choices"][0]["message"]["content"].endswith("You said: chunked")
