"""Upstream faults as the real SDKs see them through the proxy: a stream broken after content raises
the SDK's own API error (not a parse error, not a silent truncation), a rate limit is the SDK's rate
limit error with the wait in ``Retry-After``, and a stream's quirks read as a normal answer."""

from __future__ import annotations

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gtypes

from tests.faults import misbehaving as mb
from tests.faults.conftest import Faulty

HELLO = [{"role": "user", "content": "Say hello"}]


def _openai(faulty: Faulty) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{faulty.url}/v1", api_key=faulty.proxy.key, max_retries=0, timeout=10)


def _anthropic(faulty: Faulty) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{faulty.url}/anthropic", api_key=faulty.proxy.key, max_retries=0, timeout=10)


def _gemini(faulty: Faulty) -> genai.Client:
    return genai.Client(api_key=faulty.proxy.key, http_options=gtypes.HttpOptions(
        base_url=faulty.url, api_version="v1beta", retry_options=gtypes.HttpRetryOptions(attempts=1)))


@pytest.mark.parametrize("then", ["reset", "error_event"])
def test_openai_sdk_raises_its_api_error_when_the_stream_breaks(faulty: Faulty, then: str) -> None:
    faulty.upstream.script(mb.frames(2, then))
    text = []
    with pytest.raises(openai.APIError):
        for chunk in _openai(faulty).chat.completions.create(model="anthropic:claude-sonnet-4-5", messages=HELLO,
                                                             stream=True):
            text += [choice.delta.content or "" for choice in chunk.choices]
    assert "".join(text) == "".join(mb.words()[:2])


def test_openai_responses_sdk_reads_the_failure_events_when_the_stream_breaks(faulty: Faulty) -> None:
    # as from OpenAI itself: an ``error`` event and a failed response, which the SDK hands over as events
    faulty.upstream.script(mb.frames(2, "reset"))
    events = list(_openai(faulty).responses.create(model="gemini:gemini-2.5-flash", input="Say hello", stream=True))
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1].response.status == "failed" and events[-1].response.error is not None  # type: ignore[union-attr]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "".join(mb.words()[:2])


def test_anthropic_sdk_raises_its_api_error_when_the_stream_breaks(faulty: Faulty) -> None:
    faulty.upstream.script(mb.frames(2, "error_event"))
    with pytest.raises(anthropic.APIStatusError) as raised, _anthropic(faulty).messages.stream(
            model="anthropic:claude-sonnet-4-5", max_tokens=64, messages=HELLO) as stream:  # type: ignore[arg-type]
        for _ in stream.text_stream:
            pass
    assert "Overloaded" in str(raised.value)


def test_gemini_sdk_raises_its_api_error_when_the_stream_stalls(faulty: Faulty) -> None:
    faulty.timeouts(PROXY_IDLE_TIMEOUT=0.3)
    faulty.upstream.script(mb.frames(2, "stall"))
    client = _gemini(faulty)
    with pytest.raises(genai_errors.APIError) as raised:
        for _ in client.models.generate_content_stream(model="openai:gpt-4o-mini", contents="Say hello"):
            pass
    assert raised.value.code == 504


def test_the_sdks_get_their_rate_limit_error_with_the_providers_wait(faulty: Faulty) -> None:
    faulty.upstream.script(mb.error(429, retry_after=7))
    with pytest.raises(openai.RateLimitError) as openai_raised:
        _openai(faulty).chat.completions.create(model="openai:gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    assert openai_raised.value.response.headers["retry-after"] == "7"
    faulty.configure()  # a fresh key state: the first key cools down
    faulty.upstream.script(mb.error(429, retry_after=7))
    with pytest.raises(anthropic.RateLimitError) as anthropic_raised:
        _anthropic(faulty).messages.create(model="gemini:gemini-2.5-flash", max_tokens=64, messages=HELLO)  # type: ignore[arg-type]
    assert anthropic_raised.value.response.headers["retry-after"] == "7"


def test_the_sdks_read_a_quirky_upstream_stream_as_a_normal_answer(faulty: Faulty) -> None:
    def quirky(wire: mb.Wire) -> list[bytes]:
        """Unknown events, lines that are no field, and each frame split inside a multibyte character."""
        pieces = []
        for frame in [*wire.opening(), *(wire.delta(w) for w in mb.words("Grüße, 世界 🎉")), *wire.closing()]:
            at = next((i for i, byte in enumerate(frame) if byte >= 0xC0), len(frame) // 2)
            pieces += [wire.unknown_event(), b"no colon here\n: comment\n\n", frame[:at + 1], frame[at + 1:]]
        return pieces

    faulty.upstream.script(mb.raw("quirky", quirky))
    with _anthropic(faulty).messages.stream(model="openai:gpt-4o-mini", max_tokens=64,
                                            messages=HELLO) as stream:  # type: ignore[arg-type]
        assert "".join(stream.text_stream) == "Grüße, 世界 🎉"
