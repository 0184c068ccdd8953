"""The usage dashboard shows the prompt cache (hit ratio and money saved, in total and per model) and the
costliest sessions with their spend, and their spend against budget when they have one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from commands_app.budgets import BUDGET_USD
from commands_app.models import Session
from proxy_app.models import ProxyKey
from usage_app.models import UsageRecord


@pytest.fixture
def staff_client(transactional_db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1"))
    return client


def record(*, session: str, model: str, input_tokens: int, cached: int, cost: str, saved: str | None,
           owner: ProxyKey | None = None, hours_ago: float = 1) -> None:
    UsageRecord.objects.create(
        created_at=timezone.now() - timedelta(hours=hours_ago), session_id=session, protocol="anthropic",
        path="/v1/messages", backend="anthropic", model=model, status=200, input_tokens=input_tokens,
        output_tokens=10, cached_tokens=cached, cost_usd=Decimal(cost),
        cache_saved_usd=None if saved is None else Decimal(saved), latency_ms=100.0,
        proxy_key_id=owner.id if owner else None)


def seed() -> ProxyKey:
    owner = ProxyKey.objects.create(name="agents", key_hash="d" * 64, key_hint="lip-...0042")
    Session.objects.create(owner=owner, session_id="agent-budgeted", overrides={BUDGET_USD: "2"})
    record(session="agent-budgeted", model="claude-sonnet-4-5", input_tokens=10_000, cached=6_000, cost="0.5",
           saved="0.01395", owner=owner)
    record(session="agent-budgeted", model="claude-sonnet-4-5", input_tokens=10_000, cached=8_000, cost="0.25",
           saved="0.02", owner=owner, hours_ago=24 * 5)  # outside the day shown, inside the budget's spend
    record(session="agent-free", model="claude-haiku-4-5", input_tokens=4_000, cached=0, cost="0.1", saved=None)
    return owner


def test_each_model_shows_its_cache_hit_ratio_and_the_money_saved(staff_client: Client) -> None:
    seed()
    response = staff_client.get("/admin/dashboard/")
    data = response.context["data"]
    by_model = {row["key"]: row for row in data["by_model"]}
    assert by_model["claude-sonnet-4-5"]["cache_hit_pct"] == 60.0
    assert by_model["claude-sonnet-4-5"]["cache_saved_usd"] == pytest.approx(0.01395)
    assert by_model["claude-haiku-4-5"]["cache_hit_pct"] == 0.0
    assert by_model["claude-haiku-4-5"]["cache_saved_usd"] is None
    assert data["totals"]["cache_hit_pct"] == round(100 * 6_000 / 14_000, 1)
    html = response.content.decode()
    model_table = html.split('id="table-model"', 1)[1].split("</table>", 1)[0]
    assert "Cache hit %" in model_table and "<td class=\"num\">60.0</td>" in model_table
    assert "<td class=\"num\">0.013950</td>" in model_table
    assert "42.9% / $0.0140" in html


def test_sessions_show_their_spend_and_their_budget(staff_client: Client) -> None:
    seed()
    response = staff_client.get("/admin/dashboard/")
    sessions = {row["session_id"]: row for row in response.context["data"]["by_session"]}
    assert list(sessions) == ["agent-budgeted", "agent-free"], "the costliest first"
    budgeted, free = sessions["agent-budgeted"], sessions["agent-free"]
    assert (budgeted["owner"], budgeted["cost_usd"], budgeted["cache_hit_pct"]) == ("agents", Decimal("0.5"), 60.0)
    assert budgeted["budget"] == "spent $0.7500 of $2; tokens 20,020 (no limit)", "all-time spend against budget"
    assert (free["owner"], free["budget"]) == ("(environment key)", None)
    html = response.content.decode()
    assert 'id="table-session"' in html and "spent $0.7500 of $2" in html


def test_a_week_shows_the_older_turn_and_a_project_filter_can_leave_no_session(staff_client: Client) -> None:
    seed()
    week = staff_client.get("/admin/dashboard/", {"period": "7d"}).context["data"]
    assert {row["session_id"]: row["requests"] for row in week["by_session"]}["agent-budgeted"] == 2
    other = staff_client.get("/admin/dashboard/", {"project": "elsewhere"})
    assert other.context["data"]["by_session"] == [] and "No session in this period." in other.content.decode()
