"""A model's price and what a request costs at it: plain arithmetic, free of Django (the trace
exporter process prices spans with it, ``proxy_app.operations.trace_exporter``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens. ``cached`` (cache reads) / ``cache_write`` / ``reasoning`` None = billed like
    input / input / output."""

    input: Decimal
    output: Decimal
    cached: Decimal | None = None
    reasoning: Decimal | None = None
    source: str = "seeded"
    cache_write: Decimal | None = None

    def _cache_split(self, input_tokens: int, cached_tokens: int, cache_write_tokens: int) -> tuple[int, int]:
        """Cache reads and writes, clamped to what the input count holds (it includes both)."""
        cached = min(max(cached_tokens, 0), input_tokens)
        return cached, min(max(cache_write_tokens, 0), input_tokens - cached)

    def cost(self, *, input_tokens: int, output_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0,
             cache_write_tokens: int = 0) -> Decimal:
        """Cost in USD. Input counts include cache reads and writes, output counts include reasoning tokens."""
        cached, written = self._cache_split(input_tokens, cached_tokens, cache_write_tokens)
        reasoning = min(max(reasoning_tokens, 0), output_tokens)
        total = (
            (input_tokens - cached - written) * self.input
            + cached * (self.cached if self.cached is not None else self.input)
            + written * (self.cache_write if self.cache_write is not None else self.input)
            + (output_tokens - reasoning) * self.output
            + reasoning * (self.reasoning if self.reasoning is not None else self.output)
        )
        return (total / MILLION).quantize(Decimal("0.00000001"))

    def cache_saving(self, *, input_tokens: int, cached_tokens: int, cache_write_tokens: int) -> Decimal:
        """What caching saved against billing every input token at the input price: the reads' discount less
        the writes' premium (negative for a request that only wrote)."""
        cached, written = self._cache_split(input_tokens, cached_tokens, cache_write_tokens)
        saved = (
            cached * (self.input - (self.cached if self.cached is not None else self.input))
            - written * ((self.cache_write if self.cache_write is not None else self.input) - self.input)
        )
        return (saved / MILLION).quantize(Decimal("0.00000001"))
