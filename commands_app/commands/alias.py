"""``alias(name=…, command=…)``: define a shortcut command."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.aliases import alias_save
from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command, lookup


@command("alias", summary="define a shortcut: alias(name=fast, command=\"set(model=openai:gpt-4o-mini)\")",
         usage="alias(name=…, command=…)", shared=True)
async def run(cmd: Command, ctx: CommandContext) -> str:
    args = cmd.kwargs()
    name, expansion = args.get("name"), args.get("command")
    if not name or not expansion:
        raise CommandError("alias needs name=… and command=…")
    if lookup(name):
        raise CommandError(f"'{name}' is a built-in command")
    expansion = expansion.removeprefix(ctx.prefix)
    await sync_to_async(alias_save, thread_sensitive=True)(name=name, command=expansion, owner_id=ctx.owner_id)
    return f"{ctx.prefix}{name} now runs {ctx.prefix}{expansion}"
