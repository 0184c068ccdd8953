"""``runproxy --workers N``: one listening address served by N single-process servers (Daphne or uvicorn).

The supervisor binds one ``SO_REUSEPORT`` socket per worker on the same address, so the kernel
spreads incoming connections across the workers' own accept queues (one shared socket would let
whichever Twisted reactor wakes first accept a whole burst of keep-alive connections). The
supervisor keeps every socket open: a worker that dies is restarted on the same socket, and
connections queued there meanwhile are served by its replacement instead of being refused.

Workers are fresh interpreters (``python -m django runproxy --fd N --worker-index I``), not forks
of a process that has already opened database connections and started threads. Only worker 0 runs
the in-process usage rollups (when there is no Celery broker), so two workers never roll up the
same hours at once. ``runproxy`` checks, migrates and prints its banner, then replaces itself
(``exec``) with this module's ``main``, which needs nothing but the standard library: the
supervisor stays at ~15 MB instead of keeping the ~110 MB of a process that has loaded Django.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger("llmproxy.workers")

# A worker that keeps dying is broken (import error, bad configuration), and restarting it would
# only loop: after this many exits of one worker within the window, the supervisor stops instead.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
# How long workers get to finish in-flight requests and flush usage records after SIGTERM, unless
# runproxy says (--stop-timeout: from SHUTDOWN_GRACE_SECONDS and USAGE_SHUTDOWN_FLUSH_SECONDS).
SHUTDOWN_TIMEOUT_SECONDS = 47.0
POLL_SECONDS = 0.2
LISTEN_BACKLOG = 2048


def reuseport_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening TCP sockets on one address, in one ``SO_REUSEPORT`` group (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            # SO_REUSEADDR too: a restart within TIME_WAIT of the last run's connections must bind again.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(LISTEN_BACKLOG)
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def worker_command(*, server: str, fd: int, index: int) -> list[str]:
    return [sys.executable, "-m", "django", "runproxy", "--server", server, "--fd", str(fd),
            "--worker-index", str(index), "--no-migrate"]


def env_with_project(project_root: str) -> dict[str, str]:
    """This process's environment with the project directory first on ``PYTHONPATH`` (once)."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != project_root]
    env["PYTHONPATH"] = os.pathsep.join([project_root, *paths])
    return env


def worker_env(index: int, *, settings_module: str, project_root: str) -> dict[str, str]:
    env = env_with_project(project_root)
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    if index > 0:
        env["USAGE_ROLLUP_INTERVAL_SECONDS"] = "0"  # the in-process rollups run in worker 0 only
    return env


def exec_supervisor(*, server: str, sockets: list[socket.socket], settings_module: str, project_root: str,
                    stop_timeout: float) -> None:
    """Replace this process with the supervisor (``main``); the listening sockets are inherited."""
    # Run by path, not ``-m``: importing the ``llmproxy_site`` package would load Celery and Twisted.
    argv = [sys.executable, "-I", os.path.abspath(__file__), "--server", server,
            "--settings", settings_module, "--root", project_root, "--stop-timeout", str(stop_timeout)]
    for sock in sockets:
        argv += ["--fd", str(sock.fileno())]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env_with_project(project_root))


class Supervisor:
    """Start the workers, restart the ones that die, and stop them all on SIGINT/SIGTERM."""

    def __init__(self, *, server: str, sockets: list[socket.socket], settings_module: str, project_root: str,
                 stop_timeout: float) -> None:
        self.server = server
        self.sockets = sockets
        self.settings_module = settings_module
        self.project_root = project_root
        self.stop_timeout = stop_timeout
        self.workers: list[subprocess.Popen[Any] | None] = [None] * len(sockets)
        self.exits: list[deque[float]] = [deque(maxlen=MAX_RESTARTS) for _ in sockets]
        self.stopping = False

    def start_worker(self, index: int) -> None:
        fd = self.sockets[index].fileno()
        env = worker_env(index, settings_module=self.settings_module, project_root=self.project_root)
        self.workers[index] = subprocess.Popen(worker_command(server=self.server, fd=fd, index=index),
                                               env=env, pass_fds=(fd,))

    def request_stop(self, signum: int, _frame: Any = None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Supervise until a stop signal; the exit status is non-zero when a worker kept dying."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            for index in range(len(self.sockets)):
                self.start_worker(index)
            while not self.stopping:
                time.sleep(POLL_SECONDS)
                status = self.reap()
                if status:
                    break
        finally:
            # The sockets first: a worker's stopping server closes its copy, and once no process holds
            # a socket the kernel refuses new connections instead of queueing them for nobody.
            for sock in self.sockets:
                sock.close()
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def reap(self) -> int:
        """Restart workers that died; give up (non-zero) on one that keeps dying."""
        for index, proc in enumerate(self.workers):
            if proc is None or proc.poll() is None or self.stopping:
                continue
            now = time.monotonic()
            exits = self.exits[index]
            exits.append(now)
            if len(exits) == MAX_RESTARTS and now - exits[0] < RESTART_WINDOW_SECONDS:
                logger.error("worker %d exited %d times within %.0f s (last status %s); stopping",
                             index, MAX_RESTARTS, RESTART_WINDOW_SECONDS, proc.returncode)
                return proc.returncode or 1
            logger.warning("worker %d (pid %d) exited with status %s; restarting it", index, proc.pid, proc.returncode)
            self.start_worker(index)
        return 0

    def stop_all(self) -> None:
        running = [p for p in self.workers if p is not None and p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker pid %d did not stop within %.0f s; killing it", proc.pid, self.stop_timeout)
                proc.kill()
                proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python llmproxy_site/server/workers.py",
                                     description="Supervise runproxy workers (started by runproxy --workers N).")
    parser.add_argument("--server", choices=["daphne", "uvicorn"], required=True)
    parser.add_argument("--fd", type=int, action="append", required=True, help="an inherited listening socket")
    parser.add_argument("--settings", required=True, help="DJANGO_SETTINGS_MODULE for the workers")
    parser.add_argument("--root", required=True, help="the project directory (put on the workers' PYTHONPATH)")
    parser.add_argument("--stop-timeout", type=float, default=SHUTDOWN_TIMEOUT_SECONDS,
                        help="seconds a stopping worker gets before it is killed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sockets = [socket.socket(fileno=fd) for fd in args.fd]
    for sock in sockets:
        sock.set_inheritable(True)
    status = Supervisor(server=args.server, sockets=sockets, settings_module=args.settings,
                        project_root=args.root, stop_timeout=args.stop_timeout).run()
    if status:
        logger.error("a worker process kept failing (exit status %s): stopped", status)
    return status


if __name__ == "__main__":
    sys.exit(main())
