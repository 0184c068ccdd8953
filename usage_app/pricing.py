"""Cost of a request: admin prices in ``ModelPrice`` first, then Pydantic's genai-prices list, else unknown.

Prices are held in memory: the admin rows are loaded once and reloaded when a ``ModelPrice`` is
saved or deleted (and at least every ``PRICE_TTL_SECONDS`` for other processes); genai-prices
look-ups are memoised per (backend, model). Nothing here queries the database per request.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from usage_app.models import ModelPrice
from usage_app.price import Price

logger = logging.getLogger("llmproxy.usage.pricing")

PRICE_TTL_SECONDS = 60.0

# Our backend names -> genai-prices provider ids.
PROVIDER_IDS = {"openai": "openai", "openrouter": "openrouter", "anthropic": "anthropic", "gemini": "google"}


def _flat(value: object) -> Decimal | None:
    """A genai-prices price as one number: tiered prices use their base tier."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    base = getattr(value, "base", None)
    return base if isinstance(base, Decimal) else None


@lru_cache(maxsize=4096)
def seeded_price(backend: str, model: str) -> Price | None:
    """The genai-prices price for ``model`` on ``backend``; None when either is unknown to it."""
    provider_id = PROVIDER_IDS.get(backend)
    if not provider_id or not model:
        return None
    from genai_prices import data_snapshot

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
        prices = info.get_prices(datetime.now(tz=UTC))
    except (LookupError, ValueError):
        return None
    input_price, output_price = _flat(getattr(prices, "input_mtok", None)), _flat(getattr(prices, "output_mtok", None))
    if input_price is None or output_price is None:
        return None
    return Price(input=input_price, output=output_price, cached=_flat(getattr(prices, "cache_read_mtok", None)),
                 cache_write=_flat(getattr(prices, "cache_write_mtok", None)))


def load_seeded_prices() -> None:
    """Load genai-prices' list now rather than on the first priced record (see ``llmproxy_site.server.heap``)."""
    from genai_prices import data_snapshot

    data_snapshot.get_snapshot()


class PriceBook:
    """Admin overrides (from the database, reloaded on change) over the seeded list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overrides: dict[tuple[str, str], Price] | None = None
        self._loaded_at = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._overrides = None

    def _load(self) -> dict[tuple[str, str], Price]:
        overrides: dict[tuple[str, str], Price] = {}
        try:
            for row in ModelPrice.objects.all():
                overrides[(row.backend, row.model)] = Price(
                    input=row.input_per_mtok,
                    output=row.output_per_mtok,
                    cached=row.cached_per_mtok,
                    reasoning=row.reasoning_per_mtok,
                    source=row.source,
                )
        except Exception:  # table missing before migrate: seeded prices only
            logger.debug("model prices unavailable", exc_info=True)
        return overrides

    def overrides(self) -> dict[tuple[str, str], Price]:
        with self._lock:
            if self._overrides is None or time.monotonic() - self._loaded_at > PRICE_TTL_SECONDS:
                self._overrides = self._load()
                self._loaded_at = time.monotonic()
            return self._overrides

    def price(self, backend: str, model: str) -> Price | None:
        return self.overrides().get((backend, model)) or seeded_price(backend, model)


price_book = PriceBook()


def price_for(backend: str, model: str) -> Price | None:
    return price_book.price(backend, model)


def cost_for(
    *, backend: str, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> Decimal | None:
    """USD cost of one request, or None when the model's price is unknown (never 0 for unknown)."""
    price = price_for(backend, model)
    if price is None:
        return None
    return price.cost(
        input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens, reasoning_tokens=reasoning_tokens,
        cache_write_tokens=cache_write_tokens,
    )


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    def _invalidate(**_: object) -> None:
        price_book.invalidate()

    post_save.connect(_invalidate, sender=ModelPrice, weak=False, dispatch_uid="usage_price_saved")
    post_delete.connect(_invalidate, sender=ModelPrice, weak=False, dispatch_uid="usage_price_deleted")
