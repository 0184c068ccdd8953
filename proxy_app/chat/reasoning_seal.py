"""Sealed reasoning state: another provider's signed reasoning, carried by the client itself.

A Responses client (Codex, ``store: false`` with ``include: ["reasoning.encrypted_content"]``)
keeps an opaque ``encrypted_content`` per reasoning item and sends it back with its history. When
the reasoning came from a provider of another protocol (Anthropic thinking and its signature,
Gemini thought signatures), the proxy puts that state there itself, sealed with AES-GCM under a
server key, so a later request restores it without any shared store (``reasoning_state`` keeps
the same state server-side for clients that drop it). A blob the proxy did not seal (forged,
altered, OpenAI's own, another deployment's) opens to nothing and is ignored.

The key is ``REASONING_SEAL_KEY`` when set, else derived from ``DJANGO_SECRET_KEY``: every process
and host serving one set of clients needs the same one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "lip1."
_NONCE_BYTES = 12


@functools.lru_cache(maxsize=4)
def _cipher(secret: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"llm-interactive-proxy reasoning seal\0" + secret.encode()).digest())


def _current() -> AESGCM:
    return _cipher(settings.REASONING_SEAL_KEY or settings.SECRET_KEY)


def seal(state: list[dict[str, Any]]) -> str:
    """``state`` (reasoning entries: text, signature, redacted_data, origin) as an opaque string."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _current().encrypt(nonce, orjson.dumps(state), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(blob: Any) -> list[dict[str, Any]] | None:
    """The state ``seal`` put in ``blob``; None for anything it did not seal."""
    if not isinstance(blob, str) or not blob.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(blob[len(PREFIX):])
        opened = _current().decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], PREFIX.encode())
        state = orjson.loads(opened)
    except (ValueError, InvalidTag, orjson.JSONDecodeError):
        return None
    return state if isinstance(state, list) and all(isinstance(e, dict) for e in state) else None
