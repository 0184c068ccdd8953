"""The wheel, as a user installs it: built from the working tree, installed into a fresh virtualenv
(dependencies from the package index, pip's download cache as usual), and ``llm-proxy`` run from a
directory outside the clone with its own home: help, bootstrap, then serving the OpenAI SDK, the
admin and the status page with their templates and static assets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import Fakes, free_port
from tests.settings import CONFIGURATION_PREFIXES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
PROXY_KEY = "lip-wheel-test-proxy-key-000000000001"
BACKEND_KEY = "sk-wheel-test-backend-key-00000000001"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# Not the package's: the clone's tooling, caches, local state and the tests.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "tests", "bench", "clients", "build", "dist", "*.egg-info",
                                    "__pycache__", "*.sqlite3*", "node_modules", "staticfiles", ".*_cache", ".env")


@dataclass
class Installed:
    bin: Path

    def run(self, *args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)


def checked(command: list[str], timeout: float) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, work / "source", ignore=NOT_SOURCE)  # the build writes build/ and *.egg-info beside it
    checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"),
             str(work / "source")], timeout=300)
    (wheel,) = (work / "dist").glob("llm_interactive_proxy-*.whl")
    checked([sys.executable, "-m", "venv", str(work / "venv")], timeout=120)
    checked([str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], timeout=900)
    yield Installed(work / "venv" / "bin")
    shutil.rmtree(work, ignore_errors=True)  # a whole virtualenv: not left for pytest's temporary-directory rotation


def user_environment(home: Path) -> dict[str, str]:
    """A user's environment: their own home and data directory, none of the suite's configuration."""
    dropped = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_SETTINGS_MODULE",
               "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIGURATION_PREFIXES) and k not in dropped}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}


def wait_ready(proc: subprocess.Popen[str], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"llm-proxy serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("llm-proxy serve did not become ready")


def test_the_installed_llm_proxy_bootstraps_and_serves_outside_the_clone(
    installed: Installed, tmp_path: Path, fakes: Fakes
) -> None:
    fakes.openai.reset()
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir(parents=True)
    (project / ".env").write_text(f"OPENAI_API_KEY={BACKEND_KEY}\nOPENAI_API_BASE_URL={fakes.openai.origin}/v1\n"
                                  f"LLM_INTERACTIVE_PROXY_API_KEY={PROXY_KEY}\n")
    env = user_environment(home)
    database = home / "data" / "llm-proxy" / "db.sqlite3"

    package = installed.run("python", "-c", "import llmproxy_site; print(llmproxy_site.__file__)", cwd=project, env=env)
    assert Path(package.stdout.strip()).is_relative_to(installed.bin.parent), "the wheel's code, not the clone's"

    help_text = installed.run("llm-proxy", "--help", cwd=project, env=env)
    assert help_text.returncode == 0, help_text.stderr
    for name in ("serve", "bootstrap", "create-key", "usage-report", "check-config"):
        assert f"\n  {name} " in help_text.stdout
    assert f"database  {database} " in help_text.stdout and f".env      {project / '.env'} " in help_text.stdout

    bootstrap = installed.run("llm-proxy", "bootstrap", "--no-input", cwd=project, env=env)
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert "1 backend key(s) imported" in bootstrap.stdout, "the .env of the current directory is read"
    assert "created with password" in bootstrap.stdout
    assert database.is_file() and database.parent.stat().st_mode & 0o777 == 0o700
    assert not list(project.glob("*.sqlite3"))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(installed.bin / "llm-proxy"), "serve", "--port", str(port)], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(proc, url)
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=PROXY_KEY, max_retries=0, timeout=30)
        answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "wheel?"}])
        assert answer.choices[0].message.content == "Hello from the fake provider! You said: wheel?"
        assert fakes.openai.requests[-1].key == BACKEND_KEY

        login = httpx.get(f"{url}/admin/login/", timeout=10)
        assert login.status_code == 200 and "/static/admin/css/base.css" in login.text
        status = httpx.get(f"{url}/", timeout=10)  # templates/llmproxy/status.html, from the wheel's data files
        assert status.status_code == 200 and f'id="proxy-version">{VERSION}<' in status.text
        assert "/static/llmproxy/status.css" in status.text
        for asset in ("admin/css/base.css", "llmproxy/status.css", "llmproxy/admin-pages.css"):
            response = httpx.get(f"{url}/static/{asset}", timeout=10)
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/css"), asset
    finally:
        proc.terminate()
        banner, _ = proc.communicate(timeout=30)
    assert f"listening on {url}" in banner
