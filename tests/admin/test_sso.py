"""Single sign-on against a real OpenID Connect provider: the real ``runproxy``, the provider's real login form.

The provider (tests/sso_idp, django-oauth-toolkit) and two proxies run as subprocesses on loopback: one
with password logins on, one with ``ADMIN_PASSWORD_LOGIN=false``. An HTTP client walks the browser's path
through the redirects; tests/admin/test_sso_browser.py walks it in Chromium.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.test import Client, override_settings

from proxy_app.operations.sso import PASSWORD_LOGIN_OFF, SSO_UNREACHABLE
from proxy_app.operations.sso_backend import NOT_IN_ALLOWED_GROUPS, AdminRole, sso_role_for
from tests import secret_scan
from tests.conftest import Fakes, free_port
from tests.processes import ProxyProcess
from tests.sso_idp.harness import (
    ALICE,
    MALLORY,
    OLIVER,
    OPERATOR_PASSWORD,
    PROVIDER_NAME,
    IdentityProvider,
    Person,
    start_sso_proxy,
    stop_and_scan,
)


@dataclass
class Site:
    idp: IdentityProvider
    proxy: ProxyProcess  # password logins on
    sso_only: ProxyProcess  # ADMIN_PASSWORD_LOGIN=false
    databases: tuple[Path, Path]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, fakes: Fakes) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("sso")
    ports = free_port(), free_port()
    idp = IdentityProvider(directory, port=free_port(), proxy_urls=[f"http://127.0.0.1:{p}" for p in ports])
    databases = directory / "proxy" / "proxy.sqlite3", directory / "sso-only" / "proxy.sqlite3"
    proxy = start_sso_proxy(databases[0].parent, fakes, idp, ports[0])
    sso_only = start_sso_proxy(databases[1].parent, fakes, idp, ports[1], ADMIN_PASSWORD_LOGIN="false")
    try:
        for process in (idp, proxy, sso_only):
            process.wait_ready()
        yield Site(idp, proxy, sso_only, databases)
    finally:
        stop_and_scan([proxy, sso_only, idp], databases)


def browser_like() -> httpx.Client:
    """An HTTP client that follows redirects, keeps cookies and puts every page through the secret scan."""
    def scan(response: httpx.Response) -> None:
        response.read()
        secret_scan.WATCH.scan(f"page {response.url}", response.text)

    return httpx.Client(follow_redirects=True, timeout=20, event_hooks={"response": [scan]})


def sign_in_at_provider(client: httpx.Client, login_form: httpx.Response, person: Person) -> httpx.Response:
    """Fill in the provider's login form; returns where the redirects end."""
    assert "Test identity provider" in login_form.text, login_form.text
    next_url = html.unescape(re.search(r'name="next" value="([^"]*)"', login_form.text).group(1))  # type: ignore[union-attr]
    return client.post(str(login_form.url.copy_with(query=None)), data={
        "username": person.username, "password": person.password, "next": next_url,
        "csrfmiddlewaretoken": client.cookies["idp_csrftoken"],
    })


def sso_login(proxy: ProxyProcess, person: Person) -> tuple[httpx.Client, httpx.Response]:
    client = browser_like()
    login_page = client.get(f"{proxy.url}/admin/login/")
    button = re.search(r'id="sso-login" href="([^"]+)"', login_page.text)
    assert button, login_page.text
    return client, sign_in_at_provider(client, client.get(f"{proxy.url}{html.unescape(button.group(1))}"), person)


def account(database: Path, email: str) -> tuple[bool, bool, str] | None:
    """(is_staff, is_superuser, password) of the proxy's user with this e-mail, read from its database."""
    with closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT is_staff, is_superuser, password FROM auth_user WHERE email = ?", (email,)).fetchone()


def messages_on(page: httpx.Response) -> str:
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', page.text, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_a_member_of_the_admin_group_lands_on_the_dashboard_as_superuser(site: Site) -> None:
    client, landing = sso_login(site.proxy, ALICE)
    assert landing.status_code == 200
    assert landing.url.path == "/admin/dashboard/"
    assert 'id="chart-requests"' in landing.text
    assert client.get(f"{site.proxy.url}/admin/auth/user/").status_code == 200  # superusers see every model
    is_staff, is_superuser, password = account(site.databases[0], ALICE.email)  # type: ignore[misc]
    assert (is_staff, is_superuser) == (1, 1)
    assert password.startswith("!"), "an account made by single sign-on has no usable password"


def test_a_member_of_the_operator_group_is_staff_but_not_superuser(site: Site) -> None:
    client, landing = sso_login(site.proxy, OLIVER)
    assert landing.url.path == "/admin/dashboard/"
    assert landing.status_code == 200
    assert client.get(f"{site.proxy.url}/admin/auth/user/").status_code == 403
    assert account(site.databases[0], OLIVER.email)[:2] == (1, 0)  # type: ignore[index]


def test_someone_outside_the_allowed_groups_is_refused_and_not_logged_in(site: Site) -> None:
    client, landing = sso_login(site.proxy, MALLORY)
    assert landing.url.path == "/admin/login/"
    assert NOT_IN_ALLOWED_GROUPS in messages_on(landing)
    dashboard = client.get(f"{site.proxy.url}/admin/dashboard/")
    assert dashboard.url.path == "/admin/login/", "no session was opened"
    assert account(site.databases[0], MALLORY.email) is None, "no account was created"


def test_the_page_asked_for_is_where_the_login_ends(site: Site) -> None:
    client = browser_like()
    login_page = client.get(f"{site.proxy.url}/admin/usage_app/usagerecord/")
    assert login_page.url.path == "/admin/login/"
    button = re.search(r'id="sso-login" href="([^"]+)"', login_page.text).group(1)  # type: ignore[union-attr]
    landing = sign_in_at_provider(client, client.get(f"{site.proxy.url}{html.unescape(button)}"), ALICE)
    assert landing.url.path == "/admin/usage_app/usagerecord/"


def test_logout_ends_the_session_here_and_at_the_provider(site: Site) -> None:
    client, _ = sso_login(site.proxy, ALICE)
    client.get(f"{site.proxy.url}/admin/")
    after = client.post(f"{site.proxy.url}/admin/logout/", data={"csrfmiddlewaretoken": client.cookies["csrftoken"]})
    assert any(r.url.host == "127.0.0.1" and r.url.port == site.idp.port and r.url.path == "/o/logout/"
               for r in after.history), [str(r.url) for r in after.history]
    assert after.url.path == "/admin/login/"
    assert client.get(f"{site.proxy.url}/admin/dashboard/").url.path == "/admin/login/"
    again = client.get(f"{site.proxy.url}/admin/sso/start/")
    assert again.url.path == "/accounts/login/", "the provider asks for the password again: its session ended too"


def test_password_login_works_beside_single_sign_on(site: Site) -> None:
    client = browser_like()
    page = client.get(f"{site.proxy.url}/admin/login/")
    assert f"Log in with {PROVIDER_NAME}" in page.text
    assert 'id="login-form"' in page.text
    landing = client.post(f"{site.proxy.url}/admin/login/?next=/admin/dashboard/", data={
        "username": "operator", "password": OPERATOR_PASSWORD, "next": "/admin/dashboard/",
        "csrfmiddlewaretoken": client.cookies["csrftoken"],
    })
    assert landing.url.path == "/admin/dashboard/"


def test_with_password_login_off_only_single_sign_on_logs_in(site: Site) -> None:
    client = browser_like()
    page = client.get(f"{site.sso_only.url}/admin/login/")
    assert f"Log in with {PROVIDER_NAME}" in page.text
    assert 'id="login-form"' not in page.text and 'name="password"' not in page.text
    token = "t" * 32  # the page has no form, so no CSRF token: a pair of our own passes the CSRF check
    client.cookies.set("csrftoken", token)
    refused = client.post(f"{site.sso_only.url}/admin/login/", data={
        "username": "operator", "password": OPERATOR_PASSWORD, "next": "/admin/", "csrfmiddlewaretoken": token,
    })
    assert refused.status_code == 403
    assert PASSWORD_LOGIN_OFF in refused.text
    assert client.get(f"{site.sso_only.url}/admin/dashboard/").url.path == "/admin/login/"

    client, landing = sso_login(site.sso_only, ALICE)
    assert landing.url.path == "/admin/dashboard/"
    assert client.get(f"{site.sso_only.url}/admin/dashboard/").url.path == "/admin/dashboard/"


@pytest.mark.django_db
def test_without_configuration_there_is_no_single_sign_on() -> None:
    client = Client()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    assert b"sso-login" not in page.content and b'id="login-form"' in page.content
    assert client.get("/admin/sso/start/").status_code == 404
    assert client.get("/admin/sso/callback/?code=x&state=y").status_code == 404


@pytest.mark.django_db
def test_an_unreachable_provider_is_a_message_on_the_login_page() -> None:
    issuer = f"http://127.0.0.1:{free_port()}/o"  # nothing listens there
    with override_settings(OIDC_ENABLED=True, OIDC_ISSUER=issuer, OIDC_CLIENT_ID="proxy", OIDC_TIMEOUT=2.0):
        client = Client()
        assert b'id="sso-login"' in client.get("/admin/login/").content, "the page itself never asks the provider"
        page = client.get("/admin/sso/start/", follow=True)
    assert page.redirect_chain == [("/admin/login/", 302)]
    assert SSO_UNREACHABLE in html.unescape(page.content.decode())


@pytest.mark.parametrize(("claim", "claims", "role"), [
    ("groups", {"groups": ["llm-admins", "sales"]}, AdminRole(is_staff=True, is_superuser=True)),
    ("groups", {"groups": ["llm-operators"]}, AdminRole(is_staff=True, is_superuser=False)),
    ("groups", {"groups": ["llm-operators", "llm-admins"]}, AdminRole(is_staff=True, is_superuser=True)),
    ("groups", {"groups": "llm-operators"}, AdminRole(is_staff=True, is_superuser=False)),
    ("groups", {"groups": ["sales"]}, None),
    ("groups", {}, None),
    ("groups", {"groups": None}, None),
    ("roles", {"groups": ["llm-admins"], "roles": ["sales"]}, None),
    ("realm_access.roles", {"realm_access": {"roles": ["llm-admins"]}}, AdminRole(is_staff=True, is_superuser=True)),
    ("realm_access.roles", {"realm_access": ["llm-admins"]}, None),
])
def test_groups_map_to_staff_or_superuser(claim: str, claims: dict[str, object], role: AdminRole | None) -> None:
    with override_settings(OIDC_GROUPS_CLAIM=claim, OIDC_SUPERUSER_GROUPS=["llm-admins"],
                           OIDC_STAFF_GROUPS=["llm-operators"]):
        assert sso_role_for(claims) == role
