"""Admin pages for operators: the usage dashboard (charts over ``usage_app.stats``) and the live inspector.

Both are staff-only through ``admin.site.admin_view``. The dashboard reads the same selector as
``/usage/stats`` (rollups where complete, raw records elsewhere), so the numbers always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.http import FileResponse, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, re_path
from django.utils import timezone

from proxy_app.operations.dashboard_sessions import session_rows
from usage_app.models import UsageRecord, UsageRollup
from usage_app.stats import DAY, HOUR, StatsFilter, floor_day, floor_hour, usage_stats

NO_PROJECT = "__none__"
STATIC_MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    span: timedelta
    bucket: str  # "hour" or "day"


PERIODS = {
    p.key: p
    for p in (
        Period("24h", "Last 24 hours", timedelta(hours=24), "hour"),
        Period("7d", "Last 7 days", timedelta(days=7), "hour"),
        Period("30d", "Last 30 days", timedelta(days=30), "day"),
    )
}
DEFAULT_PERIOD = "24h"


def dashboard_projects() -> list[str]:
    """Every project seen in raw records or rollups ("" stands for requests without a project)."""
    seen = set(UsageRecord.objects.order_by().values_list("project", flat=True).distinct())
    seen |= set(UsageRollup.objects.order_by().values_list("project", flat=True).distinct())
    return sorted(seen)


def _bucket_labels(since: datetime, until: datetime, bucket: str) -> list[str]:
    if bucket == "day":
        start, step = floor_day(since), DAY
        fmt = lambda d: d.date().isoformat()  # noqa: E731
    else:
        start, step = floor_hour(since), HOUR
        fmt = lambda d: d.isoformat().replace("+00:00", "Z")  # noqa: E731
    labels, current = [], start
    while current < until:
        labels.append(fmt(current))
        current += step
    return labels


def _error_rate(row: dict[str, Any]) -> float:
    return round(100.0 * row["errors"] / row["requests"], 2) if row["requests"] else 0.0


def _cache_hit_pct(row: dict[str, Any]) -> float | None:
    """The share of input tokens read from the prompt cache, in percent (None without input)."""
    ratio = row["cache_hit_ratio"]
    return None if ratio is None else round(100.0 * ratio, 1)


def dashboard_data(*, period: Period, project: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Totals, a time series, per-backend / per-model breakdowns (cache-hit ratio and money saved
    included) and the costliest sessions for the dashboard."""
    until = now or timezone.now()
    since = until - period.span

    def stats(group_by: str) -> dict[str, Any]:
        return usage_stats(StatsFilter(since=since, until=until, project=project, group_by=group_by))

    series = stats(period.bucket)
    by_key = {row["key"]: row for row in series["breakdown"]}
    labels = _bucket_labels(since, until, period.bucket)
    points = [by_key.get(label) for label in labels]
    breakdowns = {}
    for dim in ("backend", "model"):
        rows = stats(dim)["breakdown"]
        for row in rows:
            row["error_rate"] = _error_rate(row)
            row["cache_hit_pct"] = _cache_hit_pct(row)
        breakdowns[dim] = sorted(rows, key=lambda r: (-r["requests"], r["key"]))
    totals = series["totals"]
    totals["error_rate"] = _error_rate(totals)
    totals["cache_hit_pct"] = _cache_hit_pct(totals)
    return {
        "since": series["since"],
        "until": series["until"],
        "since_label": since.strftime("%Y-%m-%d %H:%M"),
        "until_label": until.strftime("%Y-%m-%d %H:%M"),
        "bucket": period.bucket,
        "totals": totals,
        "series": {
            "labels": labels,
            "requests": [p["requests"] if p else 0 for p in points],
            "errors": [p["errors"] if p else 0 for p in points],
            "input_tokens": [p["input_tokens"] if p else 0 for p in points],
            "output_tokens": [p["output_tokens"] if p else 0 for p in points],
            "cost_usd": [(p["cost_usd"] or 0.0) if p else 0.0 for p in points],
            "error_rate": [_error_rate(p) if p else 0.0 for p in points],
        },
        "by_backend": breakdowns["backend"],
        "by_model": breakdowns["model"],
        "by_session": session_rows(since=since, until=until, project=project),
    }


def dashboard_view(request: HttpRequest) -> HttpResponse:
    period = PERIODS.get(request.GET.get("period", ""), PERIODS[DEFAULT_PERIOD])
    chosen = request.GET.get("project")
    project = None if not chosen else ("" if chosen == NO_PROJECT else chosen)
    data = dashboard_data(period=period, project=project)
    projects = [{"value": p or NO_PROJECT, "label": p or "(no project)"} for p in dashboard_projects()]
    context = {
        **admin.site.each_context(request),
        "title": "Usage dashboard",
        "periods": list(PERIODS.values()),
        "period": period,
        "projects": projects,
        "project_value": chosen or "",
        "data": data,
    }
    return TemplateResponse(request, "admin/llmproxy/dashboard.html", context)


def inspector_view(request: HttpRequest) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Live traffic inspector"}
    return TemplateResponse(request, "admin/llmproxy/inspector.html", context)


def static_view(request: HttpRequest, path: str) -> HttpResponse:
    """Static files (admin CSS and JS, the vendored chart library) straight from the finders.

    The proxy ships as one ASGI process with no web server in front; admin traffic is tiny, so
    serving these through Django beats requiring ``collectstatic`` plus a static server. Files
    are small and read whole: a streamed file response would be iterated synchronously under ASGI.
    """
    response = staticfiles_serve(request, path, insecure=True)
    if isinstance(response, FileResponse):
        whole = HttpResponse(b"".join(response.streaming_content), status=response.status_code)  # type: ignore[arg-type]  # a file's chunks: a sync iterator
        for header, value in response.headers.items():
            whole.headers[header] = value
        response.close()
        response = whole
    response.headers.setdefault("Cache-Control", f"max-age={STATIC_MAX_AGE_SECONDS}")
    return response


# Mounted before ``admin/`` so the admin's catch-all never sees them.
admin_urlpatterns = [
    path("dashboard/", admin.site.admin_view(dashboard_view), name="llmproxy-dashboard"),
    path("inspector/", admin.site.admin_view(inspector_view), name="llmproxy-inspector"),
]
static_urlpatterns = [re_path(r"^static/(?P<path>.+)$", static_view, name="llmproxy-static")]
