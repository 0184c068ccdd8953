"""The wheel's data files hold every file of the top-level ``templates/``, each at its own relative path."""

from __future__ import annotations

import tomllib
from pathlib import Path

from llmproxy_site.locations import INSTALLED_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


def test_every_template_and_static_asset_is_a_data_file_at_its_own_path() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {f"{target}/{path.name}": path for target, patterns in data_files.items()
               for pattern in patterns for path in ROOT.glob(pattern)}
    templates = ROOT / "templates"
    expected = {f"{INSTALLED_TEMPLATES}{path.relative_to(templates).as_posix()}": path
                for path in templates.rglob("*") if path.is_file()}
    assert shipped == expected, "[tool.setuptools.data-files] in pyproject.toml needs an entry per templates/ directory"
