"""A session's budget (``!/budget``), checked before each request is sent upstream: a request that starts
within budget is served whole (a stream is never cut), the next one gets the provider's own answer to a
spent quota — a 429 in every protocol (OpenAI ``insufficient_quota``, Anthropic ``rate_limit_error``,
Gemini ``RESOURCE_EXHAUSTED``).

The session's spend comes from its usage records, re-summed at most once per
``SESSION_SPEND_REFRESH_SECONDS`` per process (see ``usage_app.spend.SpendCache``).
"""

from __future__ import annotations

from django.conf import settings

from commands_app.budgets import session_budget
from commands_app.service import command_prefix
from commands_app.sessions import SessionState
from proxy_app.core.canonical import ProxyError
from usage_app.spend import SpendCache

_spend = SpendCache(lambda: settings.SESSION_SPEND_REFRESH_SECONDS)


async def session_budget_check(session: SessionState) -> None:
    """Raise a 429 ``ProxyError`` (code ``insufficient_quota``, no Retry-After: it does not recover by
    waiting) when the session has spent its budget."""
    budget = session_budget(session.overrides)
    if not budget.is_set:
        return
    spend = await _spend.get((session.owner_id, session.session_id),
                             proxy_key_id=session.owner_id, session_id=session.session_id)
    if reason := budget.exhausted_by(spend):
        raise ProxyError(f"{reason}; raise or clear it with {command_prefix(session)}budget", kind="rate_limit", code="insufficient_quota")
