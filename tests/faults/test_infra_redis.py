"""Redis goes away (behind a relay the test cuts): the proxy carries on with each process's own state,
warns once, and shares through Redis again when it is back. The cache and the key cooldowns are
tested on their own here, then together under the real ``runproxy``."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from llmproxy_site.resilient_cache import ResilientRedisCache
from proxy_app.core.outage import REDIS_RETRY_SECONDS, redis_outage
from proxy_app.providers.key_state import KeyStateStore
from tests.conftest import Fakes
from tests.faults.relay import Relay, relay_to, service_running
from tests.processes import PROXY_KEY, ProxyProcess, proxy_env

REDIS_PORT = 6379
REDIS_DB = 13

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not service_running(REDIS_PORT), reason="Redis is not running on 127.0.0.1:6379"),
]


@pytest.fixture
def relay() -> Iterator[Relay]:
    with relay_to(REDIS_PORT) as running:
        yield running


@pytest.fixture
def redis_direct() -> Iterator[redis.Redis]:
    """A client straight to Redis (not through the relay), on a database of the tests' own."""
    client = redis.Redis(port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "llmproxy.redis" and r.levelno >= logging.WARNING]


def wait_for_retry() -> None:
    time.sleep(REDIS_RETRY_SECONDS + 0.1)


async def test_the_cache_uses_local_memory_while_redis_is_down_and_redis_again_after(
    relay: Relay, redis_direct: redis.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    cache = ResilientRedisCache(f"redis://127.0.0.1:{relay.port}/{REDIS_DB}", {"KEY_PREFIX": "faults"})
    await cache.aset("before", 1, 60)
    assert redis_direct.exists("faults:1:before")

    relay.cut()
    started = time.monotonic()
    for i in range(20):  # as many requests would
        await cache.aset("during", i, 60)
        assert await cache.aget("during") == i
        assert await cache.aget_many(["during", "missing"]) == {"during": i}
    assert time.monotonic() - started < 1.0, "a dead Redis is not waited on by every call"
    assert not redis_direct.exists("faults:1:during")

    await cache.aset("reasoning", {"sig": "abc"}, 120)  # written during the outage: copied to Redis after it
    await cache.aset("gone", 1, 1)
    await cache.aset("taken", "mine", 60)
    redis_direct.set("faults:1:taken", pickle.dumps("another process's, newer"))
    time.sleep(1.1)  # "gone" expires before Redis is back

    relay.restore()
    wait_for_retry()
    await cache.aset("after", 2, 60)
    assert redis_direct.exists("faults:1:after"), "back on Redis once it is reachable"
    assert await cache.aget("before") == 1, "what Redis held is there again"
    assert await cache.aget("reasoning") == {"sig": "abc"} and 100 < redis_direct.ttl("faults:1:reasoning") <= 120
    assert await cache.aget("during") == 19, "the outage's entries went to Redis"
    assert not redis_direct.exists("faults:1:gone"), "an entry that expired meanwhile is not revived"
    assert await cache.aget("taken") == "another process's, newer", "a key Redis has already is left as it is"
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("Redis unreachable") and lines[1].startswith("Redis reachable again")


async def test_key_cooldowns_are_kept_in_the_process_while_redis_is_down_and_shared_again_after(
    relay: Relay, redis_direct: redis.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    store = KeyStateStore(f"redis://127.0.0.1:{relay.port}/{REDIS_DB}")
    relay.cut()
    await store.cool_down("openai", "fp-one", "gpt-4o", 60)
    await store.mark_invalid("openai", "fp-two")
    await store.refresh("openai", ["fp-one", "fp-two"])
    assert store.cooling_until("openai", "fp-one", "gpt-4o") is not None
    assert store.is_invalid("openai", "fp-two")
    assert not redis_direct.keys("llmproxy:keystate:*")

    relay.restore()
    wait_for_retry()
    await store.cool_down("openai", "fp-three", "gpt-4o", 60)
    assert redis_direct.keys("llmproxy:keystate:cool:openai:fp-three:*"), "shared through Redis again"
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert redis_outage().down is False


@pytest.mark.slow
def test_runproxy_serves_through_a_redis_outage_with_local_state_and_one_warning(
    tmp_path: Path, fakes: Fakes, relay: Relay, redis_direct: redis.Redis,
) -> None:
    keys = ["sk-redis-outage-00000000000001", "sk-redis-outage-00000000000002"]
    fakes.openai.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY_1=keys[0], OPENAI_API_KEY_2=keys[1],
                    LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY, REDIS_URL=f"redis://127.0.0.1:{relay.port}/{REDIS_DB}")
    proxy = ProxyProcess(env)
    client = httpx.Client(base_url=proxy.url, headers={"Authorization": f"Bearer {PROXY_KEY}"}, timeout=15)

    def chat(text: str) -> httpx.Response:
        return client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})

    try:
        proxy.wait_ready(60)
        assert chat("before").status_code == 200

        relay.cut()
        help_reply = chat("!/help")  # a command turn: its reply is kept in the cache for a client's retry
        assert help_reply.status_code == 200, help_reply.text
        fakes.openai.reset()
        fakes.openai.fail_key(keys[0], 429, retry_after=60)
        for i in range(12):
            response = chat(f"during {i}")
            assert response.status_code == 200, response.text
        used = [r.key for r in fakes.openai.chat_requests()]
        assert used.count(keys[0]) == 1, "the cooldown taken during the outage is honoured in the process"
        assert not redis_direct.keys("llmproxy:keystate:*")

        relay.restore()
        time.sleep(REDIS_RETRY_SECONDS + 0.2)
        fakes.openai.fail_key(keys[1], 429, retry_after=60)
        chat("after")  # key 2 fails and cools down too (the client gets a 429: no key is left)
        assert redis_direct.keys("llmproxy:keystate:cool:*"), "cooldowns are shared again"
        assert chat("!/help").status_code == 200
        assert any(b"last-command-turn" in k for k in redis_direct.keys()), "the cache is on Redis again"
    finally:
        client.close()
        out = proxy.stop()
    logged = [line for line in out.splitlines() if "llmproxy.redis:" in line]
    assert len(logged) == 2, out
    assert "Redis unreachable" in logged[0] and "Redis reachable again" in logged[1]
    assert "Traceback" not in out and "Internal Server Error" not in out, out
