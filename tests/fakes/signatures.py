"""Verifiable opaque signatures, as the real providers issue for thinking (Anthropic ``signature``,
Gemini ``thoughtSignature``): the fakes can tell a signature they issued, for exactly that content,
from a made-up, altered or transplanted one.

A signature is base64 of ``HMAC(kind, payload)[:16] + payload``: like the real ones it carries its
content (theirs encrypted), so it stays valid when a client shows the thinking text omitted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_KEY = b"llm-interactive-proxy fake providers' signing key"


def sign(kind: str, payload: str) -> str:
    data = payload.encode()
    mac = hmac.new(_KEY, kind.encode() + b"\0" + data, hashlib.sha256).digest()[:16]
    return base64.b64encode(mac + data).decode()


def signed_payload(kind: str, signature: object) -> str | None:
    """The payload ``signature`` was issued for, or None when the fakes never issued it."""
    if not isinstance(signature, str) or not signature:
        return None
    # proto JSON reads bytes fields in standard or URL-safe base64, padded or not (SDKs differ)
    text = signature.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    mac, data = raw[:16], raw[16:]
    expected = hmac.new(_KEY, kind.encode() + b"\0" + data, hashlib.sha256).digest()[:16]
    if len(raw) < 16 or not hmac.compare_digest(mac, expected):
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None
