"""The real ``manage.py runproxy`` (Daphne) in subprocesses: start-up, and two processes sharing Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests import secret_scan
from tests.conftest import Fakes, free_port
from tests.processes import PROXY_KEY, ROOT, ProxyProcess, httpx_ok, proxy_env, usage_rows, wait_for

KEYS = ["sk-proc-key-one-000000000000001", "sk-proc-key-two-000000000000002"]
secret_scan.WATCH.add(*KEYS)
REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def processes() -> Iterator[list[ProxyProcess]]:
    started: list[ProxyProcess] = []
    yield started
    for proc in started:
        proc.stop()


def test_runproxy_starts_on_a_fresh_database_and_serves_the_openai_sdk(
    tmp_path: Path, fakes: Fakes, processes: list[ProxyProcess]
) -> None:
    fakes.openai.reset()
    proc = ProxyProcess(proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0], LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY))
    processes.append(proc)
    proc.wait_ready()
    api = openai.OpenAI(base_url=f"{proc.url}/v1", api_key=PROXY_KEY, max_retries=0)
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "daphne?"}])
    assert resp.choices[0].message.content == "Hello from the fake provider! You said: daphne?"
    chunks = list(api.chat.completions.create(model="gpt-4o", stream=True, messages=[{"role": "user", "content": "s"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("You said: s")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{proc.url}/v1", api_key="nope", max_retries=0).models.list()
    banner = processes.pop().stop()
    assert "Applying" in banner, "migrations are applied on the embedded SQLite default"
    assert f"{proc.url}/v1" in banner and "sk-...0001" in banner
    assert KEYS[0] not in banner, "backend keys are shown masked"


def test_runproxy_refuses_a_public_address_without_a_proxy_key(tmp_path: Path, fakes: Fakes) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "runproxy", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=ROOT, env=proxy_env(tmp_path, fakes), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0" in result.stderr


@pytest.mark.services
@pytest.mark.skipif(not redis_available(), reason="Redis is not running on 127.0.0.1:6379")
def test_two_proxy_processes_sharing_redis_honour_each_others_cooldowns(
    tmp_path: Path, fakes: Fakes, processes: list[ProxyProcess]
) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    fakes.openai.reset()
    env = proxy_env(tmp_path, fakes, REDIS_URL=REDIS_TEST_URL, LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY,
                    OPENAI_API_KEY_1=KEYS[0], OPENAI_API_KEY_2=KEYS[1])
    first = ProxyProcess(env)
    processes.append(first)
    first.wait_ready()
    second = ProxyProcess(env)
    processes.append(second)
    second.wait_ready()

    fakes.openai.fail_key(KEYS[0], 429, retry_after=60)
    api_a = openai.OpenAI(base_url=f"{first.url}/v1", api_key=PROXY_KEY, max_retries=0)
    for i in range(2):  # round-robin reaches key 1 within two requests
        api_a.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"a{i}"}])
    assert [r.key for r in fakes.openai.chat_requests()].count(KEYS[0]) == 1
    assert client.keys("llmproxy:keystate:cool:*"), "the cooldown is shared through Redis"

    time.sleep(1.2)  # processes re-read shared key state at most once a second
    api_b = openai.OpenAI(base_url=f"{second.url}/v1", api_key=PROXY_KEY, max_retries=0)
    for i in range(10):
        api_b.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"b{i}"}])
    assert [r.key for r in fakes.openai.chat_requests()].count(KEYS[0]) == 1, "process B never used the cooling key"
    client.flushdb()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def established_connections(pid: int, port: int) -> int:
    """How many established TCP connections to local ``port`` the process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01 = ESTABLISHED
            count += 1
    return count


def requests_on_held_connections(proc: ProxyProcess, n: int, tag: str) -> dict[int, int]:
    """One request on each of ``n`` keep-alive connections; which worker holds how many of them."""
    clients = [openai.OpenAI(base_url=f"{proc.url}/v1", api_key=PROXY_KEY, max_retries=0) for _ in range(n)]
    try:
        for i, api in enumerate(clients):
            resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"{tag}{i}"}])
            assert resp.choices[0].message.content.endswith(f"You said: {tag}{i}")
        held = {pid: established_connections(pid, proc.port) for pid in children(proc.proc.pid)}
        assert sum(held.values()) == n
        return held
    finally:
        for api in clients:
            api.close()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_runproxy_workers_share_the_port_survive_a_crash_and_flush_usage_on_stop(
    server: str, tmp_path: Path, fakes: Fakes, processes: list[ProxyProcess]
) -> None:
    fakes.openai.reset()
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0], LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY)
    proc = ProxyProcess(env, "--server", server, "--workers", "2")
    processes.append(proc)
    proc.wait_ready()
    assert wait_for(lambda: len(children(proc.proc.pid)) == 2), "the supervisor runs two workers"
    workers = children(proc.proc.pid)
    rollup_off = [b"USAGE_ROLLUP_INTERVAL_SECONDS=0" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                  for pid in workers]
    assert rollup_off == [False, True], "only worker 0 runs the in-process usage rollups"
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    supervisor_rss_mb = int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]) / 1024
    assert supervisor_rss_mb < 40, "the supervisor is a stdlib-only process, not a copy of Django"

    held = requests_on_held_connections(proc, 16, "first")
    assert set(held) == set(workers) and all(n > 0 for n in held.values()), f"both workers serve: {held}"

    os.kill(workers[1], 9)
    assert wait_for(lambda: len(children(proc.proc.pid)) == 2 and workers[1] not in children(proc.proc.pid))
    restarted = next(pid for pid in children(proc.proc.pid) if pid != workers[0])
    again = requests_on_held_connections(proc, 16, "again")
    assert again.get(restarted, 0) > 0, f"the restarted worker serves the same socket: {again}"

    running = children(proc.proc.pid)
    assert len(running) == 2
    processes.remove(proc)
    proc.stop()
    assert proc.proc.returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in running), "the supervisor stops its workers"
    # Every request that a gracefully stopped worker answered is in the database; the killed
    # worker's share may have been written before it died, or lost with it.
    answered = len(fakes.openai.chat_requests())
    assert answered == 32
    assert answered - held[workers[1]] <= usage_rows(tmp_path / "proxy.sqlite3") <= answered


def test_runproxy_fd_serves_an_inherited_socket(tmp_path: Path, fakes: Fakes) -> None:
    fakes.openai.reset()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0], LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY)
    proc = subprocess.Popen([sys.executable, "manage.py", "runproxy", "--fd", str(sock.fileno())], cwd=ROOT, env=env,
                            pass_fds=(sock.fileno(),), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sock.close()
    try:
        api = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=PROXY_KEY, max_retries=2)
        assert wait_for(lambda: httpx_ok(f"http://127.0.0.1:{port}/healthz"), 30)
        resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "fd"}])
        assert resp.choices[0].message.content.endswith("You said: fd")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/v1" in out, "the banner names the inherited socket's address"


def test_the_supervisor_gives_up_on_a_worker_that_keeps_dying(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    result = subprocess.run(
        [sys.executable, "-m", "llmproxy_site.server.workers", "--server", "daphne", "--fd", str(sock.fileno()),
         "--settings", "no_such_settings_module", "--root", str(ROOT)],
        cwd=ROOT, pass_fds=(sock.fileno(),), capture_output=True, text=True, timeout=60,
    )
    sock.close()
    assert result.returncode != 0
    assert result.stderr.count("restarting it") == 4, result.stderr[-2000:]
    assert "exited 5 times within 60 s" in result.stderr


def test_workers_restarted_at_once_on_the_same_port_serve_again(
    tmp_path: Path, fakes: Fakes, processes: list[ProxyProcess]
) -> None:
    """Stopping closes the workers' connections from the server side (TIME_WAIT on the port): a start
    right after must still bind (it died with 'Address already in use' without SO_REUSEADDR)."""
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0], LLM_INTERACTIVE_PROXY_API_KEY=PROXY_KEY)
    first = ProxyProcess(env, "--workers", "2")
    processes.append(first)
    first.wait_ready()
    clients = [httpx.Client(base_url=first.url) for _ in range(8)]
    for client in clients:  # keep-alive connections still open when the workers stop: they close them
        assert client.get("/healthz").status_code == 200
    processes.remove(first)
    first.stop()
    for client in clients:
        client.close()
    again = ProxyProcess(env, "--workers", "2", "--no-migrate", port=first.port)
    processes.append(again)
    again.wait_ready()
    api = openai.OpenAI(base_url=f"{again.url}/v1", api_key=PROXY_KEY, max_retries=0)
    assert api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "back"}]).choices


@pytest.mark.parametrize(("case", "expected"), [
    ("port taken", "CommandError: cannot listen on 127.0.0.1:{port}: Address already in use"),
    ("bad setting", "configuration error: PROXY_UPSTREAM_TRANSPORT='bogus' is not a transport"),
    ("database unreachable", "CommandError: the database is unreachable (postgresql 127.0.0.1:9 test): "),
])
def test_a_failed_start_is_one_clear_line_and_a_nonzero_exit(tmp_path: Path, fakes: Fakes, case: str,
                                                               expected: str) -> None:
    port = free_port()
    extra = {"bad setting": {"PROXY_UPSTREAM_TRANSPORT": "bogus"},
             "database unreachable": {"DATABASE_URL": "postgres://postgres@127.0.0.1:9/test"}}.get(case, {})
    with socket.socket() as taken:
        if case == "port taken":
            taken.bind(("127.0.0.1", port))
            taken.listen()
        result = subprocess.run([sys.executable, "manage.py", "runproxy", "--port", str(port)], cwd=ROOT,
                                env=proxy_env(tmp_path, fakes, **extra), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(expected.format(port=port)), result.stderr


def test_a_proxy_whose_kek_cannot_open_its_stored_keys_does_not_start(tmp_path: Path, fakes: Fakes) -> None:
    """Backend keys sealed under one KEK, the proxy started with another: one line naming PROXY_KEK, exit 2."""
    sealed_by = proxy_env(tmp_path, fakes, PROXY_KEK="kek-that-sealed-the-keys-0123456789abcdef")
    for command in (["migrate", "-v", "0"],
                    ["shell", "-c", "from proxy_app.models import BackendKey; "
                                    "BackendKey.objects.create(backend_name='openai', secret='sk-sealed-0000000001')"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=sealed_by, check=True, timeout=60)
    other = {**sealed_by, "PROXY_KEK": "a-different-kek-fedcba9876543210fedcba98"}
    result = subprocess.run([sys.executable, "manage.py", "runproxy", "--port", str(free_port())], cwd=ROOT,
                            env=other, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("CommandError: cannot read the stored backend keys: a backend key is sealed with "
                           "key-encryption key ") and "which PROXY_KEK does not hold" in line
