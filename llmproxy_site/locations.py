"""Where the proxy keeps and finds its files: in a clone of the repository, or installed as a package.

In a clone (``manage.py`` beside the packages) everything stays in the project directory, as it always
has: ``db.sqlite3``, ``.env``, ``templates/``. Installed (``pip install .``, the ``llm-proxy`` command),
the packages sit in site-packages, which is no place for a database: the SQLite default and collected
static files go to the user's data directory, ``.env`` is read from the current directory, and the
templates come from the wheel's data files (``<prefix>/share/llm-interactive-proxy/templates``, where
``[tool.setuptools.data-files]`` in pyproject.toml puts the top-level ``templates/``).

Only the standard library here: the settings and the ``llm-proxy`` command read it before Django is set up.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "llm-interactive-proxy"
INSTALLED_TEMPLATES = f"share/{DISTRIBUTION}/templates/"  # in the wheel's data files
DATA_DIR_NAME = "llm-proxy"


def in_clone() -> bool:
    return (PROJECT_ROOT / "manage.py").is_file()


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/llm-proxy``, else ``~/.local/share/llm-proxy`` (a relative ``XDG_DATA_HOME`` is
    ignored, as the XDG specification says)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share") / DATA_DIR_NAME


def state_dir() -> Path:
    """Where the proxy writes its files by default: the clone itself, or the user's data directory."""
    return PROJECT_ROOT if in_clone() else user_data_dir()


def default_env_file() -> Path:
    return (PROJECT_ROOT if in_clone() else Path.cwd()) / ".env"


@cache
def templates_dir() -> Path:
    """The top-level ``templates/`` (``templates/static/`` holds the static assets)."""
    if in_clone():
        return PROJECT_ROOT / "templates"
    return installed_templates_dir() or PROJECT_ROOT / "templates"


def installed_templates_dir() -> Path | None:
    """Where the installer put the wheel's templates: found through the distribution's file list, as
    ``<prefix>/share`` is the environment's own for a virtualenv but ``~/.local/share`` for ``--user``."""
    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        path = file.as_posix()
        if INSTALLED_TEMPLATES in path:
            inside = path.split(INSTALLED_TEMPLATES, 1)[1]  # e.g. "admin/index.html"
            return Path(str(file.locate())).resolve().parents[inside.count("/")]
    return None
