"""Where the proxy keeps its files: the XDG rule for the user's data directory, the clone's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmproxy_site import locations

ROOT = Path(__file__).resolve().parents[2]


def test_the_user_data_directory_follows_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert locations.user_data_dir() == tmp_path / "xdg" / "llm-proxy"


@pytest.mark.parametrize("xdg", [None, "", "relative/data"])
def test_without_an_absolute_xdg_data_home_it_is_under_home(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert locations.user_data_dir() == tmp_path / ".local" / "share" / "llm-proxy"


def test_a_clone_keeps_its_files_in_the_project_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert locations.in_clone()
    assert locations.state_dir() == ROOT
    assert locations.default_env_file() == ROOT / ".env"
    assert locations.templates_dir() == ROOT / "templates"
