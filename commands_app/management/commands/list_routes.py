"""``manage.py list_routes [NAME]``: print the failover routes with their policy, owner and elements."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from commands_app.models import FailoverRoute
from llmproxy_site.operator_command import OperatorCommand, failed


class Command(OperatorCommand):
    help = ("List failover routes: name, policy (k, m, km, mk), owner (a proxy key's name, or global) and the "
            "ordered elements. Exit status 1 when a route asked for by name does not exist.")
    examples = """
        %(prog)s
        %(prog)s main
        %(prog)s --json | jq '.[] | select(.owner == null) | .name'
    """
    json_help = "print the routes as a JSON list of {name, policy, owner, elements}"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="only the routes of this name (one per owner)")

    def handle(self, *args: Any, **options: Any) -> None:
        routes = FailoverRoute.objects.select_related("owner").prefetch_related("elements")
        if options["name"]:
            routes = routes.filter(name=options["name"])
            if not routes:
                raise failed(f"no failover route named {options['name']!r}")
        rows: list[dict[str, Any]] = [
            {"name": route.name, "policy": route.policy, "owner": route.owner.name if route.owner else None,
             "elements": [element.target for element in route.elements.all()]} for route in routes]
        if options["json"]:
            self.write_json(rows)
            return
        if not rows:
            self.stdout.write("no failover routes")
        for row in rows:
            self.stdout.write(f"{row['name']:<24} {row['policy']:<3} {row['owner'] or 'global':<16} "
                              f"{', '.join(row['elements']) or '(empty)'}")
