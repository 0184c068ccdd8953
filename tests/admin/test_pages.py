"""The dashboard and inspector pages: staff-only, linked from the admin index, fed by usage_app.stats."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils import timezone

from proxy_app.operations.dashboard import NO_PROJECT
from usage_app.models import UsageRecord

PAGES = ("/admin/dashboard/", "/admin/inspector/")


def make_record(*, hours_ago: float, project: str = "alpha", backend: str = "openai", model: str = "gpt-4o",
                status: int = 200, input_tokens: int = 100, output_tokens: int = 50,
                cost: str | None = "0.00125") -> UsageRecord:
    return UsageRecord.objects.create(
        created_at=timezone.now() - timedelta(hours=hours_ago), project=project, protocol="openai_chat",
        path="/v1/chat/completions", requested_model=model, backend=backend, model=model, status=status,
        input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=None if cost is None else Decimal(cost),
        latency_ms=120.0,
    )


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(url: str, transactional_db: None) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", PAGES)
def test_it_refuses_users_who_are_not_staff(url: str, plain_user: AbstractUser) -> None:
    client = Client()
    client.force_login(plain_user)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", PAGES)
def test_staff_see_the_page(url: str, staff_client: Client) -> None:
    response = staff_client.get(url)
    assert response.status_code == 200
    assert b'id="content-main"' in response.content


def test_the_admin_index_links_both_pages(staff_client: Client) -> None:
    html = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in html
    assert 'href="/admin/inspector/"' in html
    assert "Failover routes" in html  # the stock app list is still there


def test_the_dashboard_shows_usage_records(staff_client: Client) -> None:
    make_record(hours_ago=1)
    make_record(hours_ago=2, status=502, output_tokens=0, cost=None)
    make_record(hours_ago=3, project="beta", backend="openrouter", model="openai/gpt-4", cost="0.01")
    make_record(hours_ago=24 * 3, project="beta", backend="anthropic", model="claude-sonnet-4-5")  # only in 7d/30d

    response = staff_client.get("/admin/dashboard/")
    assert response.status_code == 200
    data = response.context["data"]
    assert data["totals"]["requests"] == 3
    assert data["totals"]["errors"] == 1
    assert data["totals"]["error_rate"] == pytest.approx(33.33)
    assert data["totals"]["input_tokens"] == 300
    assert data["totals"]["cost_usd"] == pytest.approx(0.01125)
    assert sum(data["series"]["requests"]) == 3
    assert len(data["series"]["labels"]) in (24, 25)
    assert {row["key"]: row["requests"] for row in data["by_backend"]} == {"openai": 2, "openrouter": 1}
    assert {row["key"] for row in data["by_model"]} == {"gpt-4o", "openai/gpt-4"}
    html = response.content.decode()
    assert 'id="dashboard-data"' in html
    assert "/static/vendor/chartjs/chart.umd.js" in html
    assert "33.33%" in html
    assert "openrouter" in html
    assert '<option value="beta">beta</option>' in html


def test_the_dashboard_filters_by_period_and_project(staff_client: Client) -> None:
    make_record(hours_ago=1, project="alpha")
    make_record(hours_ago=2, project="")
    make_record(hours_ago=24 * 3, project="beta", backend="anthropic", model="claude-sonnet-4-5")
    make_record(hours_ago=24 * 20, project="beta", backend="anthropic", model="claude-sonnet-4-5")

    week = staff_client.get("/admin/dashboard/", {"period": "7d"}).context["data"]
    assert week["totals"]["requests"] == 3
    assert len(week["series"]["labels"]) in (168, 169)
    month_beta = staff_client.get("/admin/dashboard/", {"period": "30d", "project": "beta"}).context["data"]
    assert month_beta["totals"]["requests"] == 2
    assert month_beta["bucket"] == "day"
    assert [row["key"] for row in month_beta["by_backend"]] == ["anthropic"]
    no_project = staff_client.get("/admin/dashboard/", {"project": NO_PROJECT}).context["data"]
    assert no_project["totals"]["requests"] == 1


def test_the_dashboard_agrees_with_rollups(staff_client: Client) -> None:
    from usage_app.stats import usage_rollup

    for hours in (5, 6, 30):
        make_record(hours_ago=hours)
    usage_rollup()
    make_record(hours_ago=0)  # in the open hour, which stats read from raw rows (0.1 h ago flaked just after xx:00)
    data = staff_client.get("/admin/dashboard/", {"period": "7d"}).context["data"]
    assert data["totals"]["requests"] == 4


def test_an_empty_dashboard_renders(staff_client: Client) -> None:
    response = staff_client.get("/admin/dashboard/", {"period": "30d"})
    assert response.status_code == 200
    assert "No requests in this period." in response.content.decode()


def test_the_vendored_chart_library_is_served(transactional_db: None) -> None:
    response = Client().get("/static/vendor/chartjs/chart.umd.js")
    assert response.status_code == 200
    assert b"Chart.js v4" in response.content[:200]
    assert response["Cache-Control"] == "max-age=3600"


def test_the_session_page_shows_its_loop_halts_by_kind(staff_client: Client) -> None:
    from commands_app.models import Session
    from usage_app.models import UsageRecord

    session = Session.objects.create(session_id="cc-1", overrides={})
    for kind in ("tool_loop", "tool_loop", "no_progress"):
        UsageRecord.objects.create(session_id="cc-1", loop_halts=1, loop_halt_kind=kind, status=200,
                                   created_at=timezone.now())
    page = staff_client.get(f"/admin/commands_app/session/{session.pk}/change/")
    assert page.status_code == 200
    assert "tool_loop ×2, no_progress ×1" in page.content.decode()
