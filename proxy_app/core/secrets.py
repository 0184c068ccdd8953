"""Hashing and masking of secrets: nothing else in the project handles raw key text."""

from __future__ import annotations

import hashlib
import secrets

PROXY_KEY_PREFIX = "lip-"


def hash_key(key: str) -> str:
    """Stored form of a proxy key: SHA-256 hex (keys are random, so no salt/KDF is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_proxy_key() -> str:
    return PROXY_KEY_PREFIX + secrets.token_urlsafe(32)


def mask_secret(secret: str | None) -> str:
    """``sk-proj-abcdef…wxyz`` -> ``sk-...wxyz``; short values are hidden entirely."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "****"
    head = secret[:3]
    return f"{head}...{secret[-4:]}"
