"""The database goes away under the real ``runproxy`` (PostgreSQL behind a relay the test cuts): requests
are still served, their usage records wait in memory and are written, once each, when it is back; a
session setting made during the outage holds at once and is saved when it is back; the outage is logged
once and its end once, however many requests met it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Fakes
from tests.faults.relay import Relay, relay_to, service_running
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env

POSTGRES_PORT = 5432
ADMIN_URL = f"postgresql://postgres@127.0.0.1:{POSTGRES_PORT}/postgres"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.services,
    pytest.mark.skipif(not service_running(POSTGRES_PORT), reason="PostgreSQL is not running on 127.0.0.1:5432"),
]


@pytest.fixture
def database() -> Iterator[str]:
    """A database of its own (the proxy migrates it), dropped at the end."""
    import psycopg

    name = f"llmproxy_faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def usage_rows(name: str) -> int:
    """Counted directly, not through the relay."""
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{POSTGRES_PORT}/{name}") as conn:
        row = conn.execute("SELECT COUNT(*) FROM usage_app_usagerecord").fetchone()
    assert row is not None
    return int(row[0])


def chat(proxy: ProxyProcess, text: str, *, stream: bool, session: str = "") -> httpx.Response:
    headers = {"Authorization": f"Bearer {PROXY_KEY}", **({"X-Session-ID": session} if session else {})}
    return httpx.post(f"{proxy.url}/v1/chat/completions", headers=headers,
                      json={"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": text}]},
                      timeout=15)


def saved_overrides(name: str, session: str) -> dict | None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{POSTGRES_PORT}/{name}") as conn:
        row = conn.execute("SELECT overrides FROM commands_app_session WHERE session_id = %s", (session,)).fetchone()
    return None if row is None else row[0]


def wait_for_rows(name: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (rows := usage_rows(name)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return rows


@pytest.fixture
def relay() -> Iterator[Relay]:
    with relay_to(POSTGRES_PORT) as running:
        yield running


def test_requests_are_served_while_the_database_is_down_and_their_usage_is_written_when_it_returns(
    tmp_path: Path, fakes: Fakes, database: str, relay: Relay,
) -> None:
    fakes.openai.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-db-outage-000000000000001", LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY,
                    DATABASE_URL=f"postgres://postgres@127.0.0.1:{relay.port}/{database}", USAGE_FLUSH_INTERVAL="0.2")
    proxy = ProxyProcess(env)
    try:
        proxy.wait_ready(60)
        assert chat(proxy, "before", stream=False).status_code == 200
        assert wait_for_rows(database, 1, 10) == 1

        relay.cut()
        served = 8
        for i in range(served):
            response = chat(proxy, f"during {i}", stream=i % 2 == 1)
            assert response.status_code == 200, response.text
            if i % 2:
                assert response.text.endswith("data: [DONE]\n\n"), response.text
            else:
                assert response.json()["choices"][0]["message"]["content"].endswith(f"You said: during {i}")
        setting = chat(proxy, "!/set(temperature=0.3)", stream=False, session="outage-session")
        assert setting.status_code == 200 and "temperature" in setting.text, setting.text
        assert chat(proxy, "with the setting", stream=False, session="outage-session").status_code == 200
        assert fakes.openai.chat_requests()[-1].body["temperature"] == 0.3, "the setting holds during the outage"
        served += 2  # the command's answer is recorded too
        time.sleep(1.5)  # the writer has tried, and failed, several times
        assert usage_rows(database) == 1, "nothing is written while the database is unreachable"
        assert saved_overrides(database, "outage-session") is None

        relay.restore()
        assert wait_for_rows(database, 1 + served, 15) == 1 + served, "the buffered records are written"
        assert chat(proxy, "after", stream=True).status_code == 200
        assert wait_for_rows(database, 2 + served, 10) == 2 + served
        assert saved_overrides(database, "outage-session") == {"temperature": 0.3}, "saved once it is back"
    finally:
        out = proxy.stop()
    assert usage_rows(database) == 2 + served, "one record per request, none written twice"
    logged = [line for line in out.splitlines() if "llmproxy.usage.recorder:" in line]
    assert len(logged) == 2, out  # LOG_LEVEL=WARNING: the outage's start and its end, nothing per request or retry
    assert "usage database unreachable" in logged[0] and "requests are still served" in logged[0]
    assert "usage database reachable again" in logged[1] and f"writing the {served} usage record(s)" in logged[1]
    assert "Traceback" not in out and "Internal Server Error" not in out, out
