"""``unset(name, …)``: return session settings to their defaults."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from commands_app.session_settings import setting_for


@command("unset", summary="reset session settings, e.g. unset(model)", usage="unset(name, …)")
async def run(cmd: Command, ctx: CommandContext) -> str:
    names = cmd.positional() + list(cmd.kwargs())
    if not names:
        raise CommandError("unset needs the names of settings, e.g. unset(model)")
    settings_ = [setting_for(name).name for name in names]
    lines = []
    for name in settings_:
        lines.append(f"{name} reset to default" if ctx.clear_override(name) else f"{name} was not set")
    return "\n".join(lines)
