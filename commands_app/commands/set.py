"""``set(name=value, …)``: change this session's settings."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from commands_app.session_settings import setting_for


@command("set", summary="change session settings, e.g. set(model=openai:gpt-4o, temperature=0.2)",
         usage="set(name=value, …)")
async def run(cmd: Command, ctx: CommandContext) -> str:
    pairs = cmd.kwargs()
    if not pairs or cmd.positional():
        raise CommandError("set needs name=value arguments, e.g. set(model=openai:gpt-4o)")
    parsed = {setting_for(name).name: setting_for(name).parse(value, ctx) for name, value in pairs.items()}
    for name, value in parsed.items():
        ctx.set_override(name, value)
    return "\n".join(f"{name} set to {value}" for name, value in parsed.items())
