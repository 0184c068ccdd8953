"""``help`` and ``help(<command>)``: generated from the command registry."""

from __future__ import annotations

from commands_app.parser import Command, suggest
from commands_app.registry import COMMANDS, CommandContext, CommandError, command, known_names, lookup
from commands_app.session_settings import SETTINGS


@command("help", summary="list commands, or explain one: help(set)", usage="help[(command)]")
async def run(cmd: Command, ctx: CommandContext) -> str:
    names = cmd.positional()
    if names:
        spec = lookup(names[0])
        if spec is None:
            hint = suggest(names[0], known_names())
            raise CommandError(f"unknown command '{names[0]}'" + (f"; did you mean '{hint}'?" if hint else ""))
        lines = [f"{ctx.prefix}{spec.usage}", spec.summary]
        if spec.aliases:
            lines.append("aliases: " + ", ".join(spec.aliases))
        if spec.name in ("set", "unset"):
            lines += ["settings:"] + [f"  {s.name}: {s.help}" for s in SETTINGS]
        return "\n".join(lines)
    lines = ["Commands (type them in any message):"]
    for spec in sorted(COMMANDS.values(), key=lambda s: s.name):
        lines.append(f"  {ctx.prefix}{spec.usage} — {spec.summary}")
    return "\n".join(lines)
