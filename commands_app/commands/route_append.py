"""``route-append(name=…, backend:model, …)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from ..parser import Command
from ..registry import CommandContext, command
from ..routes import route_elements, route_set_elements
from ._routes_support import existing_route, targets


@command("route-append", summary="add elements at the end of a route", usage="route-append(name=…, backend:model, …)",
         shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    route = await existing_route(cmd, ctx)
    new = targets(cmd, ctx)

    def apply() -> list[str]:
        elements = route_elements(route) + new
        route_set_elements(route, elements)
        return elements

    elements = await sync_to_async(apply, thread_sensitive=True)()
    return f"route '{route.name}': {', '.join(elements)}"
