"""A session's budget as read from its overrides, compared with its spend, and shown on its admin page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from commands_app.budgets import SessionBudget, session_budget
from usage_app.spend import Spend, usage_spend


@pytest.mark.parametrize("overrides, expected", [
    ({}, SessionBudget()),
    ({"budget-usd": "2.50"}, SessionBudget(usd=Decimal("2.50"))),
    ({"budget-usd": 2, "budget-tokens": "500000"}, SessionBudget(usd=Decimal(2), tokens=500_000)),  # typed in the admin
    ({"budget-usd": "lots", "budget-tokens": -1}, SessionBudget()),  # mistyped: no limit, not a broken session
    ({"budget-usd": "NaN", "budget-tokens": "1.5"}, SessionBudget()),
])
def test_it_reads_the_budget_from_the_overrides(overrides: dict[str, Any], expected: SessionBudget) -> None:
    assert session_budget(overrides) == expected


def test_it_is_exhausted_once_either_limit_is_reached() -> None:
    budget = SessionBudget(usd=Decimal("1"), tokens=1000)
    assert budget.exhausted_by(Spend(Decimal("0.99"), 999)) is None
    assert "budget of $1" in (budget.exhausted_by(Spend(Decimal("1"), 0)) or "")
    assert "budget of 1,000 tokens (spent 1,000)" in (budget.exhausted_by(Spend(Decimal(0), 1000)) or "")


def test_it_describes_spend_against_budget() -> None:
    assert SessionBudget(tokens=10).describe(Spend(Decimal("0.5"), 7)) == "spent $0.5000 (no limit)\ntokens 7 of 10"


@pytest.mark.django_db
def test_the_spend_of_a_session_sums_only_its_own_records() -> None:
    from usage_app.models import UsageRecord

    def record(session: str, key: int | None, cost: str | None, tokens: int) -> None:
        UsageRecord.objects.create(created_at=timezone.now(), session_id=session, proxy_key_id=key,
                                   cost_usd=None if cost is None else Decimal(cost), input_tokens=tokens, output_tokens=1)

    record("a", None, "0.25", 10)
    record("a", None, None, 5)  # unpriced: tokens count, money does not
    record("a", 7, "1", 100)  # the same session name under another proxy key
    record("b", None, "1", 100)
    assert usage_spend(proxy_key_id=None, session_id="a") == Spend(Decimal("0.25"), 17)
    assert usage_spend(proxy_key_id=7) == Spend(Decimal("1"), 101)


@pytest.mark.django_db
def test_the_session_admin_page_shows_spend_against_budget(admin_client: Client) -> None:
    from commands_app.models import Session
    from usage_app.models import UsageRecord

    session = Session.objects.create(session_id="agent", overrides={"budget-usd": "2"})
    UsageRecord.objects.create(created_at=timezone.now(), session_id="agent", cost_usd=Decimal("0.5"), input_tokens=40)
    page = admin_client.get(f"/admin/commands_app/session/{session.pk}/change/").content.decode()
    assert "spent $0.5000 of $2" in page and "tokens 40 (no limit)" in page
