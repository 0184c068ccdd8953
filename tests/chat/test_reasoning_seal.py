"""Sealed reasoning state: opens only to the proxy that sealed it."""

from __future__ import annotations

import pytest

from proxy_app.chat import reasoning_seal

STATE = [{"text": "Let me think.", "signature": "EqQBCkgI", "redacted_data": None, "origin": "anthropic"}]


def test_a_sealed_state_opens_to_what_was_sealed() -> None:
    blob = reasoning_seal.seal(STATE)
    assert blob.startswith(reasoning_seal.PREFIX) and "Let me think" not in blob
    assert reasoning_seal.unseal(blob) == STATE
    assert reasoning_seal.seal(STATE) != blob  # a fresh nonce every time


@pytest.mark.parametrize("blob", [None, "", "gAAAAABopenai-encrypted", "lip1.", "lip1.!!!", "lip1.AAAA" * 10])
def test_anything_else_opens_to_nothing(blob: object) -> None:
    assert reasoning_seal.unseal(blob) is None


def test_a_changed_byte_or_another_key_opens_to_nothing(settings: object) -> None:
    blob = reasoning_seal.seal(STATE)
    flipped = blob[:-3] + ("A" if blob[-3] != "A" else "B") + blob[-2:]
    assert reasoning_seal.unseal(flipped) is None
    settings.REASONING_SEAL_KEY = "another deployment"  # type: ignore[attr-defined]
    assert reasoning_seal.unseal(blob) is None
