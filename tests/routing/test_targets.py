"""Attempt planning per failover policy, model-name parsing, and cooldown-aware planning."""

from __future__ import annotations

import pytest

from proxy_app.core.canonical import ProxyError
from proxy_app.providers.config import keys_from_env
from proxy_app.providers.registry import Registry
from proxy_app.routing.targets import Target, parse_target, plan_attempts


def order(attempts: list) -> list[str]:
    return [f"{a.target}#{a.key_index}" for a in attempts]


A = Target("openrouter", "gpt-4")
B = Target("gemini", "gemini-2.5-flash")


def test_policy_k_tries_the_first_element_with_each_key(registry: Registry) -> None:
    assert order(plan_attempts([A, B], "k", registry)) == ["openrouter:gpt-4#0", "openrouter:gpt-4#1", "openrouter:gpt-4#2"]


def test_policy_m_tries_each_element_with_its_first_key(registry: Registry) -> None:
    assert order(plan_attempts([A, B], "m", registry)) == ["openrouter:gpt-4#0", "gemini:gemini-2.5-flash#0"]


def test_policy_km_tries_every_key_of_each_element_in_turn(registry: Registry) -> None:
    assert order(plan_attempts([A, B], "km", registry)) == [
        "openrouter:gpt-4#0", "openrouter:gpt-4#1", "openrouter:gpt-4#2",
        "gemini:gemini-2.5-flash#0", "gemini:gemini-2.5-flash#1",
    ]


def test_policy_mk_interleaves_keys_across_elements(registry: Registry) -> None:
    assert order(plan_attempts([A, B], "mk", registry)) == [
        "openrouter:gpt-4#0", "gemini:gemini-2.5-flash#0",
        "openrouter:gpt-4#1", "gemini:gemini-2.5-flash#1",
        "openrouter:gpt-4#2",
    ]


def test_rotation_starts_at_the_next_key_each_request(registry: Registry) -> None:
    first = order(plan_attempts([A], "k", registry))
    second = order(plan_attempts([A], "k", registry))
    assert first[0] != second[0] and sorted(first) == sorted(second)


async def test_cooling_keys_are_left_out_per_model(registry: Registry) -> None:
    pool = registry.backends["openrouter"].pool
    await pool.cool_down(0, "gpt-4", 60)
    assert "openrouter:gpt-4#0" not in order(plan_attempts([A], "k", registry))
    other = Target("openrouter", "claude")
    assert "openrouter:claude#0" in order(plan_attempts([other], "k", registry))
    assert order(plan_attempts([A, B], "m", registry))[0] != "openrouter:gpt-4#0"


async def test_invalid_keys_are_left_out_for_every_model(registry: Registry) -> None:
    await registry.backends["gemini"].pool.mark_invalid(1)
    assert order(plan_attempts([B], "k", registry)) == ["gemini:gemini-2.5-flash#0"]


def test_a_backend_without_keys_gets_one_keyless_attempt(registry: Registry) -> None:
    assert order(plan_attempts([Target("local", "llama")], "k", registry)) == ["local:llama#-1"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("openrouter:openai/gpt-4", Target("openrouter", "openai/gpt-4")),
        ("gemini:gemini-2.5-pro", Target("gemini", "gemini-2.5-pro")),
        ("gpt-4o", Target("openrouter", "gpt-4o")),
        ("meta-llama/llama-3:free", Target("openrouter", "meta-llama/llama-3:free")),
    ],
)
def test_model_names_pick_the_backend_before_the_first_colon(registry: Registry, name: str, expected: Target) -> None:
    assert parse_target(name, registry) == expected


def test_an_unknown_prefix_lists_the_configured_backends(registry: Registry) -> None:
    with pytest.raises(ProxyError) as err:
        parse_target("nosuch:model", registry)
    assert "gemini, local, openrouter" in err.value.message


def test_numbered_keys_win_over_the_single_key() -> None:
    env = {"GEMINI_API_KEY": "single", "GEMINI_API_KEY_2": "two", "GEMINI_API_KEY_1": "one", "GEMINI_API_KEY_10": "ten"}
    assert keys_from_env(env, "GEMINI") == ["one", "two", "ten"]
    assert keys_from_env({"GEMINI_API_KEY": "single"}, "GEMINI") == ["single"]


@pytest.mark.parametrize("name", ["gemini:gemini-2.5-flash\r\nHost: evil", "gpt-4\tturbo", "gemini:a\x00b"])
def test_a_model_name_with_control_characters_is_a_clear_400(registry: Registry, name: str) -> None:
    """In an upstream URL they would be dropped or escaped on the way: the upstream would be asked
    for a model the client did not name."""
    with pytest.raises(ProxyError) as err:
        parse_target(name, registry)
    assert err.value.status == 400 and err.value.param == "model"
    assert "control characters" in err.value.message
