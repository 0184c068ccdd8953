"""Headless Chromium through the admin: proxy key, failover route, live inspector, dashboard.

Uses the Debian ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them); nothing
is downloaded by Selenium. Screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

import re

import openai
import pytest
from django.contrib.auth.models import AbstractUser

from tests.admin.chromium import ARTIFACTS, NEEDS_CHROMIUM, WAIT_SECONDS
from tests.admin.conftest import STAFF_PASSWORD
from tests.conftest import OPENAI_KEYS, Proxy
from usage_app import recorder

pytestmark = [
    pytest.mark.slow,
    NEEDS_CHROMIUM,
]


def test_an_operator_watches_a_request_live_and_finds_it_counted(
    proxy: Proxy, superuser: AbstractUser, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, WAIT_SECONDS)  # type: ignore[arg-type]

    def shot(name: str) -> None:
        driver.save_screenshot(str(ARTIFACTS / f"admin-{name}.png"))  # type: ignore[attr-defined]

    # Log in.
    driver.get(f"{proxy.url}/admin/login/?next=/admin/")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "username").send_keys(superuser.username)  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "password").send_keys(STAFF_PASSWORD)  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()  # type: ignore[attr-defined]
    wait.until(ec.presence_of_element_located((By.LINK_TEXT, "Usage dashboard")))
    shot("index")

    # A proxy key through the add form; its plaintext is shown once in the message.
    driver.get(f"{proxy.url}/admin/proxy_app/proxykey/add/")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "name").send_keys("browser-key")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "project").send_keys("browser")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "_save").click()  # type: ignore[attr-defined]
    message = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.warning"))).text
    match = re.search(r"(lip-[A-Za-z0-9_\-]{20,})", message)
    assert match, message
    proxy_key = match.group(1)

    # A failover route with two elements through the inline.
    driver.get(f"{proxy.url}/admin/commands_app/failoverroute/add/")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "name").send_keys("browser-route")  # type: ignore[attr-defined]
    driver.find_element(By.NAME, "elements-0-target").send_keys("openai:gpt-4o")  # type: ignore[attr-defined]
    driver.find_element(By.CSS_SELECTOR, ".add-row a").click()  # type: ignore[attr-defined]
    second = wait.until(ec.presence_of_element_located((By.NAME, "elements-1-target")))
    second.send_keys("openrouter:gpt-4")
    position = driver.find_element(By.NAME, "elements-1-position")  # type: ignore[attr-defined]
    position.clear()
    position.send_keys("1")
    shot("route-form")
    driver.find_element(By.NAME, "_save").click()  # type: ignore[attr-defined]
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))
    assert "openai:gpt-4o, openrouter:gpt-4" in driver.page_source  # type: ignore[attr-defined]

    # The inspector, in its own tab.
    driver.switch_to.new_window("tab")  # type: ignore[attr-defined]
    driver.get(f"{proxy.url}/admin/inspector/")  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "inspector-status"), "live"))

    # One request through the route, its first element failing: failover shows up too.
    proxy.fakes.openai.fail_key(OPENAI_KEYS[0], 500, times=20)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy_key, max_retries=0,
                        default_headers={"X-Session-ID": "browser-session"})
    chunks = list(api.chat.completions.create(
        model="browser-route", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Hello inspector, please stream this answer"}],
    ))
    proxy.fakes.openai.reset()
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed

    card = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".lp-request")))
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".lp-request .lp-state"), "200"))
    assert card.find_element(By.CSS_SELECTOR, ".lp-model").text == "browser-route"
    assert "openai:gpt-4o, openrouter:gpt-4" in card.text
    assert "session browser-session" in card.text
    assert card.find_element(By.CSS_SELECTOR, ".lp-text").text.strip() == streamed.strip()
    assert card.find_elements(By.CSS_SELECTOR, ".lp-badge.failover")
    assert "served by openrouter:gpt-4" in card.text
    shot("inspector")

    # The dashboard counts it.
    assert recorder.flush(10)
    driver.set_window_size(1400, 1900)  # type: ignore[attr-defined]
    driver.get(f"{proxy.url}/admin/dashboard/")  # type: ignore[attr-defined]
    wait.until(ec.presence_of_element_located((By.ID, "chart-requests")))
    assert int(driver.find_element(By.ID, "total-requests").text) >= 1  # type: ignore[attr-defined]
    assert "openrouter" in driver.find_element(By.ID, "table-backend").text  # type: ignore[attr-defined]
    assert driver.execute_script("return typeof Chart !== 'undefined' && Object.keys(Chart.instances).length")  # type: ignore[attr-defined]
    shot("dashboard")
    driver.get(f"{proxy.url}/admin/dashboard/?project=browser&period=7d")  # type: ignore[attr-defined]
    wait.until(ec.presence_of_element_located((By.ID, "chart-requests")))
    assert driver.find_element(By.ID, "total-requests").text == "1"  # type: ignore[attr-defined]
    shot("dashboard-project")
