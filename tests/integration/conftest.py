"""Integration-test hooks: collect the outcome of every ``test_matrix`` cell and print the matrix at the end."""

from __future__ import annotations

import sys
from typing import Any

import pytest

MATRIX_OUTCOMES: dict[tuple[str, str, str], str] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    spec = getattr(item, "callspec", None)
    if getattr(item, "originalname", None) != "test_matrix" or spec is None:
        return
    key = (spec.params["sdk"], spec.params["backend"], spec.params["scenario"])
    if report.failed:
        MATRIX_OUTCOMES[key] = "FAIL"  # in setup, call or teardown
    elif report.skipped:
        MATRIX_OUTCOMES.setdefault(key, "skip")
    elif report.when == "call":
        MATRIX_OUTCOMES.setdefault(key, "ok")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    module = sys.modules.get("tests.integration.test_matrix")
    if module is None or not MATRIX_OUTCOMES:
        return
    terminalreporter.write_sep("=", "client SDK × backend × scenario")
    for line in module.render_matrix(MATRIX_OUTCOMES):
        terminalreporter.write_line(line)
