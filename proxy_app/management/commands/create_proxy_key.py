"""``manage.py create_proxy_key NAME``: create a client key and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from proxy_app.services import proxy_key_create


class Command(BaseCommand):
    help = "Create a proxy key for clients; the key is printed once and only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--project", default="", help="default project for this key's usage")
        parser.add_argument("--admin", action="store_true", help="sees all usage, edits global routes")
        parser.add_argument("--no-shared-commands", action="store_true",
                            help="may not run commands that change shared state (routes, aliases)")
        parser.add_argument("--allow-model", action="append", default=[], help="restrict to these models")

    def handle(self, *args: Any, **options: Any) -> None:
        key, plaintext = proxy_key_create(
            name=options["name"], project=options["project"], is_admin=options["admin"],
            can_change_shared_state=not options["no_shared_commands"], allowed_models=options["allow_model"],
        )
        self.stdout.write(plaintext)
        self.stderr.write(f"created proxy key '{key.name}' ({key.key_hint}); store it now, it is not shown again")
