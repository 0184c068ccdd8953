"""Usage the upstream did not report is estimated (and marked so); body capture stores redacted text."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import Proxy
from tests.processes import wait_for


@pytest.mark.parametrize("stream", [False, True])
def test_missing_upstream_usage_is_estimated_and_marked(proxy: Proxy, stream: bool) -> None:
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    result = api.chat.completions.create(model="gpt-4o", stream=stream,
                                         messages=[{"role": "user", "content": "[[nousage]] tell me something"}])
    if stream:
        list(result)  # the request finishes (and is recorded) just after its client has read the end
    assert wait_for(lambda: flush(timeout=10) and UsageRecord.objects.exists(), timeout=10)
    row = UsageRecord.objects.get()
    assert row.tokens_estimated
    assert row.input_tokens > 0 and row.output_tokens > 0


def test_captured_bodies_are_redacted(proxy: Proxy, settings: object) -> None:
    from usage_app.models import CapturedExchange
    from usage_app.recorder import flush

    settings.USAGE_CAPTURE_BODIES = True  # type: ignore[attr-defined]
    secret = "sk-proj-CaptureSecret0123456789abcdefghij"
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    list(api.chat.completions.create(model="gpt-4o", stream=True,
                                     messages=[{"role": "user", "content": f"keep {secret} safe"}]))
    assert wait_for(lambda: flush(timeout=10) and CapturedExchange.objects.exists(), timeout=10)
    exchange = CapturedExchange.objects.get()
    stored = f"{exchange.prompt} {exchange.answer}"
    assert "keep (API_KEY_HAS_BEEN_REDACTED) safe" in stored
    assert secret not in stored
    assert "Hello from the fake provider" in str(exchange.answer)
