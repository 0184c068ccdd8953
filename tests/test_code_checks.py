"""The static checks run with the suite, so CI and a developer's ``./scripts/test`` run the same ones:
ruff (style and imports), import-linter (the package contracts in pyproject.toml: layers that depend
only downwards, what the commands and usage apps may import, a pure core) and mypy with django-stubs
(strict for ``proxy_app.core`` and ``proxy_app.protocols``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> None:
    executable = BIN / tool
    if not executable.exists():
        pytest.fail(f"{tool} is not installed next to {sys.executable}: install the dev extras (pip install -e '.[dev]')")
    result = subprocess.run([str(executable), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing() -> None:
    run("ruff", "check", ".")


def test_the_package_contracts_hold() -> None:
    run("lint-imports")


def test_mypy_passes() -> None:
    run("mypy")
