"""``manage.py create_proxy_key NAME``: create a client key and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from llmproxy_site.operator_command import OperatorCommand, usage_error
from proxy_app.services import proxy_key_create


class Command(OperatorCommand):
    help = ("Create a proxy key for clients. The key is printed once, alone on stdout (a note goes to stderr); "
            "only its hash is stored, so store it now. Several keys may share a name.")
    examples = """
        %(prog)s alice
        %(prog)s web-app --project web --allow-model openai:gpt-4o-mini --allow-model gemini:gemini-2.5-flash
        %(prog)s ops --admin
        KEY=$(%(prog)s ci-bot --no-shared-commands)
        %(prog)s ci-bot --json | jq -r .key
    """
    json_help = "print the key with its id, name, hint and restrictions as JSON"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who or what uses the key (shown in the admin and the usage records)")
        parser.add_argument("--project", default="", help="default project for this key's usage")
        parser.add_argument("--admin", action="store_true", help="sees all usage, edits global routes")
        parser.add_argument("--no-shared-commands", action="store_true",
                            help="may not run commands that change shared state (routes, aliases)")
        parser.add_argument("--allow-model", action="append", default=[], metavar="MODEL",
                            help="restrict to this model (repeat for several; default: any)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise usage_error("the key needs a name")
        key, plaintext = proxy_key_create(
            name=name, project=options["project"], is_admin=options["admin"],
            can_change_shared_state=not options["no_shared_commands"], allowed_models=options["allow_model"],
        )
        if options["json"]:
            self.write_json({"key": plaintext, "id": key.pk, "name": key.name, "hint": key.key_hint,
                             "project": key.project, "admin": key.is_admin,
                             "shared_commands": key.can_change_shared_state, "allowed_models": key.allowed_models})
        else:
            self.stdout.write(plaintext)
        self.stderr.write(f"created proxy key '{key.name}' ({key.key_hint}); store it now, it is not shown again")
