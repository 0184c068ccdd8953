"""Per-proxy-key limits: allowed models, requests per minute, spending budget."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from proxy_app.services import proxy_key_create
from tests.conftest import Proxy


def client_for(proxy: Proxy, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.openai_base, api_key=key, max_retries=0)


def ask(api: openai.OpenAI, model: str = "gpt-4o") -> str:
    resp = api.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return resp.choices[0].message.content or ""


def test_a_key_limited_to_some_models_gets_403_for_others(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="narrow", allowed_models=["gpt-4o"])
    api = client_for(proxy, key)
    assert ask(api).startswith("Hello")
    with pytest.raises(openai.PermissionDeniedError) as err:
        ask(api, "openrouter:gpt-4")
    assert "may not use model 'openrouter:gpt-4'" in err.value.message


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(proxy: Proxy) -> None:
    _, key = proxy_key_create(name="slow", rate_limit_rpm=3)
    api = client_for(proxy, key)
    for _ in range(3):
        ask(api)
    with pytest.raises(openai.RateLimitError) as err:
        ask(api)
    assert 0 < int(err.value.response.headers["retry-after"]) <= 60
    assert len(proxy.fakes.openai.chat_requests()) == 3


def test_a_key_over_its_budget_is_refused(proxy: Proxy) -> None:
    from usage_app.models import UsageRecord

    row, key = proxy_key_create(name="spender", budget_usd=Decimal("0.50"))
    api = client_for(proxy, key)
    assert ask(api).startswith("Hello")
    from django.utils import timezone

    UsageRecord.objects.create(proxy_key_id=row.pk, cost_usd=Decimal("0.75"), status=200, created_at=timezone.now())
    from proxy_app.access import limits

    limits._spend.clear()
    with pytest.raises(openai.RateLimitError) as err:
        ask(api)
    assert "budget of $0.50" in err.value.message
