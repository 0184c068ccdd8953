"""``session``: show this session's settings and backend key states."""

from __future__ import annotations

from commands_app.parser import Command
from commands_app.registry import CommandContext, command


@command("session", summary="show this session's settings")
async def run(cmd: Command, ctx: CommandContext) -> str:
    lines = [f"session: {ctx.session.session_id}"]
    if ctx.session.overrides:
        lines += [f"  {name} = {value}" for name, value in sorted(ctx.session.overrides.items())]
    else:
        lines.append("  (no overrides; proxy defaults apply)")
    lines.append("backend keys:")
    for name, runtime in ctx.backends.backends.items():
        lines.append(f"  {name}: {runtime.key_states()}")
    return "\n".join(lines)
