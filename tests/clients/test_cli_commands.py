"""In-chat commands typed in the real CLIs, non-interactively and in their interactive UIs (tmux).

Each CLI (Claude Code, Codex CLI, Gemini CLI; the versions pinned in ``package-lock.json``) talks to
the live proxy through the recording relay, with the fake providers behind it. Its conversations use
one backend by default (``LLM_BACKEND``: the CLI's own provider) and a command moves them to another:

* ``help``  — a turn of only ``!/help`` (or the shipped ``/proxy help``) shows the proxy's help, and
  no request of that turn reaches any provider;
* ``set then task`` — ``!/set(model=backend:model)``, then a file task in the same conversation
  (``claude -p --continue``, ``codex exec resume --last``, ``gemini --resume latest``; one session
  in the interactive UI): every request of the task reaches the chosen backend;
* ``two conversations`` — two processes of one CLI with the same proxy key, a command in one: the
  other keeps the default backend;
* ``mixed`` — ``!/set(model=…) Read notes.txt … [[agent:read …]]``: the command runs and the task is
  done on the chosen backend.

In the interactive UIs a prompt starting with ``!`` is a shell command (bash/shell mode), so the
commands are typed with a leading space (`` !/help``) or through the shipped custom command
(``/proxy help``, installed with ``scripts/install-client-commands``). Requests that are a CLI's
side requests rather than the task (no tools offered: Gemini CLI's model router, Codex's thread
title) are told apart, so a failure says which of them strayed from what the command asked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Proxy, configure_backends
from tests.fakes.server import RecordedRequest

from . import harness, tui
from .conftest import clients_required

pytestmark = [pytest.mark.clients, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install-client-commands"
BACKENDS = ("openai", "openrouter", "anthropic", "gemini")
HELP_TEXT = "Commands (type them in any message)"  # the first line of the proxy's help
HELP_MARK = "!/set("
# each CLI's conversations go to its own provider by default; the command moves them to another
DEFAULT_BACKEND = {"claude": "anthropic", "codex": "openai", "gemini": "gemini"}
CHOSEN = {"claude": ("openai", "openai:gpt-4o"), "codex": ("gemini", "gemini:gemini-2.5-flash"),
          "gemini": ("anthropic", "anthropic:claude-sonnet-4-5")}
# the shipped custom command (clients/): Codex CLI 0.171 has none (no custom prompts any more)
PROXY_COMMAND = {"claude": "/proxy", "gemini": "/proxy"}


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def backends(client: str, proxy: Proxy, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Proxy:
    """The proxy with bare model names going to ``client``'s default backend."""
    settings.LLM_BACKEND = DEFAULT_BACKEND[client]
    configure_backends(monkeypatch, proxy.fakes, LLM_BACKEND=DEFAULT_BACKEND[client])
    return proxy


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="llmproxy-cmd-")).resolve()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tmux_ready() -> None:
    try:
        tui.tmux_binary()
    except harness.ClientsUnavailable as exc:
        if clients_required():
            pytest.fail(f"client suite cannot run: {exc}", pytrace=False)
        pytest.skip(f"interactive client tests skipped: {exc}")


def conversation(root: Path, name: str, word: str = "pelican") -> tuple[Path, Path, Path]:
    """A fresh HOME and work directory with a notes file holding ``word``."""
    home, work = root / name / "home", root / name / "work"
    home.mkdir(parents=True)
    work.mkdir(parents=True)
    notes = work / "notes.txt"
    notes.write_text(f"Project notes.\nThe secret word is {word}\n")
    return home, work, notes


def task(notes: Path) -> str:
    return f"Read the file notes.txt and tell me the secret word in it. [[agent:read {notes}]]"


def install_commands(work: Path) -> None:
    subprocess.run([str(INSTALL_SCRIPT), "--project", str(work)], check=True, capture_output=True, timeout=30)


class FakeLog:
    """The requests the fakes received since ``mark()``, by backend."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.start: dict[str, int] = {}
        self.mark()

    def mark(self) -> None:
        self.start = {b: len(self.proxy.fakes.by_backend(b).chat_requests()) for b in BACKENDS}

    def since(self) -> dict[str, list[RecordedRequest]]:
        return {b: self.proxy.fakes.by_backend(b).chat_requests()[self.start[b]:] for b in BACKENDS}


def offers_tools(request: RecordedRequest) -> bool:
    """A turn of a coding agent offers its tools; a side request (router, title) offers none."""
    return isinstance(request.body, dict) and bool(request.body.get("tools"))


def text_of(request: RecordedRequest) -> str:
    return json.dumps(request.body, ensure_ascii=False)


def describe(calls: dict[str, list[RecordedRequest]]) -> str:
    lines = []
    for backend, requests in calls.items():
        for request in requests:
            body = request.body if isinstance(request.body, dict) else {}
            lines.append(f"  {backend}: {request.path} model={body.get('model', '-')} "
                         f"tools={'yes' if offers_tools(request) else 'no'} …{last_text(request)[-160:]!r}")
    return "\n".join(lines) or "  (none)"


def last_text(request: RecordedRequest) -> str:
    """The newest message's text in an OpenAI, Anthropic or Gemini request body (for reports)."""
    body = request.body if isinstance(request.body, dict) else {}
    items = body.get("messages") or body.get("contents") or []
    if not items:
        return ""
    item = items[-1]
    content = item.get("content") if "content" in item else item.get("parts")
    if isinstance(content, str):
        return content
    return " ".join(str(p.get("text", "")) for p in content or [] if isinstance(p, dict))


def split(calls: dict[str, list[RecordedRequest]], *, mention: str = "") -> tuple[dict[str, list[RecordedRequest]],
                                                                                   dict[str, list[RecordedRequest]]]:
    """``calls`` (only those mentioning ``mention``) as (task requests, side requests)."""
    picked = {b: [r for r in rs if mention in text_of(r)] for b, rs in calls.items()}
    return ({b: [r for r in rs if offers_tools(r)] for b, rs in picked.items()},
            {b: [r for r in rs if not offers_tools(r)] for b, rs in picked.items()})


def check_all_on(calls: dict[str, list[RecordedRequest]], backend: str, *, mention: str, report: str) -> list[str]:
    """Every task request mentioning ``mention`` went to ``backend`` (asserted); the side requests
    that went elsewhere, described (the caller asserts there are none, after the task's own checks)."""
    tasks, sides = split(calls, mention=mention)
    assert tasks[backend], f"the {backend} fake received no request of the task\n{describe(calls)}\n{report}"
    stray = {b: rs for b, rs in tasks.items() if b != backend and rs}
    assert not stray, f"task requests went to other backends than {backend}:\n{describe(stray)}\n{report}"
    return [describe({b: rs}) for b, rs in sides.items() if b != backend and rs]


def assert_no_strays(strays: list[str], what: str) -> None:
    assert not strays, f"{what}\n" + "\n".join(strays)


# ---------------------------------------------------------------- running a CLI non-interactively


@dataclass
class Started:
    client: str
    argv: list[str]
    proc: subprocess.Popen[str]
    started: float
    first_exchange: int


def start(install: harness.Install, client: str, prompt: str, *, relay: harness.Relay, key: str, home: Path,
          work: Path, resume: bool = False) -> Started:
    """``harness.run_cli`` split in two (start, finish), with the CLI's way of continuing its latest
    conversation, and without clearing the shared relay (two CLIs may run at once)."""
    extra, env = harness.prepare_client(client, home, relay.url, key)
    argv = install.argv(client)
    if client == "claude":
        argv = [*argv, "-p", prompt, *extra, *(["--continue"] if resume else [])]
    elif client == "codex":
        argv = [*argv, "exec", *(["resume", "--last"] if resume else []), *extra, prompt]
    else:
        argv = [*argv, "-p", prompt, *extra, *(["--resume", "latest"] if resume else [])]
    first = len(relay.exchanges)
    proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    return Started(client, argv, proc, time.monotonic(), first)


def finish(run: Started, relay: harness.Relay, timeout: float = harness.CLI_TIMEOUT) -> harness.CliRun:
    timed_out = False
    try:
        stdout, stderr = run.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        harness.kill_group(run.proc)
        stdout, stderr = run.proc.communicate()
    finally:
        harness.kill_group(run.proc)
    return harness.CliRun(run.client, run.argv, None if timed_out else run.proc.returncode, stdout, stderr,
                          time.monotonic() - run.started, timed_out, list(relay.exchanges[run.first_exchange:]))


def run(install: harness.Install, client: str, prompt: str, *, relay: harness.Relay, key: str, home: Path,
        work: Path, resume: bool = False) -> harness.CliRun:
    done = finish(start(install, client, prompt, relay=relay, key=key, home=home, work=work, resume=resume), relay)
    assert not done.timed_out, f"{client} did not finish within {harness.CLI_TIMEOUT:.0f}s\n{done.report()}"
    assert done.returncode == 0, done.report()
    return done


def run_together(jobs: list[dict[str, Any]], install: harness.Install, client: str, relay: harness.Relay,
                 key: str) -> list[harness.CliRun]:
    """Several runs of ``client`` at the same time (``jobs``: keyword arguments of ``start``)."""
    started = [start(install, client, relay=relay, key=key, **job) for job in jobs]
    with ThreadPoolExecutor(len(started)) as pool:
        done = list(pool.map(lambda s: finish(s, relay), started))
    for one in done:
        assert not one.timed_out and one.returncode == 0, one.report()
    return done


# ---------------------------------------------------------------- non-interactive


@pytest.mark.parametrize(("client", "how"), [("claude", "prefix"), ("claude", "proxy-command"), ("codex", "prefix"),
                                             ("gemini", "prefix"), ("gemini", "proxy-command")])
def test_exec_help_only(client: str, how: str, backends: Proxy, clients_install: harness.Install,
                        relay: harness.Relay, root: Path) -> None:
    home, work, _ = conversation(root, "a")
    prompt = "!/help"
    if how == "proxy-command":
        install_commands(work)
        prompt = f"{PROXY_COMMAND[client]} help"
    log = FakeLog(backends)
    done = run(clients_install, client, prompt, relay=relay, key=backends.key, home=home, work=work)
    calls = log.since()
    assert HELP_TEXT in done.stdout and HELP_MARK in done.stdout, done.report()
    assert not any(calls.values()), f"a command-only turn reached the providers:\n{describe(calls)}\n{done.report()}"


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_exec_set_then_task(client: str, backends: Proxy, clients_install: harness.Install, relay: harness.Relay,
                            root: Path) -> None:
    chosen, model = CHOSEN[client]
    home, work, notes = conversation(root, "a")
    done = run(clients_install, client, f"!/set(model={model})", relay=relay, key=backends.key, home=home, work=work)
    assert f"model set to {model}" in done.stdout, done.report()
    log = FakeLog(backends)
    done = run(clients_install, client, task(notes), relay=relay, key=backends.key, home=home, work=work,
               resume=True)
    assert "The secret word is pelican." in done.stdout, done.report()
    strays = check_all_on(log.since(), chosen, mention=str(notes), report=done.report())
    assert_no_strays(strays, f"side requests of the task did not follow the conversation's model {model}")


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_exec_two_conversations(client: str, backends: Proxy, clients_install: harness.Install,
                                relay: harness.Relay, root: Path) -> None:
    """A and B at the same time with one proxy key: A sets a model while B works on a task; then A
    works on a task while B shows its session (a command-only turn: Gemini CLI 0.61 resumes a
    conversation that used tools with each function response twice, which Gemini rejects)."""
    chosen, model = CHOSEN[client]
    default = DEFAULT_BACKEND[client]
    home_a, work_a, notes_a = conversation(root, "a", "pelican")
    home_b, work_b, notes_b = conversation(root, "b", "otter")
    log = FakeLog(backends)
    set_a, task_b = run_together([dict(prompt=f"!/set(model={model})", home=home_a, work=work_a),
                                  dict(prompt=task(notes_b), home=home_b, work=work_b)],
                                 clients_install, client, relay, backends.key)
    assert f"model set to {model}" in set_a.stdout, set_a.report()
    assert "The secret word is otter." in task_b.stdout, task_b.report()
    task_a, session_b = run_together([dict(prompt=task(notes_a), home=home_a, work=work_a, resume=True),
                                      dict(prompt="!/session", home=home_b, work=work_b, resume=True)],
                                     clients_install, client, relay, backends.key)
    assert "The secret word is pelican." in task_a.stdout, task_a.report()
    assert "session:" in session_b.stdout and "model =" not in session_b.stdout, session_b.report()
    calls = log.since()
    strays = check_all_on(calls, chosen, mention=str(work_a), report=task_a.report())
    tasks_b, _ = split(calls, mention=str(work_b))
    assert tasks_b[default], f"B's task did not reach {default}:\n{describe(calls)}\n{task_b.report()}"
    # B never ran a command that changes anything: all of it, side requests included, stays on the default
    elsewhere = {b: rs for b, rs in calls.items() if b != default and any(str(work_b) in text_of(r) for r in rs)}
    assert not elsewhere, f"B's requests left {default}:\n{describe(elsewhere)}\n{task_b.report()}"
    assert_no_strays(strays, f"side requests of A's task did not follow A's model {model}")


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_exec_mixed(client: str, backends: Proxy, clients_install: harness.Install, relay: harness.Relay,
                    root: Path) -> None:
    chosen, model = CHOSEN[client]
    home, work, notes = conversation(root, "a")
    log = FakeLog(backends)
    done = run(clients_install, client, f"!/set(model={model}) {task(notes)}", relay=relay, key=backends.key,
               home=home, work=work)
    assert "The secret word is pelican." in done.stdout, done.report()
    calls = log.since()
    strays = check_all_on(calls, chosen, mention=str(notes), report=done.report())
    first = calls[chosen][0]
    assert "!/set(" not in text_of(first), f"the command was forwarded: …{last_text(first)[-300:]!r}"
    done = run(clients_install, client, "!/session", relay=relay, key=backends.key, home=home, work=work,
               resume=True)
    assert f"model = {model}" in done.stdout, done.report()
    assert_no_strays(strays, f"side requests of the mixed turn did not follow its model {model}")


# ---------------------------------------------------------------- interactive (tmux)


def open_tui(install: harness.Install, client: str, relay: harness.Relay, key: str, home: Path,
             work: Path) -> tui.Tui:
    return tui.Tui(install, client, relay=relay, key=key, home=home, work=work)


def typed_command(client: str, command: str, how: str = "prefix") -> str:
    """What a person types for ``command`` (``help``, ``set(model=…)``) in ``client``'s UI."""
    return f"{PROXY_COMMAND[client]} {command}" if how == "proxy-command" else f" !/{command}"


@pytest.mark.parametrize(("client", "how"), [("claude", "prefix"), ("claude", "proxy-command"), ("codex", "prefix"),
                                             ("gemini", "prefix"), ("gemini", "proxy-command")])
def test_tui_help_only(client: str, how: str, backends: Proxy, clients_install: harness.Install,
                       relay: harness.Relay, root: Path, tmux_ready: None) -> None:
    home, work, _ = conversation(root, "a")
    if how == "proxy-command":
        install_commands(work)
    with open_tui(clients_install, client, relay, backends.key, home, work) as ui:
        log = FakeLog(backends)
        first = len(relay.exchanges)
        ui.send(typed_command(client, "help", how))
        ui.wait_request(first)
        screen = ui.wait_for(HELP_TEXT, timeout=10)
        ui.settle()
        calls = log.since()
        assert HELP_MARK in screen
        tasks, sides = split(calls)
        assert not any(tasks.values()), f"the command-only turn reached the providers:\n{describe(calls)}"
        assert_no_strays([describe(sides)] if any(sides.values()) else [],
                            "a side request of the command-only turn (Codex's thread title) reached a provider")


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_tui_set_then_task(client: str, backends: Proxy, clients_install: harness.Install, relay: harness.Relay,
                           root: Path, tmux_ready: None) -> None:
    chosen, model = CHOSEN[client]
    home, work, notes = conversation(root, "a")
    how = "proxy-command" if client == "gemini" else "prefix"  # Claude Code's /proxy: see test_tui_help_only
    if how == "proxy-command":
        install_commands(work)
    with open_tui(clients_install, client, relay, backends.key, home, work) as ui:
        ui.send(typed_command(client, f"set(model={model})", how))
        ui.wait_for(f"model set to {model}")
        ui.settle()
        log = FakeLog(backends)
        ui.send(task(notes))
        ui.wait_for("The secret word is pelican.")
        ui.settle()
        strays = check_all_on(log.since(), chosen, mention=str(notes), report=tui.tail(ui.screen()))
    assert_no_strays(strays, f"side requests of the task did not follow the conversation's model {model}")


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_tui_two_conversations(client: str, backends: Proxy, clients_install: harness.Install,
                               relay: harness.Relay, root: Path, tmux_ready: None) -> None:
    """Two terminals in one project (same HOME, work directory and proxy key): a command in A only."""
    chosen, model = CHOSEN[client]
    default = DEFAULT_BACKEND[client]
    home, work, _ = conversation(root, "shared")
    notes_a, notes_b = work / "a.txt", work / "b.txt"
    notes_a.write_text("The secret word is pelican\n")
    notes_b.write_text("The secret word is otter\n")
    with open_tui(clients_install, client, relay, backends.key, home, work) as ui_a, \
            open_tui(clients_install, client, relay, backends.key, home, work) as ui_b:
        ui_a.send(typed_command(client, f"set(model={model})"))
        ui_a.wait_for(f"model set to {model}")
        log = FakeLog(backends)
        ui_b.send(task(notes_b))
        ui_a.send(task(notes_a))
        ui_b.wait_for("The secret word is otter.")
        ui_a.wait_for("The secret word is pelican.")
        ui_a.settle()
        calls = log.since()
        report = f"A:\n{tui.tail(ui_a.screen(), 20)}\nB:\n{tui.tail(ui_b.screen(), 20)}"
    strays = check_all_on(calls, chosen, mention=str(notes_a), report=report)
    tasks_b, _ = split(calls, mention=str(notes_b))
    assert tasks_b[default], f"B's task did not reach {default}:\n{describe(calls)}"
    elsewhere = {b: rs for b, rs in tasks_b.items() if b != default and rs}
    assert not elsewhere, f"B's task left {default}:\n{describe(elsewhere)}"
    assert_no_strays(strays, f"side requests of A's task did not follow A's model {model}")


@pytest.mark.parametrize("client", harness.CLIENTS)
def test_tui_mixed(client: str, backends: Proxy, clients_install: harness.Install, relay: harness.Relay,
                   root: Path, tmux_ready: None) -> None:
    chosen, model = CHOSEN[client]
    home, work, notes = conversation(root, "a")
    with open_tui(clients_install, client, relay, backends.key, home, work) as ui:
        log = FakeLog(backends)
        ui.send(f" !/set(model={model}) {task(notes)}")
        ui.wait_for("The secret word is pelican.")
        ui.settle()
        calls = log.since()
        strays = check_all_on(calls, chosen, mention=str(notes), report=tui.tail(ui.screen()))
        first = calls[chosen][0]
        assert "!/set(" not in text_of(first), f"the command was forwarded: …{last_text(first)[-300:]!r}"
        ui.send(" !/session")
        ui.wait_for(f"model = {model}")
    assert_no_strays(strays, f"side requests of the mixed turn did not follow its model {model}")
