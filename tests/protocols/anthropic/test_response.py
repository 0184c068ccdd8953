"""Non-streamed responses, both directions (``response``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from tests.protocols.anthropic.samples import (
    DOCUMENTED_RESPONSES,
    MODEL,
    SIGNATURE,
    TEXT_RESPONSE,
    THINKING_RESPONSE,
    TOOL_USE_RESPONSE,
)


@pytest.mark.parametrize("payload", DOCUMENTED_RESPONSES.values(), ids=DOCUMENTED_RESPONSES.keys())
def test_it_reencodes_documented_responses_exactly(payload: dict[str, Any]) -> None:
    resp = a.response_to_canonical(copy.deepcopy(payload))
    assert a.response_from_canonical(resp, model=payload["model"]) == payload


def test_it_reads_response_parts_stop_reason_and_usage() -> None:
    resp = a.response_to_canonical(TOOL_USE_RESPONSE)
    assert resp.id == "msg_01Aq9w938a90dw8q"
    assert resp.stop_reason == "tool_use"
    assert resp.parts[1] == c.ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather",
                                           '{"location":"San Francisco, CA","unit":"celsius"}')
    assert resp.usage == c.Usage(input_tokens=4512, output_tokens=40, cached_tokens=3000, cache_creation_tokens=1500)
    thinking = a.response_to_canonical(THINKING_RESPONSE)
    assert thinking.parts[0] == c.ThinkingPart(THINKING_RESPONSE["content"][0]["thinking"], signature=SIGNATURE,
                                               origin="anthropic")
    assert thinking.stop_sequence == "END"


STOP_REASONS = [
    ("end_turn", "end_turn", "end_turn"),
    ("max_tokens", "max_tokens", "max_tokens"),
    ("stop_sequence", "stop_sequence", "stop_sequence"),
    ("tool_use", "tool_use", "tool_use"),
    ("pause_turn", "end_turn", "end_turn"),
    ("refusal", "content_filter", "refusal"),
    ("model_context_window_exceeded", "max_tokens", "max_tokens"),
]


@pytest.mark.parametrize(("wire", "canonical", "back"), STOP_REASONS)
def test_it_maps_stop_reasons(wire: str, canonical: str, back: str) -> None:
    resp = a.response_to_canonical({**TEXT_RESPONSE, "stop_reason": wire})
    assert resp.stop_reason == canonical
    assert a.response_from_canonical(resp, model=MODEL)["stop_reason"] == back


def test_it_reports_loop_detection_as_a_normal_end_turn() -> None:
    resp = c.ChatResponse("chatcmpl-1", "gpt", [c.TextPart("hi")], stop_reason="loop_detected")
    wire = a.response_from_canonical(resp, model=MODEL)
    assert wire["stop_reason"] == "end_turn"
    assert wire["id"] == "msg_chatcmpl-1"
    assert wire["model"] == MODEL


def test_it_renders_foreign_responses_without_foreign_fields() -> None:
    resp = c.ChatResponse(
        "abc", "gpt-4o",
        [c.ThinkingPart("hmm"), c.TextPart("Hi", extra={"logprobs": []}), c.ToolCallPart("call_9", "f", "{oops"),
         c.RawPart("openai_chat", {"type": "input_audio"})],
        extra={"system_fingerprint": "fp_1"},
    )
    wire = a.response_from_canonical(resp, model=MODEL)
    assert wire["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": ""},
        {"type": "text", "text": "Hi"},
        {"type": "tool_use", "id": "call_9", "name": "f", "input": {"_raw_arguments": "{oops"}},
    ]
    assert "system_fingerprint" not in wire
