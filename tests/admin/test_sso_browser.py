"""Headless Chromium logs in to the real ``runproxy`` through a real OpenID Connect provider, and out again.

The provider is tests/sso_idp (django-oauth-toolkit) on loopback; its login form is filled in as a person
would. Uses Debian's ``chromium`` and ``chromium-driver`` like tests/admin/test_browser.py: nothing is
downloaded. Screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy_app.operations.sso_backend import NOT_IN_ALLOWED_GROUPS
from tests.admin.chromium import ARTIFACTS, NEEDS_CHROMIUM, WAIT_SECONDS
from tests.conftest import Fakes, free_port
from tests.processes import ProxyProcess
from tests.sso_idp.harness import (
    ALICE,
    MALLORY,
    PROVIDER_NAME,
    IdentityProvider,
    Person,
    start_sso_proxy,
    stop_and_scan,
)

pytestmark = [
    pytest.mark.slow,
    NEEDS_CHROMIUM,
]


@pytest.fixture
def sso_proxy(tmp_path: Path, fakes: Fakes) -> Iterator[ProxyProcess]:
    port = free_port()
    idp = IdentityProvider(tmp_path, port=free_port(), proxy_urls=[f"http://127.0.0.1:{port}"])
    proxy = start_sso_proxy(tmp_path / "proxy", fakes, idp, port)
    try:
        idp.wait_ready()
        proxy.wait_ready()
        yield proxy
    finally:
        stop_and_scan([proxy, idp], (tmp_path / "proxy" / "proxy.sqlite3",))


def test_an_operator_logs_in_with_the_identity_provider_and_out_and_an_outsider_is_refused(
    sso_proxy: ProxyProcess, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_SECONDS)  # type: ignore[arg-type]

    def path() -> str:
        return str(driver.current_url).removeprefix(sso_proxy.url).split("?")[0]  # type: ignore[attr-defined]

    def sign_in_with_provider(person: Person) -> None:
        button = wait.until(ec.element_to_be_clickable((By.ID, "sso-login")))
        assert button.text == f"Log in with {PROVIDER_NAME}"
        button.click()
        wait.until(ec.presence_of_element_located((By.ID, "idp-login")))  # the provider's own page
        assert not driver.current_url.startswith(sso_proxy.url)  # type: ignore[attr-defined]
        driver.find_element(By.ID, "idp-username").send_keys(person.username)  # type: ignore[attr-defined]
        driver.find_element(By.ID, "idp-password").send_keys(person.password)  # type: ignore[attr-defined]
        driver.find_element(By.ID, "idp-submit").click()  # type: ignore[attr-defined]

    # The dashboard asks for a login; the provider's form; back on the dashboard.
    driver.get(f"{sso_proxy.url}/admin/dashboard/")  # type: ignore[attr-defined]
    wait.until(lambda _: path() == "/admin/login/")
    driver.save_screenshot(str(ARTIFACTS / "sso-login-page.png"))  # type: ignore[attr-defined]
    sign_in_with_provider(ALICE)
    wait.until(ec.presence_of_element_located((By.ID, "chart-requests")))
    assert path() == "/admin/dashboard/"
    assert ALICE.email in driver.find_element(By.ID, "user-tools").text.lower()  # type: ignore[attr-defined]
    driver.save_screenshot(str(ARTIFACTS / "sso-dashboard.png"))  # type: ignore[attr-defined]

    # Log out: through the provider's logout, back to the login page; the dashboard is closed again.
    driver.find_element(By.CSS_SELECTOR, "#logout-form button").click()  # type: ignore[attr-defined]
    wait.until(lambda _: path() == "/admin/login/")
    driver.get(f"{sso_proxy.url}/admin/dashboard/")  # type: ignore[attr-defined]
    wait.until(lambda _: path() == "/admin/login/")

    # Someone outside the allowed groups signs in at the provider and is refused here.
    sign_in_with_provider(MALLORY)
    message = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.error")))
    assert message.text == NOT_IN_ALLOWED_GROUPS
    assert path() == "/admin/login/"
    driver.save_screenshot(str(ARTIFACTS / "sso-refused.png"))  # type: ignore[attr-defined]
    driver.get(f"{sso_proxy.url}/admin/dashboard/")  # type: ignore[attr-defined]
    wait.until(lambda _: path() == "/admin/login/")
