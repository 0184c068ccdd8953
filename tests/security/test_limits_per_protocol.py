"""A proxy key's rate limit and budget are enforced for all four client protocols, each refusal in
the client's own error shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from proxy_app.services import proxy_key_create
from tests.conftest import Proxy

REQUESTS = {
    "openai": ("/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
    "responses": ("/v1/responses", {"model": "gpt-4o", "input": "hi"}),
    "anthropic": ("/v1/messages", {"model": "openai:gpt-4o", "max_tokens": 20,
                                   "messages": [{"role": "user", "content": "hi"}]}),
    "gemini": ("/v1beta/models/openai:gpt-4o:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}),
}


def call(proxy: Proxy, protocol: str, key: str) -> httpx.Response:
    path, body = REQUESTS[protocol]
    return httpx.post(f"{proxy.url}{path}", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {key}", "x-api-key": key, "x-goog-api-key": key})


def error_of(protocol: str, response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if protocol == "anthropic":
        assert body["type"] == "error"
    return dict(body["error"])


@pytest.mark.parametrize("protocol", REQUESTS)
def test_a_key_over_its_rate_limit_gets_a_429(proxy: Proxy, protocol: str) -> None:
    _, key = proxy_key_create(name=f"rpm-{protocol}", rate_limit_rpm=2)
    assert [call(proxy, protocol, key).status_code for _ in range(2)] == [200, 200]
    refused = call(proxy, protocol, key)
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
    error = error_of(protocol, refused)
    expected = {"anthropic": ("type", "rate_limit_error"), "gemini": ("status", "RESOURCE_EXHAUSTED")}
    name, value = expected.get(protocol, ("type", "rate_limit_error"))
    assert error[name] == value
    assert len(proxy.fakes.openai.chat_requests()) == 2


@pytest.mark.parametrize("protocol", REQUESTS)
def test_a_key_over_its_budget_is_refused(proxy: Proxy, protocol: str) -> None:
    from django.utils import timezone

    from proxy_app.access import limits
    from usage_app.models import UsageRecord

    row, key = proxy_key_create(name=f"budget-{protocol}", budget_usd=Decimal("0.50"))
    UsageRecord.objects.create(proxy_key_id=row.pk, cost_usd=Decimal("0.75"), status=200, created_at=timezone.now())
    limits._spend.clear()
    refused = call(proxy, protocol, key)
    assert refused.status_code == 429 and "retry-after" not in refused.headers  # spent: waiting does not help
    error = error_of(protocol, refused)
    assert "budget of $0.50" in error["message"]
    expected = {"anthropic": ("type", "rate_limit_error"), "gemini": ("status", "RESOURCE_EXHAUSTED")}
    name, value = expected.get(protocol, ("code", "insufficient_quota"))
    assert error[name] == value
    assert proxy.fakes.openai.chat_requests() == []
