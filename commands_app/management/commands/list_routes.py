"""``manage.py list_routes``: print every failover route with its policy and elements."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from commands_app.models import FailoverRoute


class Command(BaseCommand):
    help = "List failover routes (owner, policy, ordered elements)."

    def handle(self, *args: Any, **options: Any) -> None:
        routes = FailoverRoute.objects.select_related("owner").prefetch_related("elements")
        if not routes:
            self.stdout.write("no failover routes")
        for route in routes:
            owner = route.owner.name if route.owner else "global"
            elements = ", ".join(e.target for e in route.elements.all()) or "(empty)"
            self.stdout.write(f"{route.name:<24} {route.policy:<3} {owner:<16} {elements}")
