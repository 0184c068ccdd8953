"""Servers the tests run as subprocesses on loopback ports: the real ``manage.py runproxy``, and the
base every such server shares (wait until it answers; stop it and scan its output for secrets)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests import secret_scan
from tests.conftest import Fakes, free_port

ROOT = Path(__file__).resolve().parents[1]
PROXY_KEY = "lip-subprocess-proxy-key-000000000001"
secret_scan.WATCH.add(PROXY_KEY)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Whether ``condition`` became true within ``timeout`` seconds (polled every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


class ServerProcess:
    """One server subprocess on 127.0.0.1:``port``, its output collected."""

    name = "server"
    ready_timeout = 30.0

    def __init__(self, argv: list[str], *, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

    def answers(self) -> bool:
        """Whether it is ready to serve (one quick probe)."""
        raise NotImplementedError

    def wait_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.name} exited: {self.proc.stdout.read() if self.proc.stdout else ''}")
            if self.answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"the {self.name} did not become ready")

    def stop(self) -> str:
        """Stop it; its output is scanned for the suite's secrets, and returned."""
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        secret_scan.WATCH.scan(f"{self.name} output (port {self.port})", out or "")
        return out or ""


def httpx_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def proxy_env(tmp_path: Path, fakes: Fakes, **extra: str) -> dict[str, str]:
    """The environment of a proxy process on its own SQLite database, its OpenAI backend the fake."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "OPENROUTER_", "ANTHROPIC_", "GEMINI_", "DATABASE_URL", "REDIS_URL",
                                "LLM_", "CELERY_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
        "LLM_PROXY_ENV_FILE": str(tmp_path / "none.env"),
        "OPENAI_API_BASE_URL": f"{fakes.openai.origin}/v1",
        "LOG_LEVEL": "WARNING",
        "PROXY_KEK_FILE": str(tmp_path / "kek"),
        **extra,
    })
    return env


class ProxyProcess(ServerProcess):
    """``manage.py runproxy`` with ``args``."""

    name = "runproxy"

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None) -> None:
        port = port or free_port()
        super().__init__([sys.executable, "manage.py", "runproxy", "--port", str(port), *args], port=port, env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        return httpx_ok(f"{self.url}/healthz")


def usage_rows(db: Path) -> int:
    """The usage records in the SQLite database ``db`` (read directly: the process writing it is another)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM usage_app_usagerecord").fetchone()[0]
