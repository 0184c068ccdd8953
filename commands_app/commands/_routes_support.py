"""Shared argument handling for the failover-route commands."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.models import FailoverRoute
from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError
from commands_app.routes import route_get

POLICIES = ("k", "m", "km", "mk")


def route_name(cmd: Command) -> str:
    name = cmd.kwargs().get("name")
    if not name:
        raise CommandError(f"{cmd.name} needs name=<route>")
    return name


async def existing_route(cmd: Command, ctx: CommandContext) -> FailoverRoute:
    name = route_name(cmd)
    route = await sync_to_async(route_get, thread_sensitive=True)(name=name, owner_id=ctx.owner_id)
    if route is None:
        raise CommandError(f"no failover route named '{name}'; create it with create-failover-route(name={name}, policy=m)")
    return route


def targets(cmd: Command, ctx: CommandContext) -> list[str]:
    """The ``backend:model`` elements given as bare arguments, each checked against the backends."""
    values = cmd.positional()
    if not values:
        raise CommandError(f"{cmd.name} needs one or more backend:model elements")
    for value in values:
        backend, sep, model = value.partition(":")
        if not sep or not model:
            raise CommandError(f"route elements are backend:model, got {value!r}")
        if backend not in ctx.backends.backends:
            raise CommandError(f"unknown backend '{backend}' in {value!r}")
    return values
