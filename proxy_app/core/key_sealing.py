"""Backend keys sealed at rest: AES-256-GCM under a key-encryption key (KEK) that is not in the database.

A sealed value names the KEK that sealed it (``lipk1.<kid>.<nonce+ciphertext>``, the kid being a short
digest of the KEK), so a ring of several KEKs opens old rows while the first one seals new ones; that
is what lets an operator rotate: add the new KEK in front, re-seal (``manage.py rotate_kek``), drop the
old one. The kid is bound into the ciphertext as associated data, so a value cannot be moved under
another KEK's name. A value sealed under a KEK the ring lacks is an error naming the setting, never a
silent fallback: the proxy would otherwise send garbage to the provider as a key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "lipk1."
MIN_KEK_CHARS = 32
_NONCE_BYTES = 12
_LABEL = b"llm-interactive-proxy backend key KEK\0"


class SealingError(Exception):
    """A sealed value that cannot be opened, or a KEK that cannot be used; the message names the setting."""


def _derive(kek: str) -> bytes:
    return hashlib.sha256(_LABEL + kek.encode()).digest()


def kek_id(kek: str) -> str:
    """The short public name of a KEK: what sealed values carry (a digest, it reveals nothing of the KEK)."""
    return hashlib.sha256(b"kid\0" + _derive(kek)).hexdigest()[:12]


def new_kek() -> str:
    """A fresh random KEK (256 bits, URL-safe text)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def sealed_kid(value: str) -> str | None:
    """The kid a sealed value names; None for a value that is not sealed."""
    if not is_sealed(value):
        return None
    return value[len(PREFIX):].partition(".")[0]


@dataclass(frozen=True)
class KeyRing:
    """The KEKs in use, the first sealing, every one opening; ``setting`` names where they come from."""

    keks: tuple[str, ...]
    setting: str = "PROXY_KEK"
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, keks: Iterable[str], setting: str = "PROXY_KEK") -> KeyRing:
        usable = tuple(k.strip() for k in keks if k.strip())
        if not usable:
            raise SealingError(f"{setting} names no key-encryption key")
        short = [i for i, k in enumerate(usable, 1) if len(k) < MIN_KEK_CHARS]
        if short:
            raise SealingError(f"{setting}: key-encryption key #{short[0]} is shorter than {MIN_KEK_CHARS} characters "
                               f"(make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        ring = cls(usable, setting)
        for kek in usable:
            ring._ciphers[kek_id(kek)] = AESGCM(_derive(kek))
        return ring

    @property
    def current_kid(self) -> str:
        return kek_id(self.keks[0])

    def kids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def seal(self, plaintext: str) -> str:
        kid = self.current_kid
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode(), (PREFIX + kid).encode())
        return f"{PREFIX}{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str) -> str:
        """The plaintext of a sealed ``value``; a value that is not sealed (a row from before sealing) as it is."""
        kid = sealed_kid(value)
        if kid is None:
            return value
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SealingError(f"a backend key is sealed with key-encryption key {kid}, which {self.setting} "
                               f"does not hold (keys held: {', '.join(sorted(self._ciphers))})")
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX) + len(kid) + 1:])
            return cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], (PREFIX + kid).encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise SealingError(f"a backend key sealed with key-encryption key {kid} does not open: "
                               f"the value was altered or {self.setting} holds a different key under that id") from exc
