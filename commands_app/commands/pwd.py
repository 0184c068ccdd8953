"""``pwd``: show the session's project directory note."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, command


@command("pwd", summary="show the project directory set with set(project-dir=…)")
async def run(cmd: Command, ctx: CommandContext) -> str:
    return ctx.session.get("project-dir") or "no project directory set; use set(project-dir=/path)"
