"""Two ``runproxy`` instances behind a real nginx, sharing PostgreSQL and Redis (the topology of
``docs/deploy.md``): what one instance learns the other honours, and losing an instance mid-load
loses no answer that was not in flight on it.

Two processes sharing Redis cooldowns without nginx are in ``tests/integration/test_runproxy_processes.py``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from commands_app.sessions import SESSION_CACHE_SECONDS
from tests.conftest import Fakes
from tests.faults.nginx import NGINX, Nginx
from tests.faults.soak import LoggedProxy, Outcome, load_env, plan_shots, run_load, summary, usage_sessions
from tests.integration.test_runproxy_processes import redis_available
from tests.processes import ROOT

PROXY_KEY = "lip-scale-out-proxy-key-000000000001"
BUDGET_KEY = "lip-scale-out-budget-key-00000000002"
RPM_KEY = "lip-scale-out-rpm-key-000000000000003"
OPENAI_KEYS = ["sk-scale-openai-key-one-0000000001", "sk-scale-openai-key-two-0000000002"]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/12"  # 13 and 14 are other tests', 0 the CI run's
FLUSH_SECONDS = 1.0  # USAGE_FLUSH_INTERVAL: the longest a finished request's record waits in memory
CONFIG = """\
keys:
  - name: budgeted
    key: os.environ/SCALE_BUDGET_KEY
    budget_usd: 0.004
  - name: limited
    key: os.environ/SCALE_RPM_KEY
    rate_limit_rpm: 4
"""


def postgres_available() -> bool:
    try:
        import psycopg

        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5), psycopg.connect(POSTGRES, connect_timeout=2):
            return True
    except Exception:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.services,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed"),
    pytest.mark.skipif(not redis_available(), reason="Redis is not running on 127.0.0.1:6379"),
    pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 127.0.0.1:5432"),
]


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database for one cluster (its ``DATABASE_URL``), dropped afterwards."""
    import psycopg

    name = f"soak_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Cluster:
    instances: list[LoggedProxy]
    nginx: Nginx
    database_url: str

    def usage(self, tag: str) -> Counter[str]:
        import psycopg

        with psycopg.connect(self.database_url.replace("postgres://", "postgresql://", 1)) as conn:
            return usage_sessions(conn.execute("SELECT session_id FROM usage_app_usagerecord"), tag)

    def spent(self, key_name: str) -> float:
        import psycopg

        with psycopg.connect(self.database_url.replace("postgres://", "postgresql://", 1)) as conn:
            row = conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM usage_app_usagerecord WHERE proxy_key_id = "
                               "(SELECT id FROM proxy_app_proxykey WHERE name = %s)", (key_name,)).fetchone()
        return float(row[0]) if row else 0.0


@contextmanager
def cluster(tmp: Path, fakes: Fakes, **env: str) -> Iterator[Cluster]:
    """Migrate a fresh database, start two instances on it and Redis, then nginx in front of them."""
    import redis

    shared_redis = redis.Redis.from_url(REDIS_URL)
    shared_redis.flushdb()
    (tmp / "proxy.yaml").write_text(CONFIG)
    with fresh_database() as database_url:
        full_env = load_env(tmp, fakes, PROXY_KEY, DATABASE_URL=database_url, REDIS_URL=REDIS_URL,
                            LLM_PROXY_CONFIG=str(tmp / "proxy.yaml"), SCALE_BUDGET_KEY=BUDGET_KEY,
                            SCALE_RPM_KEY=RPM_KEY, OPENAI_API_KEY="", OPENAI_API_KEY_1=OPENAI_KEYS[0],
                            OPENAI_API_KEY_2=OPENAI_KEYS[1], USAGE_FLUSH_INTERVAL=str(FLUSH_SECONDS), **env)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=full_env,
                       check=True, timeout=180, capture_output=True)
        instances: list[LoggedProxy] = []
        nginx: Nginx | None = None
        try:
            for i in range(2):
                instances.append(LoggedProxy(full_env, tmp / f"proxy{i}.log", "--no-migrate"))
                instances[-1].wait_ready()
            nginx = Nginx(tmp / "nginx", [p.port for p in instances])
            nginx.wait_ready()
            yield Cluster(instances, nginx, database_url)
        finally:
            if nginx is not None:
                nginx.stop()
            for proc in instances:
                if proc.proc.poll() is None:
                    proc.stop()
    shared_redis.flushdb()


def chat(base_url: str, text: str, *, key: str = PROXY_KEY, session: str = "", model: str = "gpt-4o") -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **({"x-session-id": session} if session else {})}
    return httpx.post(f"{base_url}/v1/chat/completions", headers=headers, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": text}]})


def answer(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return str(resp.json()["choices"][0]["message"]["content"])


# ---------------------------------------------------------------- shared state


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("scale"), fakes, PROXY_KEY_SPEND_REFRESH_SECONDS="1") as running:
        yield running
    for proc in running.instances:
        assert proc.proc.returncode == 0 and "Traceback" not in proc.output(), proc.output()[-3000:]


def test_a_key_rate_limited_through_one_instance_is_skipped_behind_nginx(shared: Cluster, fakes: Fakes) -> None:
    fakes.openai.reset()
    fakes.openai.fail_key(OPENAI_KEYS[0], 429, retry_after=60)
    first = shared.instances[0]
    for i in range(2):  # round-robin reaches the first key within two requests; it fails over to the second
        answer(chat(first.url, f"cool{i}"))
    assert [r.key for r in fakes.openai.chat_requests()].count(OPENAI_KEYS[0]) == 1

    time.sleep(1.2)  # processes re-read shared key state at most once a second
    served = Counter(chat(shared.nginx.url, f"balanced{i}").headers["x-upstream"] for i in range(10))
    assert len(served) == 2, f"nginx spreads the requests over both instances: {served}"
    assert [r.key for r in fakes.openai.chat_requests()].count(OPENAI_KEYS[0]) == 1, "no instance used the key"


def test_a_command_sent_through_one_instance_applies_to_requests_served_by_the_other(
    shared: Cluster, fakes: Fakes
) -> None:
    fakes.openai.reset()
    fakes.openrouter.reset()
    first, second = shared.instances
    answer(chat(second.url, "before", session="scale-model"))  # the second instance now holds the session
    answer(chat(first.url, "!/set(model=openrouter:openai/gpt-4)", session="scale-model"))

    deadline = time.monotonic() + SESSION_CACHE_SECONDS + 5
    i = 0
    while not fakes.openrouter.chat_requests() and time.monotonic() < deadline:
        answer(chat(second.url, f"after{i}", session="scale-model"))
        i += 1
        time.sleep(0.5)
    routed = fakes.openrouter.chat_requests()
    assert routed, f"the second instance never applied the session's model in {SESSION_CACHE_SECONDS + 5:.0f} s"
    assert routed[0].body["model"] == "openai/gpt-4"
    before = len(fakes.openai.chat_requests())
    answer(chat(second.url, "other session", session="scale-other"))
    assert len(fakes.openai.chat_requests()) == before + 1, "other sessions keep the default model"


def test_a_loop_guard_switched_off_through_one_instance_is_off_on_the_other(shared: Cluster) -> None:
    first, second = shared.instances
    answer(chat(first.url, "!/set(loop-detection=off)", session="scale-loops"))
    assert "loop was detected" not in answer(chat(second.url, "[[loop]]", session="scale-loops"))
    assert "loop was detected" in answer(chat(second.url, "[[loop]]", session="scale-guarded"))


def test_a_keys_budget_spent_through_both_instances_is_enforced_by_both(shared: Cluster) -> None:
    first, second = shared.instances
    prompt = "x" * 4000  # about $0.0026 a request on gpt-4o: one request stays under $0.004, two do not
    answer(chat(first.url, prompt, key=BUDGET_KEY))
    time.sleep(FLUSH_SECONDS + 0.5)
    answer(chat(second.url, prompt, key=BUDGET_KEY))  # the first one's spend is below the budget
    time.sleep(FLUSH_SECONDS + 1.5)  # written, and both instances' spend older than their 1 s refresh
    assert 0.004 <= shared.spent("budgeted") < 0.008
    for proc in (first, second):
        refused = chat(proc.url, "one more", key=BUDGET_KEY)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "insufficient_quota", refused.text
        assert "budget of $0.0040" in refused.json()["error"]["message"]


def test_a_keys_rate_limit_counts_requests_through_both_instances(shared: Cluster) -> None:
    if time.time() % 60 > 50:  # the four requests and the refusals fall in one minute window
        time.sleep(60.5 - time.time() % 60)
    first, second = shared.instances
    for proc in (first, second, first, second):
        answer(chat(proc.url, "counted", key=RPM_KEY))
    for proc in (first, second):
        assert chat(proc.url, "one too many", key=RPM_KEY).status_code == 429


# ---------------------------------------------------------------- losing an instance mid-load


SLOW_STREAMS = 8  # 8 s streams started first: in flight on both instances when one goes


def load_while(stopping: Callable[[], None], running: Cluster, tag: str, n: int = 600) -> tuple[list[Outcome], float]:
    """``n`` requests through nginx, the slow streams first; ``stopping`` runs once a third of them are
    answered (the slow streams still in flight); (outcomes, when ``stopping`` started)."""
    shots = sorted(plan_shots(n, tag=tag, fault_share=SLOW_STREAMS / n, faults=("[[slow]]",)),
                   key=lambda shot: shot.fault is None)

    async def scenario() -> tuple[list[Outcome], float]:
        outcomes: list[Outcome] = []
        load = asyncio.create_task(run_load(running.nginx.url, PROXY_KEY, shots, concurrency=24, outcomes=outcomes))
        while len(outcomes) < n // 3:
            await asyncio.sleep(0.01)
        at = time.time()
        stop = threading.Thread(target=stopping)  # a graceful stop waits for the in-flight requests
        stop.start()
        await load
        await asyncio.to_thread(stop.join)
        return outcomes, at

    started = time.perf_counter()
    outcomes, at = asyncio.run(scenario())
    print(f"\n{tag}: {summary(outcomes, time.perf_counter() - started)}")
    return outcomes, at


def on(proc: LoggedProxy, outcome: Outcome) -> bool:
    """Whether ``proc`` is the instance nginx last passed the request to."""
    return outcome.via.split(", ")[-1] == f"127.0.0.1:{proc.port}"


def test_an_instance_killed_mid_load_fails_only_its_in_flight_requests_and_loses_only_unflushed_records(
    tmp_path: Path, fakes: Fakes
) -> None:
    """Under SIGKILL nothing of the killed instance is finished: its in-flight requests fail (streams
    break off, answers not yet begun are nginx's 502 in the protocol's error shape) and the records
    still queued in its memory are lost. "No usage record lost" can therefore only mean: every request
    the survivor answered has its record, and so has every request the killed instance answered more
    than one flush interval (USAGE_FLUSH_INTERVAL, plus a write's time) before it died; none twice."""
    for fake in fakes.all():
        fake.reset()
    with cluster(tmp_path, fakes, PROXY_TIMEOUT="60") as running:
        survivor, victim = running.instances
        outcomes, killed_at = load_while(victim.kill, running, "kill")
        assert httpx.get(f"{running.nginx.url}/healthz", timeout=5).status_code == 200
        survivor_output = survivor.stop()
        records = running.usage("kill")

    assert survivor.proc.returncode == 0 and "Traceback" not in survivor_output, survivor_output[-3000:]
    assert not [(o.shot, o.problem) for o in outcomes if o.problem], "every answer is in its protocol's shape"
    failed = [o for o in outcomes if o.failed]
    # nginx may still send a request of the kill's first half second over a kept-alive connection to the
    # dead instance (a POST is not retried once sent); everything started later is the survivor's (below)
    assert all(on(victim, o) and o.started < killed_at + 0.5 and killed_at < o.ended < killed_at + 5
               for o in failed), \
        "only requests in flight on the killed instance fail, and they end at once: " \
        f"{[(o.shot, o.status, o.broken, o.via) for o in failed if not on(victim, o) or o.ended > killed_at + 5]}"
    assert any(o.broken and o.shot.fault for o in failed), "a stream in flight breaks off where the client sees it"
    after = [o for o in outcomes if o.started > killed_at + 0.5]
    assert after and all(on(survivor, o) and not o.failed for o in after), "the survivor serves everything after"

    assert max(records.values()) == 1, "no request is recorded twice (nginx retries only what was never sent)"
    answered_by_survivor = [o for o in outcomes if on(survivor, o)]
    assert all(records[o.shot.session] == 1 for o in answered_by_survivor)
    assert all(records[o.shot.session] == 0 for o in failed), "an unfinished request has no record"
    answered_by_victim = [o for o in outcomes if on(victim, o) and not o.failed]
    lost = [o for o in answered_by_victim if records[o.shot.session] == 0]
    assert all(o.ended > killed_at - FLUSH_SECONDS - 1.0 for o in lost), \
        f"records older than a flush interval are in the database: {[(o.shot, killed_at - o.ended) for o in lost]}"
    print(f"kill: {len(failed)} requests in flight on the killed instance failed; of the {len(answered_by_victim)} "
          f"it answered, {len(lost)} records were still queued when it died")


def test_an_instance_stopped_mid_load_finishes_its_requests_and_records_every_one(
    tmp_path: Path, fakes: Fakes
) -> None:
    """Under SIGTERM the instance stops taking connections, finishes what it has and writes its queued
    records: every request is answered and recorded exactly once."""
    for fake in fakes.all():
        fake.reset()
    with cluster(tmp_path, fakes, PROXY_TIMEOUT="60") as running:
        survivor, stopped = running.instances
        outputs: list[str] = []
        outcomes, stopped_at = load_while(lambda: outputs.append(stopped.stop()), running, "term")
        survivor_output = survivor.stop()
        records = running.usage("term")

    for proc, output in ((survivor, survivor_output), (stopped, outputs[0])):
        assert proc.proc.returncode == 0 and "Traceback" not in output, output[-3000:]
    assert not [(o.shot, o.status, o.problem, o.broken, o.via) for o in outcomes if o.failed or o.problem]
    assert any(on(stopped, o) and o.shot.fault and o.ended > stopped_at for o in outcomes), \
        "a stream in flight on the stopped instance was finished"
    assert len(records) == len(outcomes) and set(records.values()) == {1}, "one record per request, none lost"
