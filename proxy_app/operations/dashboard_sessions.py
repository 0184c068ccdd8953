"""The dashboard's sessions table: what each agent session spent in the period, what the prompt cache saved it,
and, for a session with a budget (``!/budget``, ``commands_app.budgets``), its spend against that budget.

A session is one owner's session id (the ``commands_app.Session`` key), so rows are grouped by both; sessions are
many and not a rollup dimension, so this reads raw records, the most expensive first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F, Sum

from commands_app.budgets import session_budget
from commands_app.models import Session
from proxy_app.models import ProxyKey
from usage_app.models import UsageRecord
from usage_app.spend import usage_spend

SESSION_ROWS = 20
ENVIRONMENT_KEY = "(environment key)"
DELETED_KEY = "(deleted key)"


def session_rows(*, since: datetime, until: datetime, project: str | None) -> list[dict[str, Any]]:
    """The ``SESSION_ROWS`` costliest sessions of the period; ``budget`` is the budget's one-line
    description (all-time spend, as the budget check counts it) or None when the session has none."""
    records = UsageRecord.objects.filter(created_at__gte=since, created_at__lt=until).exclude(session_id="")
    if project is not None:
        records = records.filter(project=project)
    rows: list[dict[str, Any]] = [
        dict(row) for row in records.values("session_id", "proxy_key_id")
        .annotate(requests=Count("id"), input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"),
                  cached_tokens=Sum("cached_tokens"), cost_usd=Sum("cost_usd"),
                  cache_saved_usd=Sum("cache_saved_usd"))
        .order_by(F("cost_usd").desc(nulls_last=True), "-requests", "session_id")[:SESSION_ROWS]
    ]
    sessions = {(s.owner_id, s.session_id): s
                for s in Session.objects.filter(session_id__in={row["session_id"] for row in rows})}
    owners: dict[int | None, str] = dict(
        ProxyKey.objects.filter(id__in={row["proxy_key_id"] for row in rows}).values_list("id", "name"))
    for row in rows:
        row["owner"] = owners.get(row["proxy_key_id"], ENVIRONMENT_KEY if row["proxy_key_id"] is None else DELETED_KEY)
        row["cache_hit_pct"] = _percent(row["cached_tokens"], row["input_tokens"])
        row["budget"] = None
        session = sessions.get((row["proxy_key_id"], row["session_id"]))
        budget = session_budget(session.overrides) if session is not None else None
        if budget is not None and budget.is_set:
            spend = usage_spend(proxy_key_id=row["proxy_key_id"], session_id=row["session_id"])
            row["budget"] = "database unavailable" if spend is None else budget.describe(spend).replace("\n", "; ")
    return rows


def _percent(part: int | None, whole: int | None) -> float | None:
    return round(100.0 * (part or 0) / whole, 1) if whole else None
