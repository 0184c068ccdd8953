"""A new user's first hour (issue 25): from ``runproxy``'s banner into the admin, the admin's "View site",
and the environment's backends in the admin's lists."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.management import call_command
from django.test import Client

from proxy_app.core.secrets import mask_secret
from proxy_app.models import Backend, BackendKey
from proxy_app.operations.operator_account import OperatorAccount, ensure_operator_account
from proxy_app.providers.key_state import key_fingerprint, key_state
from tests.conftest import ANTHROPIC_KEYS, GEMINI_KEYS, OPENAI_KEYS, OPENROUTER_KEYS, Fakes, configure_backends
from tests.integration.test_runproxy_processes import (
    KEYS,
    processes,  # noqa: F401 - the fixture, for runproxies
)
from tests.processes import ProxyProcess, proxy_env

GENERATED_LOGIN = re.compile(r"Admin login: user '([^']+)', password (\S+) ")
ENV_KEYS = [*OPENAI_KEYS, *OPENROUTER_KEYS, *ANTHROPIC_KEYS, *GEMINI_KEYS]

# ---------------------------------------------------------------- runproxy's banner


@pytest.fixture
def runproxies(request: pytest.FixtureRequest) -> list[ProxyProcess]:
    """``runproxy`` processes, stopped after the test (the process tests' ``processes`` fixture)."""
    return request.getfixturevalue("processes")


def banner(proc: ProxyProcess) -> str:
    """The banner up to its admin-login line (printed before the server serves)."""
    assert proc.proc.stdout is not None
    lines = []
    for line in proc.proc.stdout:
        lines.append(line)
        if line.lstrip().startswith("Admin login:"):
            return "".join(lines)
    raise AssertionError(f"runproxy ended without an admin-login line:\n{''.join(lines)}")


def log_in(client: httpx.Client, username: str, password: str) -> None:
    """The admin's login form, as a browser submits it; ``client`` then holds the session."""
    form = client.get("/admin/login/", params={"next": "/admin/"})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, form.text[:500]
    response = client.post("/admin/login/?next=/admin/", data={
        "csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/admin/"})
    assert response.status_code == 302 and response.headers["location"] == "/admin/", response.text[:2000]


def users(tmp_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(tmp_path / "proxy.sqlite3") as conn:
        return conn.execute("SELECT username, is_superuser FROM auth_user").fetchall()


def test_the_first_start_creates_the_admin_account_and_prints_its_password_once(
    tmp_path: Path, fakes: Fakes, runproxies: list[ProxyProcess]
) -> None:
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0])
    proc = ProxyProcess(env)
    runproxies.append(proc)
    first = banner(proc)
    urls = set(re.findall(r"http://\S+", first))
    assert {f"{proc.url}{page}" for page in ("/", "/admin/", "/admin/dashboard/", "/api/docs/")} <= urls, first
    login = GENERATED_LOGIN.search(first)
    assert login, first
    username, password = login.groups()
    assert username == "admin" and len(password) >= 16 and "shown only this once" in first
    proc.wait_ready()

    with httpx.Client(base_url=proc.url, timeout=10) as browser:
        log_in(browser, username, password)
        index = browser.get("/admin/")
        assert index.status_code == 200 and "Site administration" in index.text
        assert browser.get("/admin/dashboard/").status_code == 200
        assert "Backends" in browser.get("/").text
    runproxies.remove(proc)
    proc.stop()

    again = ProxyProcess(env)
    runproxies.append(again)
    second = banner(again)
    assert "Admin login: user 'admin'" in second and password not in second and not GENERATED_LOGIN.search(second)
    assert "changepassword admin" in second
    runproxies.remove(again)
    assert password not in again.stop()
    assert users(tmp_path) == [("admin", 1)]


def test_the_environment_password_wins_and_only_the_supervisor_creates_the_account(
    tmp_path: Path, fakes: Fakes, runproxies: list[ProxyProcess]
) -> None:
    env = proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0], DJANGO_SUPERUSER_USERNAME="ops",
                    DJANGO_SUPERUSER_PASSWORD="ops-password-from-the-environment",
                    DJANGO_SETTINGS_MODULE="llmproxy_site.settings")  # tests.settings would drop DJANGO_*
    proc = ProxyProcess(env, "--workers", "2")
    runproxies.append(proc)
    first = banner(proc)
    assert "Admin login: user 'ops' with the password in DJANGO_SUPERUSER_PASSWORD" in first
    assert "ops-password-from-the-environment" not in first
    proc.wait_ready()
    with httpx.Client(base_url=proc.url, timeout=10) as browser:
        log_in(browser, "ops", "ops-password-from-the-environment")
        assert browser.get("/admin/").status_code == 200
    runproxies.remove(proc)
    out = first + proc.stop()
    assert out.count("Admin login:") == 1
    assert users(tmp_path) == [("ops", 1)]


def test_without_migrations_the_banner_says_the_account_was_not_checked(
    tmp_path: Path, fakes: Fakes, runproxies: list[ProxyProcess]
) -> None:
    proc = ProxyProcess(proxy_env(tmp_path, fakes, OPENAI_API_KEY=KEYS[0]), "--no-migrate")
    runproxies.append(proc)
    assert "Admin login: not checked: the database is not migrated" in banner(proc)


def test_bootstrap_without_input_or_password_creates_the_admin_account_with_a_password_shown_once(
    transactional_db: None,
) -> None:
    out = io.StringIO()
    call_command("bootstrap", "--no-input", stdout=out)
    created = re.search(r"admin user 'admin' created with password (\S+) \(shown only this once", out.getvalue())
    assert created, out.getvalue()
    assert Client().login(username="admin", password=created.group(1))
    again = io.StringIO()
    call_command("bootstrap", "--no-input", stdout=again)
    assert "admin user 'admin' already exists" in again.getvalue() and created.group(1) not in again.getvalue()


def test_later_starts_name_the_configured_account_else_the_oldest_superuser(transactional_db: None) -> None:
    users_model = get_user_model()
    users_model.objects.create_user("staff-only", password="x" * 12, is_staff=True)
    users_model.objects.create_superuser("root", password="x" * 12)
    users_model.objects.create_superuser("ops", password="x" * 12)
    assert ensure_operator_account({}) == OperatorAccount("root")
    assert ensure_operator_account({"DJANGO_SUPERUSER_USERNAME": "ops"}) == OperatorAccount("ops")
    assert users_model.objects.count() == 3, "no account is created while a staff account exists"


# ---------------------------------------------------------------- the admin


def test_the_admins_view_site_link_lands_on_the_status_page(
    staff_client: Client, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_backends(monkeypatch, fakes)
    index = staff_client.get("/admin/").content.decode()
    view_site = re.search(r'<a href="([^"]+)">View site</a>', index)
    assert view_site, "the admin links the site"
    page = staff_client.get(view_site.group(1))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<tr id="backend-openai">' in html and 'href="/admin/"' in html
    assert 'href="/"' in index and "Proxy status" in index, "the admin index links the status page too"


def environment_section(html: str) -> str:
    match = re.search(r'<div class="module" id="environment-backends">(.*?)</div>\s', html, re.S)
    assert match, "the list shows the environment's backends"
    return match.group(1)


@pytest.mark.parametrize("changelist", ["/admin/proxy_app/backend/", "/admin/proxy_app/backendkey/"])
def test_the_environments_backends_and_masked_keys_are_listed_read_only(
    changelist: str, superuser: AbstractUser, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_backends(monkeypatch, fakes, OPENAI_API_KEY="", OPENAI_API_KEY_1="sk-first-numbered-key-000000001",
                       OPENAI_API_KEY_2="sk-second-numbered-key-00000002",
                       GEMINI_API_BASE_URL=f"http://user:url-secret@127.0.0.1:{fakes.gemini.port}/v1beta?key=q-secret")
    Backend.objects.create(name="anthropic", protocol="anthropic", base_url="http://127.0.0.1:9/v1")
    async_to_sync(key_state().cool_down)("openai", key_fingerprint("sk-second-numbered-key-00000002"), "gpt-4o", 60)
    client = Client()
    client.force_login(superuser)

    html = client.get(changelist).content.decode()
    section = environment_section(html)
    rows = {name: " ".join(re.sub(r"<[^>]+>", " ", row).split())
            for name, row in re.findall(r'<tr id="environment-backend-([a-z]+)">(.*?)</tr>', section, re.S)}
    assert set(rows) == {"openai", "openrouter", "anthropic", "gemini"}
    assert all("environment" in row for row in rows.values())
    assert f"{mask_secret('sk-first-numbered-key-000000001')} active" in rows["openai"]
    assert re.search(rf"{re.escape(mask_secret('sk-second-numbered-key-00000002'))} cooling until \d\d:\d\d:\d\dZ",
                     rows["openai"])
    assert "replaces it" in rows["anthropic"] and rows["openai"].endswith("yes")
    assert f"http://127.0.0.1:{fakes.gemini.port}/v1beta" in rows["gemini"]
    secrets = [*ENV_KEYS, "sk-first-numbered-key-000000001", "sk-second-numbered-key-00000002", "url-secret", "q-secret"]
    assert not [s for s in secrets if s in html], "no key or URL credential is shown"
    assert "<a " not in section and "<input" not in section, "read-only: nothing to follow or change"
    assert not BackendKey.objects.exists() and Backend.objects.count() == 1, "nothing is written to the database"
