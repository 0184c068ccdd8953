"""``budget``: show, set or clear this session's spending limits (USD and tokens)."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from commands_app.budgets import BUDGET_TOKENS, BUDGET_USD, parse_tokens, parse_usd, session_budget
from commands_app.parser import Command
from commands_app.registry import CommandContext, CommandError, command
from usage_app.spend import Spend, usage_spend

USAGE_HINT = "budget(usd=2), budget(tokens=500000), budget(usd=off) or budget(off)"
# Words that clear a limit; not "0", which is a limit (nothing more may be spent).
CLEAR = {"off", "none", "clear", "false", "no"}


def _set(ctx: CommandContext, name: str, value: str) -> None:
    if value.strip().lower() in CLEAR:
        ctx.clear_override(name)
        return
    if name == BUDGET_USD:
        usd = parse_usd(value)
        if usd is None:
            raise CommandError(f"usd must be an amount of dollars, e.g. usd=2.50, got {value!r}")
        ctx.set_override(name, str(usd))
    else:
        tokens = parse_tokens(value)
        if tokens is None:
            raise CommandError(f"tokens must be a whole number, e.g. tokens=500000, got {value!r}")
        ctx.set_override(name, tokens)


@command("budget", summary="show this session's spend against its budget, or set one: budget(usd=2, tokens=500000)",
         usage="budget[(usd=…, tokens=…)]")
async def run(cmd: Command, ctx: CommandContext) -> str:
    pairs, positional = cmd.kwargs(), cmd.positional()
    if positional:
        if len(positional) > 1 or pairs or positional[0].strip().lower() not in CLEAR:
            raise CommandError(f"expected {USAGE_HINT}")
        ctx.clear_override(BUDGET_USD)
        ctx.clear_override(BUDGET_TOKENS)
    unknown = set(pairs) - {"usd", "tokens"}
    if unknown:
        raise CommandError(f"unknown budget '{sorted(unknown)[0]}'; expected {USAGE_HINT}")
    for key, value in pairs.items():
        _set(ctx, BUDGET_USD if key == "usd" else BUDGET_TOKENS, value)
    spend = await sync_to_async(usage_spend, thread_sensitive=True)(
        proxy_key_id=ctx.session.owner_id, session_id=ctx.session.session_id)
    budget = session_budget(ctx.session.overrides)
    head = f"session {ctx.session.session_id}: " + ("budget" if budget.is_set else "no budget")
    return f"{head}\n{budget.describe(spend or Spend())}" + ("" if spend is not None else "\n(spend unknown: database unavailable)")
