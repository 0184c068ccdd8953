"""``route-prepend(name=…, backend:model, …)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.commands._routes_support import existing_route, targets
from commands_app.parser import Command
from commands_app.registry import CommandContext, command
from commands_app.routes import route_elements, route_set_elements


@command("route-prepend", summary="add elements at the start of a route",
         usage="route-prepend(name=…, backend:model, …)", shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    route = await existing_route(cmd, ctx)
    new = targets(cmd, ctx)

    def apply() -> list[str]:
        elements = new + route_elements(route)
        route_set_elements(route, elements)
        return elements

    elements = await sync_to_async(apply, thread_sensitive=True)()
    return f"route '{route.name}': {', '.join(elements)}"
