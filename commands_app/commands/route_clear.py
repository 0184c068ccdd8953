"""``route-clear(name=…)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.commands._routes_support import existing_route
from commands_app.parser import Command
from commands_app.registry import CommandContext, command
from commands_app.routes import route_set_elements


@command("route-clear", summary="remove every element of a route", usage="route-clear(name=…)", shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    route = await existing_route(cmd, ctx)
    await sync_to_async(route_set_elements, thread_sensitive=True)(route, [])
    return f"route '{route.name}' is now empty"
