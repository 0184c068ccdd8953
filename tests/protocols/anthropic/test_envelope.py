"""Usage numbers, both directions (``envelope``)."""

from __future__ import annotations

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a

USAGES = [
    {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    {"input_tokens": 21, "output_tokens": 393, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0},
    {"input_tokens": 3, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 188086},
    {"input_tokens": 1, "output_tokens": 2, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 4},
]


@pytest.mark.parametrize("usage", USAGES)
def test_it_round_trips_usage_numbers_exactly(usage: dict[str, int]) -> None:
    canonical = a.usage_to_canonical(usage)
    assert canonical.input_tokens == sum(v for k, v in usage.items() if k != "output_tokens")
    assert canonical.cached_tokens == usage["cache_read_input_tokens"]
    assert canonical.cache_creation_tokens == usage["cache_creation_input_tokens"]
    assert a.usage_from_canonical(canonical) == usage


def test_it_reports_openai_style_usage_without_double_counting_cache() -> None:
    usage = c.Usage(input_tokens=1000, output_tokens=50, cached_tokens=800, reasoning_tokens=20)
    assert a.usage_from_canonical(usage) == {
        "input_tokens": 200, "output_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800,
    }
