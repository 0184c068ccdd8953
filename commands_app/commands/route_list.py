"""``route-list(name=…)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.commands._routes_support import existing_route
from commands_app.parser import Command
from commands_app.registry import CommandContext, command
from commands_app.routes import route_elements


@command("route-list", summary="show a route's policy and elements", usage="route-list(name=…)")
async def run(cmd: Command, ctx: CommandContext) -> str:
    route = await existing_route(cmd, ctx)
    elements = await sync_to_async(route_elements, thread_sensitive=True)(route)
    listing = "\n".join(f"  {i + 1}. {e}" for i, e in enumerate(elements)) or "  (empty)"
    return f"route '{route.name}' (policy {route.policy}):\n{listing}"
