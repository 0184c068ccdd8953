"""``manage.py rollup_usage``: roll raw usage records into hourly and daily rollups now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from usage_app.stats import usage_rollup


class Command(BaseCommand):
    help = "Roll closed hours of usage records into hourly and daily rollups (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="recompute every period from the oldest raw record")

    def handle(self, *args: Any, **options: Any) -> None:
        result = usage_rollup(full=options["full"])
        self.stdout.write(f"rolled {result.hours} hour(s) and {result.days} day(s) into {result.rows} row(s); "
                          f"rolled up until {result.rolled_until}")
