"""What a proxy key or a session has spent so far, summed from its usage records, and a per-process cache
of those sums for the budget checks (so a check costs a dict lookup, not a query per request)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import DatabaseError, close_old_connections
from django.db.models import Sum

from usage_app.models import UsageRecord


@dataclass(frozen=True, slots=True)
class Spend:
    """Money (unpriced requests count as nothing) and tokens (input + output)."""

    cost_usd: Decimal = Decimal(0)
    tokens: int = 0


def usage_spend(*, proxy_key_id: int | None, session_id: str | None = None) -> Spend | None:
    """The spend of a proxy key (``None``: the environment key), or of one of its sessions; None when the
    database cannot say (an outage: callers keep the last known spend)."""
    records = UsageRecord.objects.filter(proxy_key_id=proxy_key_id)
    if session_id is not None:
        records = records.filter(session_id=session_id)
    try:
        sums = records.aggregate(cost=Sum("cost_usd"), input=Sum("input_tokens"), output=Sum("output_tokens"))
    except DatabaseError:
        close_old_connections()  # a broken connection is opened afresh at the next refresh
        return None
    return Spend(sums["cost"] or Decimal(0), (sums["input"] or 0) + (sums["output"] or 0))


class SpendCache:
    """Spends re-summed at most once per ``refresh_seconds()`` per process, off the event loop. A budget
    can therefore be overshot by what is spent within that interval (in every process). Holds at most
    ``max_entries`` spends, the least recently checked forgotten first."""

    def __init__(self, refresh_seconds: Callable[[], float], *, max_entries: int = 10_000) -> None:
        self._refresh_seconds = refresh_seconds
        self._max_entries = max_entries
        self._held: OrderedDict[Hashable, tuple[float, Spend]] = OrderedDict()

    async def get(self, key: Hashable, *, proxy_key_id: int | None, session_id: str | None = None) -> Spend:
        held = self._held.get(key)
        if held is None or time.monotonic() - held[0] > self._refresh_seconds():
            spent = await sync_to_async(usage_spend, thread_sensitive=True)(
                proxy_key_id=proxy_key_id, session_id=session_id)
            known = held[1] if held is not None else Spend()
            held = self._held[key] = (time.monotonic(), known if spent is None else spent)
            if len(self._held) > self._max_entries:
                self._held.popitem(last=False)
        self._held.move_to_end(key)
        return held[1]

    def clear(self) -> None:
        self._held.clear()
