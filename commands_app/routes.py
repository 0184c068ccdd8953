"""Failover routes: an in-memory view for routing, and the services commands and the admin use.

Routes come from the admin and commands (the database) and from the configuration file (global,
read-only; a database route of the same owner and name wins)."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet

from commands_app.models import FailoverRoute, FailoverRouteElement


@dataclass(frozen=True)
class RouteView:
    name: str
    policy: str
    elements: tuple[str, ...]
    owner_id: int | None
    source: str = "admin"  # or "config file"
    compact: bool = False  # prompt compaction for this route's requests


def file_routes() -> list[RouteView]:
    """The configuration file's routes (global)."""
    loaded = settings.PROXY_FILE_CONFIG
    if loaded is None:
        return []
    return [RouteView(name, route.policy, tuple(route.elements), None, "config file", route.compact)
            for name, route in loaded.config.routes.items()]


_routes: dict[tuple[int | None, str], RouteView] | None = None


def _merged(rows: QuerySet[FailoverRoute]) -> dict[tuple[int | None, str], RouteView]:
    """The file's routes, and over them the database's ``rows`` (a route of the same owner and name wins)."""
    routes: dict[tuple[int | None, str], RouteView] = {(None, route.name): route for route in file_routes()}
    for row in rows.prefetch_related("elements"):
        routes[(row.owner_id, row.name)] = RouteView(row.name, row.policy, tuple(route_elements(row)), row.owner_id,
                                                  compact=row.compact)
    return routes


def _load_routes() -> dict[tuple[int | None, str], RouteView]:
    return _merged(FailoverRoute.objects.all())


async def route_lookup(name: str, owner_id: int | None) -> RouteView | None:
    """The caller's own route called ``name``, else a global one (owner NULL)."""
    global _routes
    if _routes is None:
        _routes = await sync_to_async(_load_routes, thread_sensitive=True)()
    return _routes.get((owner_id, name)) or _routes.get((None, name))


def invalidate_routes() -> None:
    global _routes
    _routes = None


# ---------------------------------------------------------------- services (sync; run off the loop)


def route_create(*, name: str, policy: str, owner_id: int | None) -> FailoverRoute:
    route, created = FailoverRoute.objects.get_or_create(owner_id=owner_id, name=name, defaults={"policy": policy})
    if not created and route.policy != policy:
        route.policy = policy
        route.save(update_fields=["policy"])
    return route


def route_delete(*, name: str, owner_id: int | None) -> bool:
    deleted, _ = FailoverRoute.objects.filter(owner_id=owner_id, name=name).delete()
    return bool(deleted)


def route_get(*, name: str, owner_id: int | None) -> FailoverRoute | None:
    return FailoverRoute.objects.filter(owner_id=owner_id, name=name).first()


def route_elements(route: FailoverRoute) -> list[str]:
    return [e.target for e in route.elements.all()]


def route_set_elements(route: FailoverRoute, targets: list[str]) -> None:
    """Replace the route's elements with ``targets`` in order (one transaction)."""
    from django.db import transaction

    with transaction.atomic():
        route.elements.all().delete()
        FailoverRouteElement.objects.bulk_create(
            FailoverRouteElement(route=route, position=i, target=t) for i, t in enumerate(targets)
        )
    invalidate_routes()  # bulk_create sends no post_save signal


def routes_for(owner_id: int | None) -> list[RouteView]:
    """The caller's routes and the global ones (the file's included), by name."""
    qs = FailoverRoute.objects.filter(owner_id=owner_id) | FailoverRoute.objects.filter(owner__isnull=True)
    return sorted(_merged(qs.distinct()).values(), key=lambda r: (r.name, r.owner_id is None))
