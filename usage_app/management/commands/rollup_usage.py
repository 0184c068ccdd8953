"""``manage.py rollup_usage``: roll raw usage records into hourly and daily rollups now."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.management.base import CommandError, CommandParser

from llmproxy_site.operator_command import OperatorCommand
from usage_app.stats import usage_rollup


class Command(OperatorCommand):
    help = ("Roll closed hours of usage records into hourly and daily rollups (idempotent; Celery beat, or the "
            "proxy itself without a broker, does it every USAGE_ROLLUP_INTERVAL_SECONDS). Progress, one day at a "
            "time, goes to stderr (none with --verbosity 0); nothing to roll up is not an error.")
    examples = """
        %(prog)s
        %(prog)s --full
        %(prog)s --json --verbosity 0
    """
    json_help = "print the result as JSON: hours, days, rows, rolled_until"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="recompute every period from the oldest raw record")

    def handle(self, *args: Any, **options: Any) -> None:
        show_progress = options["verbosity"] > 0
        in_place = show_progress and self.stderr.isatty()  # one line rewritten, or one line per day in a log

        def progress(done: int, total: int) -> None:
            if show_progress:
                self.stderr.write(f"rolled up day {done}/{total}", ending="\r" if in_place else "\n")

        result = usage_rollup(full=options["full"], progress=progress)
        if in_place and result.days:
            self.stderr.write("")
        if options["json"]:
            self.write_json(dataclasses.asdict(result))
            return
        if result.busy:
            raise CommandError("another process is rolling up usage now; try again when it has finished")
        self.stdout.write(f"rolled {result.hours} hour(s) and {result.days} day(s) into {result.rows} row(s); "
                          f"rolled up until {result.rolled_until}")
