"""OpenAI Chat Completions <-> canonical translation: regression tests for bugs found by the SDK matrix."""

from __future__ import annotations

import pytest

from proxy_app.translation import anthropic, gemini, openai_chat
from proxy_app.translation import canonical as c


def _request(reasoning: c.Reasoning | None, source: str = "anthropic") -> c.ChatRequest:
    return c.ChatRequest(model="gpt-4o", source_protocol=source, messages=[c.Message("user", [c.TextPart("x")])],
                         reasoning=reasoning)


@pytest.mark.parametrize(
    ("reasoning", "effort"),
    [
        (c.Reasoning(effort="high"), "high"),
        (c.Reasoning(budget_tokens=1024), "low"),
        (c.Reasoning(budget_tokens=2048), "low"),
        (c.Reasoning(budget_tokens=8192), "medium"),
        (c.Reasoning(budget_tokens=16000), "high"),
        (c.Reasoning(budget_tokens=32768), "high"),
        (c.Reasoning(include_thoughts=True), None),  # Gemini includeThoughts alone: no effort chosen
        (c.Reasoning(), None),
        (c.Reasoning(budget_tokens=4096, enabled=False), None),
        (None, None),
    ],
)
def test_it_maps_thinking_budgets_to_reasoning_effort(reasoning: c.Reasoning | None, effort: str | None) -> None:
    """Bug: an Anthropic ``thinking.budget_tokens`` or Gemini ``thinkingBudget`` request reached an
    OpenAI-compatible backend without ``reasoning_effort``, so no reasoning came back."""
    body = openai_chat.request_from_canonical(_request(reasoning))
    assert body.get("reasoning_effort") == effort


def test_anthropic_and_gemini_thinking_requests_reach_openai_with_an_effort() -> None:
    chat = anthropic.request_to_canonical({
        "model": "m", "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "hi"}]})
    assert openai_chat.request_from_canonical(chat)["reasoning_effort"] == "low"
    chat = gemini.request_to_canonical({
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 24576}}}, model="m")
    assert openai_chat.request_from_canonical(chat)["reasoning_effort"] == "high"
