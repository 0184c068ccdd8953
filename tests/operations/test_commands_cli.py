"""The operator commands as an operator and their scripts use them: ``--help`` with examples, ``--json``
that parses, progress on stderr and exit statuses (0 done, 1 the operation failed, 2 wrong usage).

Exit statuses and help are read from real ``manage.py`` processes on a throw-away SQLite database;
the JSON and the output are checked against the test database through ``call_command``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from commands_app.models import FailoverRoute, FailoverRouteElement
from proxy_app.core.secrets import hash_key
from proxy_app.models import ProxyKey
from tests.conftest import free_port
from usage_app.models import RollupState, UsageRecord, UsageRollup

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_COMMANDS = ["create_proxy_key", "clear_key_state", "list_routes", "rollup_usage", "usage_report"]


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def manage(database: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` as the operator runs it, on its own SQLite database (never the suite's)."""
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def operator_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("operator") / "db.sqlite3"
    assert manage(database, "migrate", "--verbosity", "0").returncode == 0
    return database


@pytest.fixture
def no_usage(db: None) -> Iterator[None]:
    UsageRecord.objects.all().delete()
    UsageRollup.objects.all().delete()
    RollupState.objects.all().delete()
    yield


def usage_records(days: int) -> int:
    """One record every six hours over the last ``days`` days (closed hours only); returns how many."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    rows = [UsageRecord(created_at=now - timedelta(hours=6 * i + 1), project="web", protocol="openai_chat",
                        path="/v1/chat/completions", backend="openai", model="gpt-4o", status=200,
                        input_tokens=10, output_tokens=5, latency_ms=120.0) for i in range(days * 4)]
    UsageRecord.objects.bulk_create(rows)
    return len(rows)


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
def test_help_explains_the_command_with_examples_as_it_was_called(command: str, tmp_path: Path) -> None:
    result = manage(tmp_path / "db.sqlite3", command, "--help")
    assert result.returncode == 0, result.stderr
    usage, _, examples = result.stdout.partition("\nexamples:\n")
    assert usage.startswith(f"usage: manage.py {command} ")
    example_lines = examples.rstrip().splitlines()
    assert example_lines and all(line.startswith("  ") for line in example_lines), examples
    assert all(f"manage.py {command}" in line for line in example_lines), "%(prog)s is filled in"
    assert ("--json" in usage) == (command != "clear_key_state")


# ---------------------------------------------------------------- create_proxy_key


@pytest.mark.django_db
def test_create_proxy_key_json_gives_the_key_once_with_its_id_and_hint() -> None:
    out, err = run("create_proxy_key", "ci-bot", "--project", "ci", "--allow-model", "openai:gpt-4o", "--json")
    data = json.loads(out)
    row = ProxyKey.objects.get(pk=data["id"])
    assert row.key_hash == hash_key(data["key"]) and data["key"].startswith("lip-")
    assert data == {"key": data["key"], "id": row.pk, "name": "ci-bot", "hint": row.key_hint, "project": "ci",
                    "admin": False, "shared_commands": True, "allowed_models": ["openai:gpt-4o"]}
    assert "not shown again" in err and data["key"] not in err


def test_create_proxy_key_without_a_name_is_a_usage_error(operator_db: Path) -> None:
    result = manage(operator_db, "create_proxy_key", "  ")
    assert result.returncode == 2
    assert "the key needs a name" in result.stderr and result.stdout == ""
    missing = manage(operator_db, "create_proxy_key")
    assert missing.returncode == 2 and "name" in missing.stderr


# ---------------------------------------------------------------- list_routes


@pytest.mark.django_db
def test_list_routes_json_lists_routes_with_owner_and_ordered_elements() -> None:
    owner = ProxyKey.objects.create(name="alice", key_hash="h" * 64, key_hint="lip-...0001")
    for route_owner, targets in ((None, ["openai:gpt-4o", "openrouter:gpt-4"]), (owner, ["gemini:gemini-2.5-flash"])):
        route = FailoverRoute.objects.create(name="main", policy="km", owner=route_owner)
        for position, target in enumerate(targets):
            FailoverRouteElement.objects.create(route=route, position=position, target=target)
    FailoverRoute.objects.create(name="spare", policy="m")
    routes = json.loads(run("list_routes", "--json")[0])
    assert sorted(routes, key=lambda r: (r["name"], r["owner"] or "")) == [
        {"name": "main", "policy": "km", "owner": None, "elements": ["openai:gpt-4o", "openrouter:gpt-4"]},
        {"name": "main", "policy": "km", "owner": "alice", "elements": ["gemini:gemini-2.5-flash"]},
        {"name": "spare", "policy": "m", "owner": None, "elements": []},
    ]
    assert {r["name"] for r in json.loads(run("list_routes", "main", "--json")[0])} == {"main"}
    assert "(empty)" in run("list_routes", "spare")[0]


@pytest.mark.django_db
def test_list_routes_with_none_is_an_empty_list_not_an_error() -> None:
    assert json.loads(run("list_routes", "--json")[0]) == []
    assert run("list_routes")[0].strip() == "no failover routes"


def test_an_unknown_route_fails_with_status_1(operator_db: Path) -> None:
    result = manage(operator_db, "list_routes", "nope")
    assert result.returncode == 1
    assert "no failover route named 'nope'" in result.stderr
    assert manage(operator_db, "list_routes").returncode == 0


# ---------------------------------------------------------------- clear_key_state


@pytest.mark.django_db
def test_clearing_an_unconfigured_backend_fails_and_names_the_configured_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-clear-key-state-000000000001")
    with pytest.raises(CommandError, match=r"no backend named 'opena1'; configured: openai") as raised:
        run("clear_key_state", "opena1")
    assert raised.value.returncode == 1
    assert "key state cleared" in run("clear_key_state", "openai")[0]


def test_clear_key_state_fails_with_status_1_when_redis_is_unreachable(operator_db: Path) -> None:
    result = manage(operator_db, "clear_key_state", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1
    assert "could not be cleared" in result.stderr and "Traceback" not in result.stderr
    assert manage(operator_db, "clear_key_state").returncode == 0


# ---------------------------------------------------------------- rollup_usage


@pytest.mark.django_db
def test_rollup_usage_reports_progress_per_day_on_stderr_and_its_result_as_json(no_usage: None) -> None:
    usage_records(days=3)
    out, err = run("rollup_usage", "--json")
    result = json.loads(out)
    assert result["days"] >= 3 and result["hours"] >= 6 * 11 + 1 and result["rows"] > 0  # from the oldest record
    assert result["rolled_until"] == RollupState.objects.get().rolled_until.isoformat().replace("+00:00", "Z")
    total = result["days"]
    assert err.splitlines() == [f"rolled up day {done}/{total}" for done in range(1, total + 1)]


@pytest.mark.django_db
def test_rollup_usage_is_quiet_with_verbosity_0_and_nothing_to_do_is_not_an_error(no_usage: None) -> None:
    out, err = run("rollup_usage", "--verbosity", "0")
    assert err == "" and out.startswith("rolled 0 hour(s) and 0 day(s) into 0 row(s)")


# ---------------------------------------------------------------- usage_report


@pytest.mark.django_db
def test_usage_report_json_has_the_totals_and_breakdown_of_usage_stats(no_usage: None) -> None:
    count = usage_records(days=2)
    data = json.loads(run("usage_report", "--since", "3d", "--group-by", "project", "--json")[0])
    assert data["group_by"] == "project" and data["totals"]["requests"] == count
    assert [(row["key"], row["requests"], row["input_tokens"]) for row in data["breakdown"]] == [
        ("web", count, 10 * count)]
    table = run("usage_report", "--since", "3d", "--group-by", "project")[0]
    assert "TOTAL" in table and f"{count:,}" in table


@pytest.mark.django_db
def test_usage_report_of_an_empty_period_is_zero_not_an_error(no_usage: None) -> None:
    data = json.loads(run("usage_report", "--project", "nobody", "--json")[0])
    assert data["totals"]["requests"] == 0 and data["breakdown"] == []


@pytest.mark.parametrize("args", [["--since", "last week"], ["--group-by", "colour"]])
def test_usage_report_with_a_bad_option_is_a_usage_error(args: list[str], operator_db: Path) -> None:
    result = manage(operator_db, "usage_report", *args)
    assert result.returncode == 2
    assert args[0] in result.stderr and result.stdout == ""
