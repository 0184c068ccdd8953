"""A session's budget (money and tokens), kept in its overrides so ``!/budget`` and the admin's overrides JSON
both set it, and how its spend compares with it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from usage_app.spend import Spend

# The overrides' names (USD as a string: JSON keeps a decimal exact only as text).
BUDGET_USD = "budget-usd"
BUDGET_TOKENS = "budget-tokens"


@dataclass(frozen=True, slots=True)
class SessionBudget:
    usd: Decimal | None = None
    tokens: int | None = None

    @property
    def is_set(self) -> bool:
        return self.usd is not None or self.tokens is not None

    def exhausted_by(self, spend: Spend) -> str | None:
        """Why ``spend`` leaves nothing of this budget, or None while some is left."""
        if self.usd is not None and spend.cost_usd >= self.usd:
            return f"this session has used its budget of ${self.usd} (spent ${spend.cost_usd:.4f})"
        if self.tokens is not None and spend.tokens >= self.tokens:
            return f"this session has used its budget of {self.tokens:,} tokens (spent {spend.tokens:,})"
        return None

    def describe(self, spend: Spend) -> str:
        """Spend against budget, one line per limit."""
        usd = f" of ${self.usd}" if self.usd is not None else " (no limit)"
        tokens = f" of {self.tokens:,}" if self.tokens is not None else " (no limit)"
        return f"spent ${spend.cost_usd:.4f}{usd}\ntokens {spend.tokens:,}{tokens}"


def parse_usd(value: Any) -> Decimal | None:
    """A USD amount (≥ 0) as given by a command or typed into the admin; None when it is not one."""
    try:
        usd = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return usd if usd.is_finite() and usd >= 0 else None


def parse_tokens(value: Any) -> int | None:
    """A whole number of tokens (≥ 0); None when it is not one."""
    try:
        tokens = int(str(value))
    except ValueError:
        return None
    return tokens if tokens >= 0 else None


def session_budget(overrides: dict[str, Any]) -> SessionBudget:
    """The budget in a session's overrides. A value that is not a valid amount (mistyped in the admin's JSON)
    sets no limit rather than failing every request of the session."""
    usd, tokens = overrides.get(BUDGET_USD), overrides.get(BUDGET_TOKENS)
    return SessionBudget(usd=None if usd is None else parse_usd(usd),
                         tokens=None if tokens is None else parse_tokens(tokens))
