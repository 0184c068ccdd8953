"""``create-failover-route(name=…, policy=k|m|km|mk)``."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.commands._routes_support import POLICIES, route_name
from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from commands_app.routes import route_create


@command("create-failover-route", summary="create a route usable as a model name",
         usage="create-failover-route(name=…, policy=k|m|km|mk)", shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    name = route_name(cmd)
    policy = cmd.kwargs().get("policy", "m")
    if policy not in POLICIES:
        raise CommandError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    await sync_to_async(route_create, thread_sensitive=True)(name=name, policy=policy, owner_id=ctx.owner_id)
    return f"failover route '{name}' ready (policy {policy}); add elements with route-append(name={name}, backend:model, …)"
