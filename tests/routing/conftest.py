"""The registry the routing tests route over: backends with three keys, two, none and one."""

from __future__ import annotations

import pytest

from proxy_app.providers.config import BackendSpec
from proxy_app.providers.key_state import KeyStateStore
from proxy_app.providers.registry import Registry


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    store = KeyStateStore("")
    monkeypatch.setattr("proxy_app.providers.keys.key_state", lambda: store)
    monkeypatch.setattr("proxy_app.providers.keys._counters", {})
    return Registry(
        [
            BackendSpec("openrouter", "openai_chat", "http://x", keys=("or-a", "or-b", "or-c")),
            BackendSpec("gemini", "gemini", "http://y", keys=("g-a", "g-b")),
            BackendSpec("local", "openai_chat", "http://z"),
            BackendSpec("single", "openai_chat", "http://w", keys=("only",)),
        ]
    )
