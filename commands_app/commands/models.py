"""``models``: what each backend offers."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, command


@command("models", summary="list the models of every backend (backend:model)")
async def run(cmd: Command, ctx: CommandContext) -> str:
    pairs = await ctx.backends.list_models()
    return "\n".join(f"{b}:{m}" for b, m in pairs) if pairs else "no backend listed any model"
