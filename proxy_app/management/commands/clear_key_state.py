"""``manage.py clear_key_state [backend]``: forget cooldowns and invalid marks of backend keys."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from proxy_app.providers.key_state import key_state


class Command(BaseCommand):
    help = "Clear rate-limit cooldowns and invalid-key marks (shared through Redis when REDIS_URL is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backend", nargs="?", help="only this backend (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        removed = key_state().clear(options["backend"])
        self.stdout.write(f"key state cleared ({removed} shared entries removed)")
