"""``manage.py usage_report``: a per-project/backend/model usage table in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

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
    raise CommandError(f"--since: expected 7d, 12h, a date or an ISO datetime, got {value!r}")


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


class Command(BaseCommand):
    help = "Print usage totals and a breakdown as a table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="only this project")
        parser.add_argument("--since", default="30d", help="7d, 12h, 2025-01-31 or an ISO datetime (default 30d)")
        parser.add_argument("--group-by", default="model", choices=GROUP_BY_CHOICES)

    def handle(self, *args: Any, **options: Any) -> None:
        data = usage_stats(StatsFilter(since=parse_since(options["since"]), until=timezone.now(),
                                       project=options["project"], group_by=options["group_by"]))
        header = "".join(name.replace("_tokens", "").replace("latency_", "").ljust(width + 1)
                         for name, _, width in COLUMNS)
        self.stdout.write(f"usage since {data['since']} (group by {options['group_by']})")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in [*data["breakdown"], {**data["totals"], "key": "TOTAL"}]:
            self.stdout.write("".join(_cell(row.get(name), fmt)[:width].ljust(width + 1) for name, fmt, width in COLUMNS))
