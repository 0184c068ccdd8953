"""Prompt compaction with the real CLIs: with compaction on, each CLI still finishes a task whose
history holds a superseded file read and a long command output, and the model saw them compacted.

The fake model is scripted (``[[agent:reread path]]``): read a file, run ``seq 1 4000``, read the file
again, then answer with the secret word and how many compacted results it saw. With one turn kept
whole, the request after the second read carries the first read (superseded) and the long output
compacted; the CLI shows the answer, and the usage rows count the tokens left out.

A longer session (``[[agent:session dir]]``: ten reads, re-reads, long outputs and an edit) finishes
too. With ``CLIENTS_RECORD_SESSIONS=<dir>`` its last request, as the CLI sent it (scrubbed), is
written to ``<dir>/<client>-<version>-session.json``: the recorded conversations ``bench/compaction.py``
replays (``bench/recordings/``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proxy_app.guards.compaction import MARKER
from tests.conftest import Proxy, configure_backends
from usage_app.models import UsageRecord
from usage_app.recorder import flush

from . import harness

pytestmark = [pytest.mark.clients, pytest.mark.timeout(2 * harness.CLI_TIMEOUT)]

BACKEND = {"claude": "anthropic", "codex": "openai", "gemini": "gemini"}
NOTES = "".join(f"{i:03d} Notes on the release: nothing to see on this line, keep reading please.\n"
                for i in range(100)) + "The secret word is osprey\n"  # ~8 kB


@pytest.fixture
def work() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="llmproxy-cli-compact-")).resolve()
    (root / "home").mkdir()
    (root / "work").mkdir()
    try:
        yield root / "home", root / "work"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def compacting(client: str, proxy: Proxy, monkeypatch: pytest.MonkeyPatch, settings: Any, *, keep_turns: int,
               min_savings: int) -> str:
    """The proxy on ``client``'s backend, compaction on with these thresholds; the backend."""
    backend = BACKEND[client]
    settings.LLM_BACKEND = backend
    configure_backends(monkeypatch, proxy.fakes, LLM_BACKEND=backend)
    settings.COMPACT_ENABLED = True
    settings.COMPACT_KEEP_TURNS = keep_turns
    settings.COMPACT_MIN_SAVINGS_TOKENS = min_savings
    return backend


def compacted_seen(stdout: str, answer: str) -> int:
    """How many compacted results the scripted model said it saw: ``<answer> (N compacted results)``."""
    return int(stdout.split(f"{answer} (", 1)[1].split(" compacted", 1)[0])


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_an_agent_finishes_its_task_with_compaction_on(client: str, proxy: Proxy, clients_install: harness.Install,
                                                      relay: harness.Relay, work: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    backend = compacting(client, proxy, monkeypatch, settings, keep_turns=1, min_savings=500)
    home, cwd = work
    notes = cwd / "notes.txt"
    notes.write_text(NOTES)
    run = harness.run_cli(clients_install, client, f"Read notes.txt twice, count to 4000 in between, and tell me "
                          f"the secret word. [[agent:reread {notes}]]", relay=relay, key=proxy.key, home=home, work=cwd)
    report = run.report()
    assert run.returncode == 0 and "The secret word is osprey." in run.stdout, report
    upstream = [str(r.body) for r in proxy.fakes.by_backend(backend).chat_requests()]
    assert any(MARKER in body for body in upstream), f"no request went upstream compacted\n{report}"
    assert compacted_seen(run.stdout, "The secret word is osprey.") >= 1, f"the model saw no compacted result\n{report}"
    assert flush(timeout=10)
    assert UsageRecord.objects.filter(compacted_tokens__gt=1000).exists()


SOURCE = "# TODO: validate the requests\n" + "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n"
                                                    for i in range(100))  # ~6 kB


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_a_longer_session_finishes_with_compaction_on(client: str, proxy: Proxy, clients_install: harness.Install,
                                                      relay: harness.Relay, work: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    compacting(client, proxy, monkeypatch, settings, keep_turns=2, min_savings=1000)
    home, cwd = work
    for name in ("a.py", "b.py", "c.py"):
        (cwd / name).write_text(SOURCE.replace("handler", f"{name[0]}_handler"))
    run = harness.run_cli(clients_install, client, f"Work through a.py, b.py and c.py. [[agent:session {cwd}]]",
                          relay=relay, key=proxy.key, home=home, work=cwd)
    report = run.report()
    assert run.returncode == 0 and "Session done. (" in run.stdout, report
    assert compacted_seen(run.stdout, "Session done.") >= 2, report
    assert "TODO" not in (cwd / "a.py").read_text(), report
    if record_into := os.environ.get("CLIENTS_RECORD_SESSIONS"):
        record_session(Path(record_into), clients_install, client, run, proxy, relay, home, cwd)


def record_session(root: Path, install: harness.Install, client: str, run: harness.CliRun, proxy: Proxy,
                   relay: harness.Relay, home: Path, work: Path) -> None:
    """The session's last chat request, scrubbed as the fixtures are (keys, paths, ports)."""
    chats = [ex for ex in run.exchanges if harness.short_name(ex) not in ("count-tokens",) and ex.method == "POST"
             and "[[agent:session" in json.dumps(ex.json())]
    scrubber = harness.run_scrubber(install, proxy.key, proxy.url, relay, home, work)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{client}-{install.versions[client]}-session.json"
    target.write_text(json.dumps(scrubber.exchange(chats[-1]), indent=1, ensure_ascii=False) + "\n")
