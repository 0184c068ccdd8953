"""The client suite's fixtures: the installed CLIs, a recording relay in front of the live proxy, and
the matrix printed at the end.

The CLIs are installed (or found in their cache directory) once, after collection and before any test
runs, so npm's time is not counted against a test's timeout. Without Node.js the suite is skipped
locally with the reason; in CI (``CI=true``) or with ``CLIENTS_REQUIRED=1`` that is a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer

from . import harness

MATRIX_OUTCOMES: dict[tuple[str, str, str], str] = {}
_INSTALL: dict[str, Any] = {}


def clients_required() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("CI", "CLIENTS_REQUIRED"))


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any(item.get_closest_marker("clients") for item in session.items):
        return
    latest = os.environ.get("CLIENTS_LATEST", "") == "1"
    try:
        _INSTALL["install"] = harness.install(latest=latest)
    except harness.ClientsUnavailable as exc:
        _INSTALL["error"] = str(exc)
    except Exception as exc:  # npm killed by its timeout, a full disk, …
        _INSTALL["error"] = f"installing the CLIs failed: {exc!r}"


@pytest.fixture(scope="session")
def clients_install() -> harness.Install:
    if "install" in _INSTALL:
        return _INSTALL["install"]
    reason = _INSTALL.get("error", "the CLIs were not installed")
    node_missing = "is not installed" in reason or "too old" in reason
    if node_missing and not clients_required():
        pytest.skip(f"client suite skipped: {reason}")
    pytest.fail(f"client suite cannot run: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def relay(live_server_thread: LiveServer) -> Iterator[harness.Relay]:
    started = harness.Relay(live_server_thread.url).start()
    yield started
    started.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    spec = getattr(item, "callspec", None)
    if getattr(item, "originalname", None) != "test_cli_matrix" or spec is None:
        return
    key = (spec.params["client"], spec.params["backend"], spec.params["task"])
    if report.failed:
        MATRIX_OUTCOMES[key] = "FAIL"
    elif report.skipped:
        MATRIX_OUTCOMES.setdefault(key, "skip")
    elif report.when == "call":
        MATRIX_OUTCOMES.setdefault(key, "ok")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MATRIX_OUTCOMES:
        return
    install = _INSTALL.get("install")
    versions = ", ".join(f"{c} {v}" for c, v in install.versions.items()) if install else "not installed"
    terminalreporter.write_sep("=", f"agentic CLI × backend × task ({versions})")
    clients = sorted({k[0] for k in MATRIX_OUTCOMES}, key=harness.CLIENTS.index)
    backends = [b for b in ("openai", "openrouter", "anthropic", "gemini") if any(k[1] == b for k in MATRIX_OUTCOMES)]
    tasks = [t for t in ("read", "chain", "edit") if any(k[2] == t for k in MATRIX_OUTCOMES)]
    width = max(len(" ".join(f"{t}:FAIL" for t in tasks)), max(map(len, backends))) + 2
    terminalreporter.write_line(f"{'':8}" + "".join(f"{b:<{width}}" for b in backends))
    for client in clients:
        cells = []
        for backend in backends:
            marks = [MATRIX_OUTCOMES.get((client, backend, task), "-") for task in tasks]
            cells.append(f"{' '.join(f'{t}:{m}' for t, m in zip(tasks, marks, strict=True)):<{width}}")
        terminalreporter.write_line(f"{client:8}" + "".join(cells))
