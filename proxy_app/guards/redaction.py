"""Redaction of API keys and other secrets from prompt text before it leaves the proxy.

``detect-secrets`` was considered and not used: it is a line- and file-oriented scanner
that reports findings rather than rewriting text, runs every plugin (including entropy
heuristics that flag git SHAs and base64 blobs) per line, and costs milliseconds per call,
whereas this runs on every request and must cost nothing on text with no candidate.

Shapes are matched only as whole tokens: a match may not start or end next to a
letter, digit, ``+``, ``/``, ``_`` or ``-``, so nothing inside a base64 payload (such as
a ``data:`` URL image) or a longer identifier is ever rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTION_MARKER = "(API_KEY_HAS_BEEN_REDACTED)"

# Configured values shorter than this are too likely to occur in ordinary text.
MIN_KNOWN_SECRET_LENGTH = 8

# Characters that may not touch a shape: with them a match would sit inside base64 or a
# longer identifier.
_TOKEN_CHAR = r"[A-Za-z0-9+/_\-]"

# (first character, rest of the pattern) for each shape. Every alternative of the final
# regex starts with a plain character so ``re`` can skip positions by a first-character
# set instead of trying every alternative everywhere; the boundary check therefore comes
# right after that character as a lookbehind over two characters.
_SHAPES = (
    # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-api03-), OpenRouter (sk-or-v1-)
    ("s", r"k-[A-Za-z0-9_\-]{20,}"),
    ("A", r"Iza[A-Za-z0-9_\-]{35}"),
    ("g", r"h[pousr]_[A-Za-z0-9]{36,}"),
    ("g", r"ithub_pat_[A-Za-z0-9_]{22,}"),
    ("A", r"(?:KIA|SIA)[A-Z0-9]{16}"),
    ("x", r"ox[abprs]-[A-Za-z0-9\-]{10,}"),
    ("e", r"yJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{10,}"),
)

# A truncated block (no END line) is redacted up to the end of its base64 body.
_PEM = (
    r"-----BEGIN[A-Z0-9 ]* PRIVATE KEY-----"
    r"(?:[\s\S]*?-----END[A-Z0-9 ]* PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)"
)


def _shape(first: str, rest: str) -> str:
    return f"{first}(?<!{_TOKEN_CHAR}{first}){rest}(?!{_TOKEN_CHAR})"


def _bearer(first: str) -> str:
    # Only the token is captured: the replacement keeps the word "Bearer" in front of it.
    return f"{first}(?<!\\w{first})earer[ \\t]+(?P<{first}token>[A-Za-z0-9._~+/\\-]{{16,}}=*)"


# Substrings every shape contains: text without any of them (and without a known secret)
# skips the regex entirely; each check is a C-speed substring search.
_SHAPE_ANCHORS = (
    "sk-",
    "AIza",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AKIA",
    "ASIA",
    "xox",
    "eyJ",
    "PRIVATE KEY-----",
    "earer",
)


class SecretRedactor:
    """Replaces known secret values and common secret shapes with ``REDACTION_MARKER``."""

    __slots__ = ("_anchors", "_pattern")

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        known = sorted(
            # Values overlapping the marker would make a second pass rewrite the first one's output.
            {
                s
                for s in known_secrets
                if len(s) >= MIN_KNOWN_SECRET_LENGTH and s not in REDACTION_MARKER and REDACTION_MARKER not in s
            },
            key=lambda s: (-len(s), s),
        )
        # A known secret containing an anchor is already covered by that anchor's check.
        extra_anchors = tuple(s for s in known if not any(a in s for a in _SHAPE_ANCHORS))
        self._anchors = _SHAPE_ANCHORS + extra_anchors
        alternatives = [re.escape(s) for s in known]
        alternatives.append(_PEM)
        alternatives.extend((_bearer("B"), _bearer("b")))
        alternatives.extend(_shape(first, rest) for first, rest in _SHAPES)
        self._pattern = re.compile("|".join(alternatives))

    def redact(self, text: str) -> tuple[str, int]:
        """Return ``text`` with every secret replaced, and how many were replaced."""
        if not text or not any(anchor in text for anchor in self._anchors):
            return text, 0
        return self._pattern.subn(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    token = match.lastgroup
    if token is None:
        return REDACTION_MARKER
    return match.string[match.start() : match.start(token)] + REDACTION_MARKER
