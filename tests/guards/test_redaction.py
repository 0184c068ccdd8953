"""Tests for prompt secret redaction: every shape goes, ordinary text and payloads stay intact."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.guards.redaction import MIN_KNOWN_SECRET_LENGTH, REDACTION_MARKER, SecretRedactor

_rng = random.Random(7)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _random(alphabet: str, length: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(length))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWT = ".".join(
    [
        _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()),
        _b64url(json.dumps({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}).encode()),
        _b64url(hashlib.sha256(b"signature").digest()),
    ]
)

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join(_random(_ALNUM + "+/", 64) for _ in range(6))
    + "\n-----END RSA PRIVATE KEY-----"
)

SHAPES = {
    "openai": "sk-" + _random(_ALNUM, 48),
    "openai_project": "sk-proj-" + _random(_ALNUM + "_-", 120),
    "openai_service_account": "sk-svcacct-" + _random(_ALNUM + "_-", 80),
    "anthropic": "sk-ant-api03-" + _random(_ALNUM + "_-", 93) + "AA",
    "openrouter": "sk-or-v1-" + _random("0123456789abcdef", 64),
    "google": "AIza" + _random(_ALNUM + "_-", 35),
    "github_classic": "ghp_" + _random(_ALNUM, 36),
    "github_oauth": "gho_" + _random(_ALNUM, 36),
    "github_user_to_server": "ghu_" + _random(_ALNUM, 36),
    "github_server_to_server": "ghs_" + _random(_ALNUM, 36),
    "github_refresh": "ghr_" + _random(_ALNUM, 36),
    "github_fine_grained": "github_pat_" + _random(_ALNUM, 22) + "_" + _random(_ALNUM, 59),
    "aws_access_key": "AKIA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "aws_session_key": "ASIA" + _random("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
    "slack_bot": "xoxb-" + "-".join([_random("0123456789", 12), _random("0123456789", 13), _random(_ALNUM, 24)]),
    "slack_user": "xoxp-" + "-".join([_random("0123456789", 12), _random("0123456789", 13), _random(_ALNUM, 32)]),
    "jwt": JWT,
    "pem": PEM,
}

CONTEXTS = [
    "{secret}",
    "My key is {secret}, please fix my script.",
    'client = OpenAI(api_key="{secret}")',
    "export API_KEY={secret}\n",
    "curl https://api.example.com/v1?key={secret}&q=1",
    "config:\n  token: '{secret}'\n",
    "```\n{secret}\n```",
]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_it_redacts_each_secret_shape(name: str, context: str) -> None:
    secret = SHAPES[name]
    text, count = SecretRedactor().redact(context.format(secret=secret))
    assert text == context.format(secret=REDACTION_MARKER)
    assert count == 1


def test_it_redacts_a_truncated_private_key_block() -> None:
    truncated = PEM.split("-----END")[0]
    text, count = SecretRedactor().redact("key:\n" + truncated)
    assert text == "key:\n" + REDACTION_MARKER
    assert count == 1


def test_it_keeps_the_word_bearer_and_redacts_the_token() -> None:
    redactor = SecretRedactor()
    opaque = _random(_ALNUM + "._-", 40)
    for header in (f"Authorization: Bearer {opaque}", f"authorization: bearer {opaque}"):
        text, count = redactor.redact(header + "\n")
        assert text == header.replace(opaque, REDACTION_MARKER) + "\n"
        assert count == 1
    text, count = redactor.redact(f"-H 'Authorization: Bearer {SHAPES['openai']}'")
    assert text == f"-H 'Authorization: Bearer {REDACTION_MARKER}'"
    assert count == 1


def test_it_leaves_the_word_bearer_in_prose_alone() -> None:
    prose = "The bearer of this letter is a friend. Bearer tokens expire. Use Bearer <token> or Bearer $API_KEY."
    assert SecretRedactor().redact(prose) == (prose, 0)


def test_it_redacts_known_values_with_no_recognisable_shape() -> None:
    hex_key = "3f9a0c1d2e4b5a6978877665544332211"
    custom = "proxy-key.team-alpha.2024"
    redactor = SecretRedactor([hex_key, custom])
    text, count = redactor.redact(f"keys: {hex_key} / {custom}/{custom}x and {hex_key[:-1]}")
    assert text == f"keys: {REDACTION_MARKER} / {REDACTION_MARKER}/{REDACTION_MARKER}x and {hex_key[:-1]}"
    assert count == 3


def test_it_prefers_the_longest_known_value() -> None:
    short, long = "backend-key-12345", "backend-key-12345-extended"
    text, count = SecretRedactor([short, long]).redact(f"{long} {short}")
    assert text == f"{REDACTION_MARKER} {REDACTION_MARKER}"
    assert count == 2


def test_it_ignores_known_values_too_short_to_be_secrets() -> None:
    redactor = SecretRedactor(["", "abc", "x" * (MIN_KNOWN_SECRET_LENGTH - 1), "REDACTED"])
    text = "abc xxxxxxx and a marker " + REDACTION_MARKER
    assert redactor.redact(text) == (text, 0)


def test_it_counts_every_replacement() -> None:
    secrets = [SHAPES["openai"], SHAPES["google"], SHAPES["aws_access_key"], SHAPES["jwt"], SHAPES["openai"]]
    text, count = SecretRedactor(["known-secret-value"]).redact(
        " and ".join(secrets) + "\nknown-secret-value\nBearer " + _random(_ALNUM, 30)
    )
    assert count == 7
    assert text.count(REDACTION_MARKER) == 7


def _data_url(kind: str, payload: bytes) -> str:
    return f"data:{kind};base64," + base64.b64encode(payload).decode()


def test_it_does_not_mangle_ordinary_prose_code_and_identifiers() -> None:
    samples = [
        "The task-based approach with sk-learn and the ask-me-anything format works well.",
        f"commit {hashlib.sha1(b'x').hexdigest()} and sha256 {hashlib.sha256(b'x').hexdigest()}",
        f"request id {uuid.UUID(int=_rng.getrandbits(128))} and {uuid.UUID(int=1)}",
        "def risk_assessment(desk_id: int) -> str:\n    return f'desk-{desk_id}'\n",
        "AKIAEXAMPLE is too short; MASKIA1234567890ABCDEFG is part of a word.",
        "Use the placeholder sk-... or YOUR_API_KEY_HERE.",
        "eyJ is how base64 JSON starts, e.g. eyJhbGciOi without dots.",
        "xoxo, see you soon! Hugs from github_user.",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    ]
    redactor = SecretRedactor(["configured-key-123456"])
    for sample in samples:
        assert redactor.redact(sample) == (sample, 0), sample


def test_it_does_not_corrupt_base64_payloads_in_data_urls() -> None:
    rng = random.Random(3)
    redactor = SecretRedactor([SHAPES["openai"]])
    # Payloads engineered to contain every anchor inside the base64 text.
    tricky = "AIza" + "B" * 35 + "AKIA" + "C" * 16 + "eyJhbGciOiJIUzI1NiJ9" + "ghp" + "D" * 40 + "xoxb"
    payloads = [
        _data_url("image/png", rng.randbytes(200_000)),
        _data_url("application/json", json.dumps({"alg": "none", "sub": "x" * 50}).encode()),
        "data:image/png;base64," + "iVBORw0KGgo" + tricky + "+/" + tricky + "==",
        "data:image/jpeg;base64,/9j/" + tricky,
    ]
    for payload in payloads:
        message = json.dumps({"type": "image_url", "image_url": {"url": payload}})
        assert redactor.redact(message) == (message, 0)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.text(max_size=40),
    suffix=st.text(max_size=40),
    name=st.sampled_from(sorted(SHAPES)),
)
def test_it_never_lets_a_secret_through(prefix: str, suffix: str, name: str) -> None:
    secret = SHAPES[name]
    redactor = SecretRedactor([secret])  # as a configured key it must go whatever surrounds it
    text, count = redactor.redact(prefix + secret + suffix)
    assert secret not in text
    assert count >= 1


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(sorted(SHAPES.values())), st.sampled_from(["configured-key-123456"]), st.text(max_size=30)
        ),
        max_size=8,
    )
)
def test_it_is_idempotent(parts: list[str]) -> None:
    redactor = SecretRedactor(["configured-key-123456"])
    once, _ = redactor.redact(" ".join(parts))
    twice, count = redactor.redact(once)
    assert twice == once
    assert count == 0


def test_it_is_fast_on_large_prompts() -> None:
    redactor = SecretRedactor([SHAPES["openai"], "configured-key-123456", "0123456789abcdef0123"])
    prose = " ".join(
        _rng.choice(["the", "model", "bearer", "task-based", "answer", "eyJ", "value"]) for _ in range(40_000)
    )
    image = _data_url("image/png", random.Random(1).randbytes(750_000))
    started = time.perf_counter()
    for _ in range(3):
        redactor.redact(prose)
        redactor.redact(image)
    assert (time.perf_counter() - started) / 3 < 0.1
