"""``list-failover-routes``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.parser import Command
from commands_app.registry import CommandContext, command
from commands_app.routes import routes_for


@command("list-failover-routes", summary="list your failover routes and the global ones")
async def run(cmd: Command, ctx: CommandContext) -> str:
    routes = await sync_to_async(routes_for, thread_sensitive=True)(ctx.owner_id)
    if not routes:
        return "no failover routes"
    return "\n".join(
        f"{r.name} (policy {r.policy}{', global' if r.owner_id is None else ''}"
        f"{', from the configuration file' if r.source == 'config file' else ''}): {', '.join(r.elements) or '(empty)'}"
        for r in routes
    )
