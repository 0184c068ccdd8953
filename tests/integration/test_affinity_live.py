"""Conversation affinity through the live proxy: one conversation, one backend key, while it is healthy."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import Proxy, configure_backends
from usage_app.models import UsageRecord
from usage_app.recorder import flush

KEYS = ["sk-aff-key-one-00000000000001", "sk-aff-key-two-00000000000002", "sk-aff-key-three-0000000000003"]


@pytest.fixture
def three_keys(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> Proxy:
    configure_backends(
        monkeypatch, proxy.fakes, OPENAI_API_KEY="", **{f"OPENAI_API_KEY_{i + 1}": k for i, k in enumerate(KEYS)}
    )
    return proxy


def ask(proxy: Proxy, session: str, text: str) -> str:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": session})
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    return resp.choices[0].message.content or ""


def keys_used(proxy: Proxy) -> list[str | None]:
    return [r.key for r in proxy.fakes.openai.chat_requests()]


def affinities(session: str) -> list[str]:
    assert flush(timeout=10)
    return list(UsageRecord.objects.filter(session_id=session).order_by("id").values_list("affinity", flat=True))


def test_one_conversation_stays_on_one_key(three_keys: Proxy) -> None:
    for turn in range(6):
        ask(three_keys, "agent-1", f"turn {turn}")
    used = keys_used(three_keys)
    assert len(set(used)) == 1, f"every turn on the same key, not round-robin: {used}"
    assert affinities("agent-1") == ["new"] + ["kept"] * 5


def test_a_rate_limited_key_moves_the_conversation_and_the_row_says_so(three_keys: Proxy) -> None:
    proxy = three_keys
    ask(proxy, "agent-2", "turn 0")
    (first,) = keys_used(proxy)
    assert first is not None
    proxy.fakes.openai.fail_key(first, 429, retry_after=60)
    for turn in range(1, 4):
        assert ask(proxy, "agent-2", f"turn {turn}").startswith("Hello from the fake provider")
    used = keys_used(proxy)
    assert used[1] == first and used.count(first) == 2, "the 429 on it, then it is left alone while it cools"
    assert len(set(used[2:])) == 1 and used[2] != first, "the conversation moved to one other key and stays there"
    assert affinities("agent-2") == ["new", "moved: cooling", "kept", "kept"]


def test_conversations_spread_over_the_keys(three_keys: Proxy) -> None:
    for session in ("a", "b", "c"):
        for turn in range(2):
            ask(three_keys, f"spread-{session}", f"turn {turn}")
    used = keys_used(three_keys)
    assert set(used) == set(KEYS), "new conversations take their turn round-robin"
    assert all(used[i] == used[i + 1] for i in (0, 2, 4)), f"each stays on its key: {used}"


def test_conversations_started_one_after_another_each_get_a_key_of_their_own(three_keys: Proxy) -> None:
    """A kept turn does not advance the round-robin: with three turns each (as many as keys), counting
    the kept turns would hand every new conversation the same key as the one before."""
    for session in ("a", "b", "c"):
        for turn in range(3):
            ask(three_keys, f"apart-{session}", f"turn {turn}")
    used = keys_used(three_keys)
    per_conversation = [set(used[i:i + 3]) for i in (0, 3, 6)]
    assert all(len(keys) == 1 for keys in per_conversation), f"each stays on its key: {used}"
    assert set.union(*per_conversation) == set(KEYS), f"three conversations, three keys: {used}"
