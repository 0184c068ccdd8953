"""``oneoff(backend:model)``: use a model for the next request only."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from commands_app.session_settings import parse_model


@command("oneoff", summary="use backend:model for the next request only", usage="oneoff(backend:model)",
         aliases=("one-off",))
async def run(cmd: Command, ctx: CommandContext) -> str:
    values = cmd.positional() or list(cmd.kwargs().values())
    if len(values) != 1:
        raise CommandError("oneoff takes one backend:model")
    ctx.set_override("oneoff", parse_model(values[0], ctx))
    return f"the next request goes to {values[0]}"
