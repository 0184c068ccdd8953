"""``delete-failover-route(name=…)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.commands._routes_support import route_name
from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from commands_app.routes import route_delete


@command("delete-failover-route", summary="delete a failover route", usage="delete-failover-route(name=…)",
         shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    name = route_name(cmd)
    if not await sync_to_async(route_delete, thread_sensitive=True)(name=name, owner_id=ctx.owner_id):
        raise CommandError(f"no failover route named '{name}'")
    return f"failover route '{name}' deleted"
