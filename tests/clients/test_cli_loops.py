"""Loop detection with the real CLIs: repeated independent work is never a loop; a real one is
stopped, with a warning the model reads first.

Each CLI runs the same small task six times in a row on one proxy key (the detector used to count
calls per key and stopped runs 5 and 6). Then the fake model is scripted to loop (``[[agent:repeat
N path]]``: the same read, the same result, again and again): the first call past the limit goes
through with a warning on its result, which the next request carries upstream, and the next call is
stopped with the protocol's own end of turn, which the CLI shows.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Proxy, configure_backends

from . import harness

pytestmark = [pytest.mark.clients, pytest.mark.timeout(8 * harness.CLI_TIMEOUT)]

BACKEND = {"claude": "anthropic", "codex": "openai", "gemini": "gemini"}  # each CLI on a backend of another kind too
WARNING = "[llm-interactive-proxy] Tool call loop detected"
STOPPED = "the request was stopped by llm-interactive-proxy"


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="llmproxy-cli-loops-")).resolve()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _prepare(proxy: Proxy, monkeypatch: pytest.MonkeyPatch, settings: Any, backend: str) -> None:
    settings.LLM_BACKEND = backend
    configure_backends(monkeypatch, proxy.fakes, LLM_BACKEND=backend)


def _fresh_config(cached: Any) -> Any:
    """The tool-loop config read from the test's settings now, forgotten again after the test."""
    config = cached.__wrapped__()
    return lambda: config


def _dirs(root: Path, name: str) -> tuple[Path, Path]:
    home, work = root / name / "home", root / name / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    return home, work


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_the_same_task_six_times_on_one_key_is_never_a_loop(client: str, proxy: Proxy, clients_install: harness.Install,
                                                           relay: harness.Relay, root: Path,
                                                           monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    _prepare(proxy, monkeypatch, settings, BACKEND[client])
    for run_number in range(6):
        home, work = _dirs(root, f"run{run_number}")
        notes = work / "notes.txt"
        notes.write_text("The secret word is heron\n")
        run = harness.run_cli(clients_install, client, f"Read notes.txt and tell me the secret word. "
                              f"[[agent:read {notes}]]", relay=relay, key=proxy.key, home=home, work=work)
        assert run.returncode == 0 and "The secret word is heron." in run.stdout, \
            f"run {run_number + 1} of 6\n{run.report()}"
        assert "loop detected" not in run.stdout.lower(), run.report()


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_a_real_loop_is_warned_then_stopped(client: str, proxy: Proxy, clients_install: harness.Install,
                                           relay: harness.Relay, root: Path, monkeypatch: pytest.MonkeyPatch,
                                           settings: Any) -> None:
    from proxy_app.guards.apply import tool_loop_config
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    backend = BACKEND[client]
    _prepare(proxy, monkeypatch, settings, backend)
    # Gemini CLI has a loop detector of its own, which steps in (a "System: Potential loop detected"
    # user turn) after four identical calls: with two allowed, the proxy's warning comes at the
    # third call and its stop at the fourth, before it, for every CLI alike.
    settings.TOOL_LOOP_MAX_REPEATS = 2
    tool_loop_config.cache_clear()
    monkeypatch.setattr("proxy_app.guards.apply.tool_loop_config", _fresh_config(tool_loop_config))
    home, work = _dirs(root, "loop")
    notes = work / "notes.txt"
    notes.write_text("Nothing changes in this file.\n")
    run = harness.run_cli(clients_install, client, f"Keep reading notes.txt until it changes. "
                          f"[[agent:repeat 12 {notes}]]", relay=relay, key=proxy.key, home=home, work=work)
    report = run.report()
    assert not run.timed_out, report
    upstream = [r.body for r in proxy.fakes.by_backend(backend).chat_requests()]
    warned = [i for i, body in enumerate(upstream) if WARNING in str(body)]
    assert warned, f"no request carried the warning to the model\n{report}"
    assert STOPPED in run.stdout or STOPPED in run.stderr, f"the CLI did not show the stop\n{report}"
    # the model was warned before the stop, and the loop went no further than the stop
    assert len(upstream) < 12, f"{len(upstream)} upstream calls: the loop was not stopped\n{report}"
    assert flush(timeout=10)
    assert UsageRecord.objects.filter(loop_halt_kind="tool_loop").exists()
