"""``llm-proxy`` in a clone (``python -m llmproxy_site.cli``, what the console script runs): its help, each
subcommand's own help, serving, and its exit statuses. ``test_wheel.py`` runs the installed command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from llmproxy_site.cli import SUBCOMMANDS
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# An option only this subcommand's management command has: its help is the command's own.
OWN_OPTION = {"serve": "--workers", "bootstrap": "--no-input", "create-key": "--allow-model", "list-routes": "--json",
              "clear-key-state": "backend", "usage-report": "--group-by", "rollup-usage": "--full",
              "rotate-kek": "--generate", "check-config": "file"}


def llm_proxy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmproxy_site.cli", *args]


def llm_proxy(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PYTHONPATH": str(ROOT), **extra}
    return subprocess.run(llm_proxy_command(*args), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)


def test_help_lists_every_subcommand_in_a_line_and_examples(tmp_path: Path) -> None:
    result = llm_proxy(tmp_path, "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: llm-proxy ")
    lines = result.stdout.splitlines()
    for name, sub in SUBCOMMANDS.items():
        assert any(line.split() == [name, *sub.summary.split()] for line in lines), name
    examples = [line.strip() for line in result.stdout.split("\nexamples:\n")[1].strip().splitlines()]
    assert len(examples) >= 5 and all(line.startswith("llm-proxy") for line in examples)
    assert f"database  {ROOT / 'db.sqlite3'}" in result.stdout, "a clone keeps its database"
    assert llm_proxy(tmp_path, "help").stdout == result.stdout


@pytest.mark.parametrize("name", sorted(OWN_OPTION))
def test_each_subcommand_has_its_management_commands_help_under_its_own_name(name: str, tmp_path: Path) -> None:
    result = llm_proxy(tmp_path, name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: llm-proxy {name} ")
    assert OWN_OPTION[name] in result.stdout


def test_help_for_a_subcommand_is_its_help(tmp_path: Path) -> None:
    assert llm_proxy(tmp_path, "help", "create-key").stdout == llm_proxy(tmp_path, "create-key", "--help").stdout


def test_an_unknown_subcommand_is_a_usage_error_naming_the_commands(tmp_path: Path) -> None:
    result = llm_proxy(tmp_path, "create_proxy_key", "alice")
    assert result.returncode == 2
    assert "unknown command 'create_proxy_key'" in result.stderr and "create-key" in result.stderr


def test_a_configuration_file_that_does_not_validate_stops_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "proxy.yaml").write_text("backends:\n  local:\n    type: openai\n    base_url: 12\n")
    result = llm_proxy(tmp_path, "--config", "proxy.yaml", "list-routes")
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error:\n") and "proxy.yaml:4" in result.stderr


def test_a_setting_that_cannot_be_used_is_one_line_and_status_2(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PROXY_UPSTREAM_TRANSPORT=bogus\n")
    result = llm_proxy(tmp_path, "list-routes", LLM_PROXY_ENV_FILE=str(tmp_path / ".env"))
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: PROXY_UPSTREAM_TRANSPORT='bogus'")
    assert "Traceback" not in result.stderr


def test_manage_runs_any_management_command(tmp_path: Path) -> None:
    result = llm_proxy(tmp_path, "manage", "showmigrations", "usage_app")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "usage_app" and "[ ] 0001_initial" in result.stdout


def test_llm_proxy_alone_serves(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(llm_proxy_command("--port", str(port)), cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"listening on http://127.0.0.1:{port}" in out
