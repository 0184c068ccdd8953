"""Conversation affinity: what is remembered per conversation and backend, and how planning uses it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from proxy_app.core.canonical import ProxyError
from proxy_app.providers.registry import Registry
from proxy_app.routing.affinity import ConversationAffinity
from proxy_app.routing.targets import Attempt, Target, plan_attempts

A = Target("openrouter", "gpt-4")
B = Target("gemini", "gemini-2.5-flash")
LOCAL = Target("local", "llama")


@pytest.fixture
def conversation() -> str:
    return f"7:{uuid.uuid4()}"  # unique per test: the cache (Redis in CI's second pass) outlives tests


def order(attempts: list[Attempt]) -> list[str]:
    return [f"{a.target}#{a.key_index}" for a in attempts]


def fingerprint(registry: Registry, backend: str, index: int) -> str:
    return registry.backends[backend].pool.fingerprints[index]


async def serve(conversation: str, registry: Registry, target: Target, index: int,
                errors: list[tuple[Attempt, ProxyError]] | None = None) -> str:
    """One request of ``conversation`` served by ``target``'s key ``index``: its usage row's ``affinity``."""
    affinity = await ConversationAffinity.load(conversation, [target], registry)
    return affinity.served(registry.backends[target.backend].pool, target.model, index, errors or [])


def test_the_preferred_key_goes_first_whatever_the_round_robin_position(registry: Registry) -> None:
    preferred = {"openrouter": fingerprint(registry, "openrouter", 2)}
    for _ in range(3):
        assert order(plan_attempts([A], "k", registry, preferred))[0] == "openrouter:gpt-4#2"
    assert order(plan_attempts([A, B], "m", registry, preferred)) == ["openrouter:gpt-4#2", "gemini:gemini-2.5-flash#0"]


async def test_a_cooling_preferred_key_is_left_out_like_any_other(registry: Registry) -> None:
    await registry.backends["openrouter"].pool.cool_down(2, "gpt-4", 60)
    preferred = {"openrouter": fingerprint(registry, "openrouter", 2)}
    assert all(not o.endswith("#2") for o in order(plan_attempts([A], "k", registry, preferred)))


async def test_a_conversation_is_new_then_kept_on_the_key_that_served_it(registry: Registry, conversation: str) -> None:
    assert await serve(conversation, registry, A, 1) == "new"
    affinity = await ConversationAffinity.load(conversation, [A, B], registry)
    assert affinity.preferred() == {"openrouter": fingerprint(registry, "openrouter", 1)}
    assert await serve(conversation, registry, A, 1) == "kept"
    assert await serve(f"{conversation}-other", registry, A, 0) == "new", "each conversation has its own key"
    assert await serve(conversation, registry, A, 1) == "kept"


async def test_a_move_says_why(registry: Registry, conversation: str) -> None:
    pool = registry.backends["openrouter"].pool
    await serve(conversation, registry, A, 0)
    await pool.cool_down(0, "gpt-4", 60)
    assert await serve(conversation, registry, A, 1) == "moved: cooling"
    await pool.mark_invalid(1)
    assert await serve(conversation, registry, A, 2) == "moved: invalid"
    failing = [(Attempt(A, 2), ProxyError("upstream error", kind="bad_gateway", status=502))]
    assert await serve(conversation, registry, A, 0, failing) == "moved: failing"
    await serve(f"{conversation}-2", registry, A, 2)
    assert await serve(f"{conversation}-2", registry, A, 1) == "moved", "healthy but not chosen (another policy's order)"


async def test_the_stored_value_is_a_fingerprint_never_the_key(registry: Registry, conversation: str) -> None:
    from django.core.cache import cache

    from proxy_app.routing.affinity import _cache_key, _local, _shared

    await serve(conversation, registry, A, 2)
    await asyncio.sleep(0.05)  # a Redis write runs in the background
    key = _cache_key(conversation, "openrouter")
    stored = await cache.aget(key) if _shared() else _local[key]
    assert stored[0] == fingerprint(registry, "openrouter", 2) and "or-c" not in str(stored)


async def test_a_backend_without_a_choice_of_key_has_no_affinity(registry: Registry, conversation: str) -> None:
    assert await serve(conversation, registry, LOCAL, -1) == ""
    assert await serve(conversation, registry, Target("single", "m"), 0) == ""
    assert (await ConversationAffinity.load(conversation, [LOCAL], registry)).preferred() == {}


async def test_affinity_can_be_turned_off(registry: Registry, conversation: str, settings: Any) -> None:
    settings.AFFINITY_ENABLED = False
    assert await serve(conversation, registry, A, 1) == ""
    assert (await ConversationAffinity.load(conversation, [A], registry)).preferred() == {}


async def test_a_conversation_is_forgotten_after_its_ttl(registry: Registry, conversation: str,
                                                         settings: Any) -> None:
    settings.AFFINITY_TTL_SECONDS = 1
    await serve(conversation, registry, A, 1)
    assert (await ConversationAffinity.load(conversation, [A], registry)).preferred()
    await asyncio.sleep(1.2)
    assert (await ConversationAffinity.load(conversation, [A], registry)).preferred() == {}
