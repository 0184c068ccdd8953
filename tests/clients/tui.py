"""Drive the CLIs' interactive UIs (Claude Code, Codex CLI, Gemini CLI) in tmux, as a person would.

``Tui`` starts one CLI in a detached tmux session on a private tmux server (its own socket, so a
developer's tmux is never touched), in the same fresh HOME, work directory and minimal environment
as ``harness.run_cli`` (``harness.prepare_client``), with a real terminal type. ``type()`` sends keys
with a person's pace for the first characters (Gemini CLI reads a ``!`` typed into an empty prompt as
"shell mode" even after a space when both arrive in one burst), ``submit()`` presses Enter,
``wait_for()`` polls the screen (``tmux capture-pane``) for a pattern, and ``close()`` kills the
CLI's process group, the private tmux server and what the CLI left running from its HOME (Codex's TUI
starts a detached app-server daemon).

The adjustments to ``harness.prepare_client`` for the interactive UIs (done here, the harness is shared
with the non-interactive suite): ``TERM=xterm-256color`` without ``NO_COLOR``; Codex's
``--skip-git-repo-check`` dropped (an ``exec`` option the TUI rejects); Claude Code's first-run
screens (theme, folder trust) marked done in ``~/.claude.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from . import harness

START_TIMEOUT = float(os.environ.get("CLIENT_TUI_START_TIMEOUT", "60"))
TURN_TIMEOUT = float(os.environ.get("CLIENT_TUI_TURN_TIMEOUT", "60"))

# what each UI shows once a prompt's leading ``!`` switched it to shell mode
SHELL_MODE = {
    "claude": re.compile(r"^! ", re.M),
    "codex": re.compile(r"Shell mode"),
    "gemini": re.compile(r"shell mode enabled"),
}
# what each UI shows once its prompt takes input
READY = {
    "claude": re.compile(r"accept edits on|for shortcuts"),
    "codex": re.compile(r"for shortcuts|Ask Codex"),
    "gemini": re.compile(r"Type your message"),
}


class TuiError(AssertionError):
    """A UI did not show what was expected in time (the message holds its screen)."""


def tmux_binary() -> str:
    tmux = shutil.which("tmux")
    if not tmux:
        raise harness.ClientsUnavailable("tmux is not installed (the interactive client tests drive the CLIs in tmux)")
    return tmux


def tui_argv_env(install: harness.Install, client: str, home: Path, base_url: str, key: str,
                 work: Path) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start ``client``'s interactive UI."""
    extra, env = harness.prepare_client(client, home, base_url, key)
    env = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
    if client == "codex":
        extra = [arg for arg in extra if arg != "--skip-git-repo-check"]
    if client == "claude":
        seed_claude_state(home, work)
    return [*install.argv(client), *extra], env


def seed_claude_state(home: Path, work: Path) -> None:
    """Claude Code's first-run screens (theme choice, trusting the folder) marked as done."""
    path = home / ".claude.json"
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    state |= {"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 1}
    project = state.setdefault("projects", {}).setdefault(str(work), {})
    project |= {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}
    path.write_text(json.dumps(state, indent=1) + "\n")


class Tui:
    """One CLI's interactive UI in a tmux pane."""

    def __init__(self, install: harness.Install, client: str, *, relay: harness.Relay, key: str, home: Path,
                 work: Path, width: int = 200, height: int = 50) -> None:
        self.install, self.client, self.relay, self.key = install, client, relay, key
        self.home, self.work, self.width, self.height = home, work, width, height
        self.socket = f"llmproxy-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.name = f"{client}-{uuid.uuid4().hex[:6]}"
        self.pane_pid: int | None = None
        self.typed: list[str] = []

    # ------------------------------------------------------------ tmux

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([tmux_binary(), "-L", self.socket, *args], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise TuiError(f"tmux {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def start(self) -> Tui:
        argv, env = tui_argv_env(self.install, self.client, self.home, self.relay.url, self.key, self.work)
        conf = self.home / "tmux.conf"
        # the pane stays after the CLI exits, so a crash's last words can be read; no delay after Escape
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 20000\nset -sg escape-time 10\n"
                        "set -g status off\n")
        self.tmux("-f", str(conf), "new-session", "-d", "-s", self.name, "-x", str(self.width), "-y",
                  str(self.height), "-c", str(self.work), "--",
                  "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv)
        with contextlib.suppress(ValueError, TuiError):
            self.pane_pid = int(self.tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())
        self.wait_for(READY[self.client], timeout=START_TIMEOUT, what="the prompt")
        self.steady()  # keys typed while a UI still sets itself up can be lost
        return self

    def close(self) -> None:
        if self.pane_pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pane_pid, signal.SIGKILL)  # the CLI and what it started in its process group
        self.tmux("kill-server", check=False)  # this test's private server only (its own socket)
        reap(self.home)
        with contextlib.suppress(OSError):
            (Path(f"/tmp/tmux-{os.getuid()}") / self.socket).unlink()

    def __enter__(self) -> Tui:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ keys

    def type(self, text: str) -> None:
        """Type ``text``: its first characters one by one (a person's pace), the rest in small bursts."""
        self.typed.append(text)
        head, rest = text[:3], text[3:]
        for char in head:
            self.tmux("send-keys", "-t", self.name, "-l", "--", char)
            time.sleep(0.12)
        if text.startswith(" !") and SHELL_MODE[self.client].search(self.visible()):
            raise TuiError(f"{self.client}: typing {text[:3]!r} switched the prompt to shell mode (a key typed "
                           f"too early was lost?); screen:\n{tail(self.screen())}")
        for start in range(0, len(rest), 16):
            self.tmux("send-keys", "-t", self.name, "-l", "--", rest[start:start + 16])
            time.sleep(0.03)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def submit(self) -> None:
        time.sleep(0.4)  # let the UI render the text (and close a completion menu's update) first
        self.press("Enter")

    def send(self, text: str) -> None:
        self.type(text)
        self.submit()

    # ------------------------------------------------------------ screen

    def screen(self) -> str:
        """The pane's text with its scrollback, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-t", self.name, "-S", "-20000", check=False)

    def visible(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name, check=False)

    def wait_for(self, pattern: str | re.Pattern[str], *, timeout: float = TURN_TIMEOUT, what: str = "",
                 count: int = 1) -> str:
        """The screen once ``pattern`` (text or regex) shows up ``count`` times; TuiError after ``timeout``."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if len(regex.findall(screen)) >= count:
                return screen
            if time.monotonic() > deadline:
                raise TuiError(f"{self.client}: {what or regex.pattern!r} did not show within {timeout:.0f}s; "
                               f"typed {self.typed!r}; screen:\n{tail(screen)}")
            time.sleep(0.25)

    def steady(self, quiet: float = 1.5, timeout: float = 15) -> None:
        """Wait until the screen has not changed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.visible(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.visible()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def wait_request(self, after: int, timeout: float = TURN_TIMEOUT) -> None:
        """Wait until the relay has seen a request after its ``after``-th one."""
        deadline = time.monotonic() + timeout
        while len(self.relay.exchanges) <= after:
            if time.monotonic() > deadline:
                raise TuiError(f"{self.client}: no request reached the proxy within {timeout:.0f}s; typed "
                               f"{self.typed!r}; screen:\n{tail(self.screen())}")
            time.sleep(0.2)

    def settle(self, quiet: float = 1.5, timeout: float = 20) -> None:
        """Wait until the relay has seen no new request for ``quiet`` seconds (side requests done)."""
        deadline = time.monotonic() + timeout
        seen, since = len(self.relay.exchanges), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = len(self.relay.exchanges)
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return


def reap(home: Path) -> None:
    """Kill what a CLI left running from inside its HOME after its own process group is gone: Codex's
    TUI starts a detached ``app-server`` daemon (its own session) from ``$CODEX_HOME/packages``."""
    prefix = str(home) + "/"
    try:
        listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in listing.splitlines():
        pid, _, args = line.strip().partition(" ")
        if args.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid), signal.SIGKILL)


def tail(screen: str, lines: int = 60) -> str:
    kept = [line.rstrip() for line in screen.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
