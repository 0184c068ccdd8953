"""``route-clear(name=…)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from ..parser import Command
from ..registry import CommandContext, command
from ..routes import route_set_elements
from ._routes_support import existing_route


@command("route-clear", summary="remove every element of a route", usage="route-clear(name=…)", shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    route = await existing_route(cmd, ctx)
    await sync_to_async(route_set_elements, thread_sensitive=True)(route, [])
    return f"route '{route.name}' is now empty"
