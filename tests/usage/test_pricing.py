"""Prices: genai-prices seeds, admin overrides win, unknown models cost None (never 0)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from usage_app import pricing
from usage_app.models import ModelPrice


def test_it_prices_a_known_openai_model_from_genai_prices() -> None:
    price = pricing.seeded_price("openai", "gpt-4o")
    assert price is not None
    assert price.input == Decimal("2.5") and price.output == Decimal("10")
    assert price.cached == Decimal("1.25")


@pytest.mark.parametrize(
    ("backend", "model"),
    [("openrouter", "openai/gpt-4"), ("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-pro")],
)
def test_it_maps_every_backend_to_its_provider(backend: str, model: str) -> None:
    assert pricing.seeded_price(backend, model) is not None


def test_cost_counts_cached_and_reasoning_tokens_at_their_own_rates() -> None:
    price = pricing.Price(input=Decimal(2), output=Decimal(10), cached=Decimal(1), reasoning=Decimal(20))
    cost = price.cost(input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=500_000, reasoning_tokens=250_000)
    assert cost == Decimal("1.5") + Decimal("7.5") + Decimal(5)


def test_cached_and_reasoning_default_to_input_and_output_rates() -> None:
    price = pricing.Price(input=Decimal(2), output=Decimal(10))
    assert price.cost(input_tokens=100, output_tokens=10, cached_tokens=40, reasoning_tokens=5) == Decimal("0.0003")


@pytest.mark.django_db
def test_unknown_model_costs_none_not_zero() -> None:
    pricing.price_book.invalidate()
    assert pricing.cost_for(backend="openai", model="no-such-model-xyz", input_tokens=10, output_tokens=10) is None
    assert pricing.cost_for(backend="mylocal", model="llama", input_tokens=10, output_tokens=10) is None


@pytest.mark.django_db
def test_admin_price_overrides_the_seeded_one_and_reloads_on_save() -> None:
    pricing.price_book.invalidate()
    seeded = pricing.cost_for(backend="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0)
    assert seeded == Decimal("2.5")
    row = ModelPrice.objects.create(backend="openai", model="gpt-4o", input_per_mtok=Decimal(1), output_per_mtok=Decimal(1))
    assert pricing.cost_for(backend="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0) == Decimal(1)
    row.input_per_mtok = Decimal(3)
    row.save()
    assert pricing.cost_for(backend="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0) == Decimal(3)
    row.delete()
    assert pricing.cost_for(backend="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0) == Decimal("2.5")


@pytest.mark.django_db
def test_admin_price_makes_a_custom_backend_priced() -> None:
    ModelPrice.objects.create(backend="mylocal", model="llama", input_per_mtok=Decimal("0.5"), output_per_mtok=Decimal(1))
    assert pricing.cost_for(backend="mylocal", model="llama", input_tokens=2_000_000, output_tokens=0) == Decimal(1)
