"""The real agentic CLIs × every backend × three file tasks, through the live proxy and the fake providers.

Each cell runs one CLI (Claude Code, Codex CLI, Gemini CLI; the versions pinned in ``package-lock.json``)
non-interactively in a fresh HOME and work directory, pointed at the proxy (through a recording relay),
with the proxy's ``LLM_BACKEND`` set to one backend (OpenAI, OpenRouter, Anthropic, Gemini: all fakes).
The CLIs send bare model names, so the backend decides. The fake providers act as a scripted coding
agent (``tests/fakes/agent.py``) when the prompt carries an ``[[agent:…]]`` tag: they call the CLI's own
read/write/shell tools, and the CLI runs them on the real files. The tasks:

* ``read``  — read a file and report the secret word in it;
* ``chain`` — read a file that points at a second file, which holds the word (two tool rounds);
* ``edit``  — replace TODO with DONE in a file (the file on disk is checked).

A cell passes when the CLI exited 0, its stdout holds the expected answer, the file tasks had their
effect, and only the selected backend's fake was called. With ``CLIENTS_RECORD=<dir>`` (see
``scripts/test-clients --record``) the requests each CLI sent are written, scrubbed, as fixtures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Proxy, configure_backends

from . import harness

pytestmark = [pytest.mark.clients, pytest.mark.timeout(harness.CLI_TIMEOUT + 60)]

CLIENTS = harness.CLIENTS
BACKENDS = ("openai", "openrouter", "anthropic", "gemini")
TASKS = ("read", "chain", "edit")
# the backend whose run of each task is recorded as the client's fixture (any would do: the CLI's
# requests do not depend on it, beyond the fake's answers they quote back)
RECORD_BACKEND = {"claude": "anthropic", "codex": "anthropic", "gemini": "gemini"}
TASK_NUMBER = {"read": 1, "chain": 21, "edit": 41}  # fixture numbers: read 01.., chain 21.., edit 41..

READ_WORD = "pelican"
CHAIN_WORD = "marmalade"


@pytest.fixture
def dirs() -> Iterator[tuple[Path, Path]]:
    """A fresh HOME and work directory (resolved: the CLIs report real paths)."""
    root = Path(tempfile.mkdtemp(prefix="llmproxy-cli-")).resolve()
    home, work = root / "home", root / "work"
    home.mkdir()
    work.mkdir()
    try:
        yield home, work
    finally:
        shutil.rmtree(root, ignore_errors=True)


def setup_task(task: str, work: Path) -> tuple[str, str]:
    """Create the task's files; the prompt and the answer the CLI must print."""
    if task == "read":
        notes = work / "notes.txt"
        notes.write_text(f"Project notes.\nThe secret word is {READ_WORD}\n")
        return (f"Read the file notes.txt and tell me the secret word in it. [[agent:read {notes}]]",
                f"The secret word is {READ_WORD}.")
    if task == "chain":
        first, second = work / "a.txt", work / "b.txt"
        first.write_text(f"Nothing here; see {second} for the answer\n")
        second.write_text(f"The secret word is {CHAIN_WORD}\n")
        return (f"Start from a.txt, follow where it points and tell me the secret word. [[agent:read {first}]]",
                f"The secret word is {CHAIN_WORD}.")
    if task == "edit":
        status = work / "status.txt"
        status.write_text("status: TODO\n")
        return (f"In status.txt, replace TODO with DONE. [[agent:edit {status}]]", f"Edited {status}.")
    raise KeyError(task)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
def test_cli_matrix(client: str, backend: str, task: str, proxy: Proxy, clients_install: harness.Install,
                    relay: harness.Relay, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                    settings: Any) -> None:
    # bare model names go to LLM_BACKEND (read into Django's settings; the registry is rebuilt below)
    settings.LLM_BACKEND = backend
    settings.REASONING_SEAL_KEY = harness.SEAL_KEY
    configure_backends(monkeypatch, proxy.fakes, LLM_BACKEND=backend)
    home, work = dirs
    prompt, answer = setup_task(task, work)

    run = harness.run_cli(clients_install, client, prompt, relay=relay, key=proxy.key, home=home, work=work)

    record_into = os.environ.get("CLIENTS_RECORD")
    if record_into and backend == RECORD_BACKEND[client]:
        record(Path(record_into), clients_install, client, task, run, proxy, relay, home, work)
    report = run.report()
    assert not run.timed_out, f"{client} did not finish within {harness.CLI_TIMEOUT:.0f}s\n{report}"
    assert run.returncode == 0, report
    assert answer in run.stdout, f"expected {answer!r} in {client}'s output\n{report}"
    if task == "edit":
        assert (work / "status.txt").read_text().strip() == "status: DONE", report
    fake = proxy.fakes.by_backend(backend)
    assert fake.chat_requests(), f"the {backend} fake received no request\n{report}"
    others = {b: len(proxy.fakes.by_backend(b).chat_requests()) for b in BACKENDS
              if b != backend and proxy.fakes.by_backend(b).chat_requests()}
    assert not others, f"backends other than {backend} were called: {others}\n{report}"
    failed = [ex for ex in run.exchanges if ex.status >= 400 or ex.error]
    assert not failed, "the proxy answered with errors:\n" + "\n".join(ex.summary() for ex in failed)


def record(root: Path, install: harness.Install, client: str, task: str, run: harness.CliRun, proxy: Proxy,
           relay: harness.Relay, home: Path, work: Path) -> None:
    directory = harness.fixture_dir(client, install.versions[client], root)
    for old in directory.glob(f"*-{task}-*.json"):
        old.unlink()
    scrubber = harness.run_scrubber(install, proxy.key, proxy.url, relay, home, work)
    harness.write_recording(directory, task, run.exchanges, scrubber, TASK_NUMBER[task])
