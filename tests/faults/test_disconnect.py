"""A client that goes away makes the proxy drop its upstream request within a second, as the upstream
sees it: mid-stream, and while the proxy still waits for the upstream's first byte. Under the test
server (uvicorn, in-process) for every client protocol, and under the production server (Daphne,
``runproxy`` in a subprocess)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Fakes
from tests.faults import misbehaving as mb
from tests.faults.conftest import Call, Faulty, call_for, last_usage_record

CLOSE_WITHIN = 1.0
PAIRS = [("openai_chat", "openai"), ("responses", "anthropic"), ("anthropic", "gemini"), ("gemini", "anthropic")]
PAIR_IDS = [f"{client}-to-{backend}" for client, backend in PAIRS]


class RawClient:
    """A client on a bare socket: it leaves exactly when told to (``leave``), with nothing pooled."""

    def __init__(self, url: str, key: str, call: Call) -> None:
        host, port = url.removeprefix("http://").split(":")
        body = json.dumps(call.body()).encode()
        headers = {"host": f"{host}:{port}", "content-type": "application/json", "content-length": str(len(body)),
                   **call.headers(key)}
        head = f"POST {call.path()} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(head.encode() + body)
        self.received = b""

    def read_until(self, marker: bytes, limit: float = 10.0) -> None:
        deadline = time.monotonic() + limit
        while marker not in self.received:
            assert time.monotonic() < deadline, self.received[-300:]
            chunk = self.sock.recv(65536)
            assert chunk, self.received[-300:]
            self.received += chunk

    def leave(self) -> float:
        """Close the connection (a reset, as a killed client's); the moment it did."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.sock.close()
        return time.monotonic()


def assert_upstream_closed_soon(upstream: mb.MisbehavingUpstream, left_at: float) -> None:
    connection = upstream.wait_for_connection()
    assert connection.wait_closed(CLOSE_WITHIN + 0.5), "the proxy kept the upstream request open"
    assert connection.peer_closed_at is not None
    assert connection.peer_closed_at - left_at < CLOSE_WITHIN, connection.peer_closed_at - left_at


def assert_recorded_as_disconnected() -> None:
    deadline = time.monotonic() + 3
    while True:  # the request finishes (and is recorded) as its cancellation unwinds
        record = last_usage_record()
        if record.client_disconnected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (record.client_disconnected, record.status) == (True, 499), (record.status, record.error_message)


@pytest.mark.parametrize(("client", "backend"), PAIRS, ids=PAIR_IDS)
def test_a_client_leaving_mid_stream_closes_the_upstream_request(faulty: Faulty, client: str, backend: str) -> None:
    faulty.upstream.script(mb.endless_stream())
    raw = RawClient(faulty.url, faulty.proxy.key, call_for(client, backend, stream=True))
    raw.read_until(b"more")  # content is flowing
    left_at = raw.leave()
    assert_upstream_closed_soon(faulty.upstream, left_at)
    assert_recorded_as_disconnected()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(("client", "backend"), PAIRS, ids=PAIR_IDS)
def test_a_client_leaving_before_the_first_byte_closes_the_upstream_request(faulty: Faulty, client: str,
                                                                           backend: str, stream: bool) -> None:
    faulty.upstream.script(mb.stall())
    raw = RawClient(faulty.url, faulty.proxy.key, call_for(client, backend, stream=stream))
    faulty.upstream.wait_for_connection()  # the proxy is waiting for the upstream
    left_at = raw.leave()
    assert_upstream_closed_soon(faulty.upstream, left_at)
    assert_recorded_as_disconnected()


# ---------------------------------------------------------------- the production server


@pytest.fixture(scope="module")
def daphne(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes, upstream: mb.MisbehavingUpstream) -> Iterator[str]:
    from tests.processes import ProxyProcess, proxy_env

    tmp: Path = tmp_path_factory.mktemp("daphne")
    env = proxy_env(tmp, fakes, OPENAI_API_BASE_URL=upstream.origin + "/v1", OPENAI_API_KEY="sk-fault-daphne-0001",
                    ANTHROPIC_API_BASE_URL=upstream.origin + "/v1", ANTHROPIC_API_KEY="sk-ant-fault-daphne-0001",
                    LLM_INTERACTIVE_PROXY_API_KEY="lip-fault-daphne-key-0000000001",
                    USAGE_RECORDING_ENABLED="false")
    process = ProxyProcess(env)
    try:
        process.wait_ready()
        yield process.url
    finally:
        process.stop()


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["mid-stream", "before-first-byte"])
def test_under_daphne_a_client_leaving_closes_the_upstream_request(daphne: str, upstream: mb.MisbehavingUpstream,
                                                                  moment: str) -> None:
    upstream.reset()
    upstream.script(mb.endless_stream() if moment == "mid-stream" else mb.stall())
    raw = RawClient(daphne, "lip-fault-daphne-key-0000000001", call_for("anthropic", "openai", stream=True))
    if moment == "mid-stream":
        raw.read_until(b"more")
    else:
        upstream.wait_for_connection()
    left_at = raw.leave()
    assert_upstream_closed_soon(upstream, left_at)
