"""The models every configured backend offers, fetched concurrently and cached briefly."""

from __future__ import annotations

import asyncio
import time

from proxy_app.providers.registry import get_registry

MODELS_CACHE_SECONDS = 300.0
_cache: tuple[float, int, list[tuple[str, str]]] | None = None


async def list_all_models() -> list[tuple[str, str]]:
    """``[(backend, model), ...]`` over every backend; a backend that fails lists nothing."""
    global _cache
    registry = await get_registry()
    if _cache and _cache[1] == id(registry) and time.monotonic() - _cache[0] < MODELS_CACHE_SECONDS:
        return _cache[2]
    runtimes = list(registry.backends.values())
    results = await asyncio.gather(
        *(rt.connector.list_models(rt.pool.key((rt.pool.rotation('') or [-1])[0])) for rt in runtimes), return_exceptions=True
    )
    pairs = [
        (rt.name, model)
        for rt, models in zip(runtimes, results, strict=True)
        if isinstance(models, list)
        for model in models
    ]
    _cache = (time.monotonic(), id(registry), pairs)
    return pairs


async def find_model(model: str) -> tuple[str, str] | None:
    """``(backend, name)`` of ``model`` as a client names it (``backend:name``, or a bare name the
    first backend offering it serves), or None when no backend lists it."""
    for backend, name in await list_all_models():
        if model in (f"{backend}:{name}", name):
            return backend, name
    return None
