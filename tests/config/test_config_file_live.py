"""``runproxy --config proxy.yaml`` as an operator runs it: backends, an alias, a route and a proxy key with
its rate limit, all from the file, served to the real SDKs; a broken file stops the start with one line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from tests.conftest import Fakes
from tests.processes import ROOT, ProxyProcess, proxy_env

FILE_KEY = "lip-from-the-config-file-0000000001"
CONFIG = """
backends:
  openai:
    type: openai
    base_url: {openai}/v1
    keys: [os.environ/CFG_OPENAI_KEY]
  claude:
    type: anthropic
    base_url: {anthropic}/v1
    keys: [os.environ/CFG_ANTHROPIC_KEY]
aliases:
  fast: claude:claude-sonnet-4-5
routes:
  coding:
    policy: m
    elements: [openai:gpt-4o-mini]
keys:
  - name: ci
    key: os.environ/CFG_PROXY_KEY
    project: from-file
    rate_limit_rpm: 4
"""


@pytest.fixture
def configured(tmp_path: Path, fakes: Fakes) -> Iterator[ProxyProcess]:
    assert fakes.anthropic is not None
    for fake in fakes.all():
        fake.reset()
    config = tmp_path / "proxy.yaml"
    config.write_text(CONFIG.format(openai=fakes.openai.origin, anthropic=fakes.anthropic.origin))
    env = proxy_env(tmp_path, fakes, CFG_OPENAI_KEY="sk-cfg-openai-0000000001",
                    CFG_ANTHROPIC_KEY="sk-ant-cfg-0000000002", CFG_PROXY_KEY=FILE_KEY)
    del env["OPENAI_API_BASE_URL"]  # only the file configures backends here
    proc = ProxyProcess(env, "--config", str(config))
    try:
        proc.wait_ready(timeout=60)
        yield proc
    finally:
        proc.stop()


def test_backends_alias_route_and_key_come_from_the_file(configured: ProxyProcess, fakes: Fakes) -> None:
    assert fakes.anthropic is not None
    api = openai.OpenAI(base_url=f"{configured.url}/v1", api_key=FILE_KEY, max_retries=0)
    listing = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/list-failover-routes"}])
    assert "coding (policy m, global, from the configuration file): openai:gpt-4o-mini" in (
        listing.choices[0].message.content or "")

    fast = api.chat.completions.create(model="fast", messages=[{"role": "user", "content": "via alias"}])
    assert fast.model == "claude:claude-sonnet-4-5"
    assert fakes.anthropic.chat_requests()[-1].body["model"] == "claude-sonnet-4-5"

    claude = anthropic.Anthropic(base_url=configured.url, api_key=FILE_KEY, max_retries=0)
    routed = claude.messages.create(model="coding", max_tokens=64, messages=[{"role": "user", "content": "via route"}])
    assert routed.content[0].type == "text" and routed.model == "openai:gpt-4o-mini"
    assert fakes.openai.chat_requests()[-1].body["model"] == "gpt-4o-mini"

    with pytest.raises(openai.RateLimitError, match="limited to 4 requests per minute"):
        for _ in range(2):  # the file's rate limit: 4 requests a minute
            api.chat.completions.create(model="fast", messages=[{"role": "user", "content": "again"}])

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{configured.url}/v1", api_key="lip-not-in-the-file", max_retries=0).models.list()


def test_a_broken_file_stops_the_start_with_one_line_per_problem(tmp_path: Path, fakes: Fakes) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text("backends:\n  local:\n    type: openai_compatible\nkeys:\n  - name: ci\n    key: literal\n")
    result = subprocess.run([sys.executable, "manage.py", "runproxy", "--config", str(config)], cwd=ROOT,
                            env=proxy_env(tmp_path, fakes), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{config}:3: backends.local: Value error, an openai_compatible backend needs a base_url" in result.stderr
    assert f"{config}:6: keys[0].key: String should match pattern" in result.stderr


def test_check_config_validates_without_starting(tmp_path: Path, fakes: Fakes) -> None:
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY="sk-one-0000000001", OPENAI_API_KEY_2="sk-two-0000000002",
                    ANTHROPIC_API_KEY="sk-ant-0000000003", GEMINI_API_KEY="AIza-0000000004",
                    CI_PROXY_KEY="lip-ci-0000000005")
    ok = subprocess.run([sys.executable, "manage.py", "check_config", str(ROOT / "proxy.example.yaml")], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "sk-one-0000000001" not in ok.stdout and "sk-...0001" in ok.stdout
    del env["CI_PROXY_KEY"]
    bad = subprocess.run([sys.executable, "manage.py", "check_config", str(ROOT / "proxy.example.yaml")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "keys[0].key: CI_PROXY_KEY is not set" in bad.stderr
