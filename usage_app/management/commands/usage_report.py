"""``manage.py usage_report``: a per-project/backend/model usage table in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from llmproxy_site.operator_command import OperatorCommand, usage_error
from usage_app.stats import GROUP_BY_CHOICES, StatsFilter, usage_stats

COLUMNS = [("key", "{}", 28), ("requests", "{:,}", 9), ("errors", "{:,}", 7), ("input_tokens", "{:,}", 13),
           ("output_tokens", "{:,}", 13), ("cost_usd", "{:.4f}", 11), ("latency_p50_ms", "{:.0f}", 8),
           ("latency_p95_ms", "{:.0f}", 8)]


def parse_since(value: str) -> datetime:
    if value.endswith("d") and value[:-1].isdigit():
        return timezone.now() - timedelta(days=int(value[:-1]))
    if value.endswith("h") and value[:-1].isdigit():
        return timezone.now() - timedelta(hours=int(value[:-1]))
    if (dt := parse_datetime(value)) is not None:
        return dt if timezone.is_aware(dt) else timezone.make_aware(dt, UTC)
    if (d := parse_date(value)) is not None:
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    raise usage_error(f"--since: expected 7d, 12h, a date or an ISO datetime, got {value!r}")


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


class Command(OperatorCommand):
    help = ("Print usage totals and a breakdown (requests, errors, tokens, cost, latency) as a table, or as the "
            "JSON of GET /usage/stats. No usage in the period is not an error.")
    examples = """
        %(prog)s
        %(prog)s --since 7d --group-by backend
        %(prog)s --project web --since 2025-01-01
        %(prog)s --since 24h --json | jq .totals.cost_usd
    """
    json_help = "print the totals and the breakdown as JSON (the shape of GET /usage/stats)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="only this project")
        parser.add_argument("--since", default="30d", help="7d, 12h, 2025-01-31 or an ISO datetime (default 30d)")
        parser.add_argument("--group-by", default="model", choices=GROUP_BY_CHOICES, help="the breakdown's rows")

    def handle(self, *args: Any, **options: Any) -> None:
        data = usage_stats(StatsFilter(since=parse_since(options["since"]), until=timezone.now(),
                                       project=options["project"], group_by=options["group_by"]))
        if options["json"]:
            self.write_json(data)
            return
        header = "".join(name.replace("_tokens", "").replace("latency_", "").ljust(width + 1)
                         for name, _, width in COLUMNS)
        self.stdout.write(f"usage since {data['since']} (group by {options['group_by']})")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in [*data["breakdown"], {**data["totals"], "key": "TOTAL"}]:
            self.stdout.write("".join(_cell(row.get(name), fmt)[:width].ljust(width + 1) for name, fmt, width in COLUMNS))
