"""``delete-failover-route(name=…)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from ..parser import Command
from ..registry import CommandContext, CommandError, command
from ..routes import route_delete
from ._routes_support import route_name


@command("delete-failover-route", summary="delete a failover route", usage="delete-failover-route(name=…)",
         shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    name = route_name(cmd)
    if not await sync_to_async(route_delete, thread_sensitive=True)(name=name, owner_id=ctx.owner_id):
        raise CommandError(f"no failover route named '{name}'")
    return f"failover route '{name}' deleted"
