"""``llm-proxy``: the proxy's command, for an installed package (``pip install .``) and a clone alike.

``llm-proxy`` (or ``llm-proxy serve``) starts the proxy; the other subcommands are the operator's
management commands under shorter names (``create-key`` runs ``create_proxy_key``), each with that
command's own ``--help``; ``llm-proxy manage …`` runs any other management command. ``--config FILE``,
anywhere on the command line, names the proxy's configuration file as ``LLM_PROXY_CONFIG`` does; a
file that does not validate stops the command with its errors, one line each, and exit status 2, as any
setting that cannot be used does (``configuration error: …``).

Outside a clone the SQLite database lives in the user's data directory (``llmproxy_site.locations``),
which is created on first use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management import ManagementUtility
from django.core.management.base import BaseCommand

from llmproxy_site import locations
from llmproxy_site.operator_command import EXIT_USAGE

PROG = "llm-proxy"


@dataclass(frozen=True)
class Subcommand:
    command: str  # the management command it runs
    summary: str


SUBCOMMANDS = {
    "serve": Subcommand("runproxy", "start the proxy (what `llm-proxy` alone does)"),
    "bootstrap": Subcommand("bootstrap", "apply migrations, create the admin user, import the environment's keys"),
    "create-key": Subcommand("create_proxy_key", "create a key for clients; it is printed once"),
    "list-routes": Subcommand("list_routes", "list the failover routes"),
    "clear-key-state": Subcommand("clear_key_state", "forget backend keys' cooldowns and invalid marks"),
    "rotate-kek": Subcommand("rotate_kek", "re-seal stored backend keys with the first key-encryption key"),
    "usage-report": Subcommand("usage_report", "usage totals and a breakdown, as a table or JSON"),
    "rollup-usage": Subcommand("rollup_usage", "roll usage records into hourly and daily rollups now"),
    "check-config": Subcommand("check_config", "validate a configuration file without starting the proxy"),
    "manage": Subcommand("", "any other Django management command (migrate, changepassword, …)"),
}

EXAMPLES = f"""\
examples:
  {PROG}                                  serve on http://127.0.0.1:8000
  {PROG} serve --port 9000 --workers 2
  {PROG} --config proxy.yaml              serve with a configuration file
  {PROG} bootstrap --no-input
  {PROG} create-key alice --project web
  {PROG} usage-report --since 7d --json
  {PROG} manage changepassword admin
  {PROG} serve --help                     every option of a subcommand (also: {PROG} help serve)"""


def invocation(command: str) -> str:
    """How the operator runs the management command ``command`` here: ``manage.py`` in a clone, else the
    ``llm-proxy`` subcommand that runs it (``llm-proxy manage`` for the others)."""
    if locations.in_clone():
        return f"manage.py {command}"
    sub = next((name for name, spec in SUBCOMMANDS.items() if spec.command == command), None)
    return f"{PROG} {sub}" if sub else f"{PROG} manage {command}"


def top_help() -> str:
    width = max(map(len, SUBCOMMANDS))
    commands = "\n".join(f"  {name:<{width}}  {sub.summary}" for name, sub in SUBCOMMANDS.items())
    database = locations.state_dir() / "db.sqlite3"
    return f"""\
usage: {PROG} [--config FILE] [COMMAND] [OPTIONS]

The LLM gateway: OpenAI, Anthropic and Gemini clients to any backend.

commands:
{commands}

options:
  --config FILE  the configuration file (see proxy.example.yaml; also LLM_PROXY_CONFIG)
  --version      the installed version
  -h, --help     this help

files:
  database  {database} (SQLite, created on first run; DATABASE_URL chooses another)
  .env      {locations.default_env_file()} (read when present; LLM_PROXY_ENV_FILE names another)

{EXAMPLES}
"""


def take_config_option(argv: list[str]) -> list[str]:
    """``argv`` without ``--config FILE`` / ``--config=FILE``, which goes to ``LLM_PROXY_CONFIG``."""
    out, args = [], iter(argv)
    for arg in args:
        if arg == "--config" or arg.startswith("--config="):
            path = arg.partition("=")[2] if "=" in arg else next(args, "")
            if not path:
                sys.exit("error: --config needs a file")
            os.environ["LLM_PROXY_CONFIG"] = os.path.abspath(path)
        else:
            out.append(arg)
    return out


def check_config_file(command: str) -> None:
    """Stop with the configuration file's errors (exit status 2) before Django loads the settings,
    except for ``check_config``, whose job it is to report them."""
    if not os.environ.get("LLM_PROXY_CONFIG") or command == "check_config":
        return
    from proxy_app.core.file_config import ConfigError, load_config

    try:
        load_config(os.environ["LLM_PROXY_CONFIG"])
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def create_database_directory() -> None:
    """Create the SQLite database's directory: the user's data directory on an installed proxy's first run."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) != ":memory:":
        Path(database["NAME"]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)


class Utility(ManagementUtility):
    """Django's ``manage.py`` machinery, which creates the database's directory before a command runs
    (when the settings, ``--settings`` included, are loaded) and knows commands by other ``names``:
    ``llm-proxy create-key``'s usage, help and errors say so where ``manage.py`` says ``create_proxy_key``."""

    def __init__(self, argv: list[str], names: Mapping[str, str] | None = None) -> None:
        super().__init__(argv)
        self.names = names or {}

    def fetch_command(self, subcommand: str) -> BaseCommand:
        command = super().fetch_command(self.names.get(subcommand, subcommand))
        create_database_directory()
        return command


def execute(argv: list[str], command: str, names: Mapping[str, str] | None = None) -> None:
    """Run the management command ``command`` (``argv``: ``[prog, name, options…]``)."""
    check_config_file(command)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy_site.settings")
    try:
        Utility(argv, names).execute()
    except ImproperlyConfigured as exc:  # a bad setting: one line, not a traceback
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def run_management(argv: list[str]) -> None:
    """``manage.py``: ``argv`` is ``[prog, command, options…]``, with ``--config FILE`` anywhere."""
    argv = take_config_option(argv)
    execute(argv, argv[1] if len(argv) > 1 else "")


def main(argv: Sequence[str] | None = None) -> None:
    args = take_config_option(list(sys.argv[1:] if argv is None else argv))
    first = args[0] if args else ""
    if first in ("-h", "--help") or args == ["help"]:
        print(top_help())
        return
    if first == "--version":
        from importlib.metadata import version

        print(f"{PROG} {version(locations.DISTRIBUTION)}")
        return
    if first == "help":  # help SUBCOMMAND
        first, args = args[1], [args[1], "--help"]
    name, rest = (first, args[1:]) if first and not first.startswith("-") else ("serve", args)
    if name not in SUBCOMMANDS:
        print(f"{PROG}: unknown command {name!r}; the commands are: {', '.join(SUBCOMMANDS)} ({PROG} --help)",
              file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if name == "manage":
        execute([f"{PROG} manage", *rest], rest[0] if rest else "")
    else:
        execute([PROG, name, *rest], SUBCOMMANDS[name].command, {name: SUBCOMMANDS[name].command})


if __name__ == "__main__":
    main()
