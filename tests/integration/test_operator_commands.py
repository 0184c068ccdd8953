"""Operator management commands, used as an operator would: output read back and used against the live proxy."""

from __future__ import annotations

import io

import openai
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from commands_app.models import FailoverRoute, FailoverRouteElement
from proxy_app.models import BackendKey, ProxyKey
from tests.conftest import OPENAI_KEYS, Proxy


def run(*args: str, **options: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_create_proxy_key_prints_a_key_once_that_then_works(proxy: Proxy) -> None:
    out, err = run("create_proxy_key", "ci-bot", "--project", "ci", "--allow-model", "gpt-4o")
    key = out.strip()
    assert key.startswith("lip-") and "shown again" not in out
    row = ProxyKey.objects.get(name="ci-bot")
    assert row.key_hash != key and key not in row.key_hint and row.project == "ci"
    assert row.allowed_models == ["gpt-4o"]
    resp = openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert (resp.choices[0].message.content or "").startswith("Hello")


def test_bootstrap_is_idempotent(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "ops")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")
    out, _ = run("bootstrap", "--no-input")
    assert "admin user 'ops' created" in out
    assert get_user_model().objects.get(username="ops").is_superuser
    imported = BackendKey.objects.filter(backend_name="openai")
    assert [k.secret for k in imported] == OPENAI_KEYS
    assert OPENAI_KEYS[0] not in out, "keys are never printed"
    out, _ = run("bootstrap", "--no-input")
    assert "already exists" in out and "0 backend key(s) imported" in out
    assert BackendKey.objects.filter(backend_name="openai").count() == 1


def test_list_routes_shows_policy_owner_and_ordered_elements(proxy: Proxy) -> None:
    route = FailoverRoute.objects.create(name="main", policy="km")
    for i, target in enumerate(["openai:gpt-4o", "openrouter:gpt-4"]):
        FailoverRouteElement.objects.create(route=route, position=i, target=target)
    out, _ = run("list_routes")
    assert "main" in out and "km" in out and "global" in out
    assert out.index("openai:gpt-4o") < out.index("openrouter:gpt-4")


async def test_clear_key_state_makes_a_cooling_key_available_again(proxy: Proxy) -> None:
    from asgiref.sync import sync_to_async

    from proxy_app.providers.registry import get_registry

    registry = await get_registry()
    pool = registry.backends["openai"].pool
    await pool.cool_down(0, "gpt-4o", 600)
    await pool.mark_invalid(0)
    assert not pool.available(0, "gpt-4o")
    out, _ = await sync_to_async(run)("clear_key_state", "openai")
    assert "key state cleared" in out
    assert pool.available(0, "gpt-4o")
