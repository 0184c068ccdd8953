"""Response objects <-> canonical responses: documented responses re-encoded, parts, stop reasons and
usage read, a foreign response rendered (incomplete when cut short), and the SDK's own model
accepting what we render."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from proxy_app.protocols.openai_responses.request_in import request_echo
from proxy_app.protocols.openai_responses.response import usage_from_canonical, usage_to_canonical
from tests.protocols.openai_responses.samples import FUNCTION_CALLING, WEATHER_TOOL

TEXT_RESPONSE = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {
            "type": "message",
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text",
                 "text": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.",
                 "annotations": [], "logprobs": []}
            ],
        }
    ],
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 123},
}


FUNCTION_CALL_RESPONSE = {
    "id": "resp_67ca09c5efe0819096d0511c92b8c890096610f474011cc0",
    "object": "response",
    "created_at": 1741294021,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "model": "gpt-4.1-2025-04-14",
    "output": [
        {"type": "function_call", "id": "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0",
         "call_id": "call_unLAR8MvFNptuiZK6K6HCy5k", "name": "get_current_weather",
         "arguments": "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}", "status": "completed"}
    ],
    "usage": {"input_tokens": 291, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
              "output_tokens": 23, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 314},
}


REASONING_RESPONSE = {
    "id": "resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7",
    "object": "response",
    "created_at": 1746989954,
    "status": "incomplete",
    "error": None,
    "incomplete_details": {"reason": "max_output_tokens"},
    "model": "o4-mini-2025-04-16",
    "output": [
        {"type": "reasoning", "id": "rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7",
         "summary": [{"type": "summary_text", "text": "**Answering a simple question**"}]},
    ],
    "usage": {"input_tokens": 81, "input_tokens_details": {"cached_tokens": 64, "cache_write_tokens": 0},
              "output_tokens": 300, "output_tokens_details": {"reasoning_tokens": 300}, "total_tokens": 381},
}


DOCUMENTED_RESPONSES = {"text": TEXT_RESPONSE, "function_call": FUNCTION_CALL_RESPONSE, "reasoning": REASONING_RESPONSE}


@pytest.mark.parametrize("payload", DOCUMENTED_RESPONSES.values(), ids=DOCUMENTED_RESPONSES.keys())
def test_it_reencodes_documented_responses(payload: dict[str, Any]) -> None:
    out = r.response_from_canonical(r.response_to_canonical(payload), model=payload["model"])
    for key in ("id", "object", "created_at", "status", "error", "incomplete_details", "model", "output", "usage"):
        assert out[key] == payload[key], key


def test_it_reads_response_parts_stop_reason_and_usage() -> None:
    text = r.response_to_canonical(TEXT_RESPONSE)
    assert text.text().startswith("In a peaceful grove") and text.stop_reason == "end_turn"
    assert text.usage == c.Usage(input_tokens=36, output_tokens=87)
    call = r.response_to_canonical(FUNCTION_CALL_RESPONSE)
    assert call.stop_reason == "tool_use"
    assert call.parts == [c.ToolCallPart("call_unLAR8MvFNptuiZK6K6HCy5k", "get_current_weather",
                                         "{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}",
                                         extra={r.X: {"id": "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0"}})]
    cut = r.response_to_canonical(REASONING_RESPONSE)
    assert cut.stop_reason == "max_tokens"
    assert cut.usage == c.Usage(input_tokens=81, output_tokens=300, cached_tokens=64, reasoning_tokens=300)
    assert isinstance(cut.parts[0], c.ThinkingPart) and cut.parts[0].text == "**Answering a simple question**"


def _foreign_response(parts: list[c.Part], stop: c.StopReason = "end_turn") -> c.ChatResponse:
    return c.ChatResponse(id="msg_01Abc", model="claude-sonnet-4-5", parts=parts, stop_reason=stop,
                          usage=c.Usage(input_tokens=20, output_tokens=30, cached_tokens=5, reasoning_tokens=7,
                                        cache_creation_tokens=2),
                          created=1700000000, extra={"stop_sequence": None})


def test_it_renders_a_foreign_response_as_a_response_object() -> None:
    resp = _foreign_response([
        c.ThinkingPart("Let me think.", signature="sig", extra={"cache_control": {}}),
        c.ThinkingPart("", redacted_data="xyz"),
        c.TextPart("It is sunny.", extra={"citations": []}),
        c.ToolCallPart("toolu_1", "get_weather", '{"city":"Paris"}'),
    ], stop="tool_use")
    echo = request_echo({**FUNCTION_CALLING, "instructions": "Be brief.", "temperature": 0.2})
    out = r.response_from_canonical(resp, model="anthropic:claude-sonnet-4-5", echo=echo)
    assert out["id"] == "resp_msg_01Abc" and out["object"] == "response" and out["created_at"] == 1700000000
    assert out["status"] == "completed" and out["incomplete_details"] is None and out["error"] is None
    assert out["model"] == "anthropic:claude-sonnet-4-5"
    reasoning, message, call = out["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me think."}]
    assert "encrypted_content" not in reasoning
    assert message["id"].startswith("msg_") and message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "It is sunny.", "annotations": [], "logprobs": []}]
    assert call["id"].startswith("fc_")
    assert {k: call[k] for k in ("type", "call_id", "name", "arguments", "status")} == {
        "type": "function_call", "call_id": "toolu_1", "name": "get_weather", "arguments": '{"city":"Paris"}',
        "status": "completed"}
    assert out["usage"] == {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 2},
                            "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 7}, "total_tokens": 50}
    assert (out["instructions"], out["temperature"], out["tool_choice"]) == ("Be brief.", 0.2, "auto")
    assert out["tools"] == [WEATHER_TOOL] and out["parallel_tool_calls"] is True and out["store"] is False
    assert "stop_sequence" not in out


def test_it_marks_a_cut_answer_incomplete() -> None:
    out = r.response_from_canonical(_foreign_response([c.TextPart("Once upon")], stop="max_tokens"), model="m")
    assert out["status"] == "incomplete" and out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["output"][0]["status"] == "incomplete"
    filtered = r.response_from_canonical(_foreign_response([], stop="content_filter"), model="m")
    assert filtered["incomplete_details"] == {"reason": "content_filter"}


def test_the_response_object_validates_against_the_sdk_model() -> None:
    from openai.types.responses import Response

    out = r.response_from_canonical(_foreign_response([c.ThinkingPart("t"), c.TextPart("x"),
                                                       c.ToolCallPart("c1", "f", "{}")]), model="m",
                                    echo=request_echo({**FUNCTION_CALLING, "reasoning": {"effort": "low"}}))
    parsed = Response.model_validate(out)
    assert parsed.output_text == "x"


USAGES = [
    c.Usage(),
    c.Usage(input_tokens=10, output_tokens=5),
    c.Usage(input_tokens=1000, output_tokens=300, cached_tokens=800, reasoning_tokens=250, cache_creation_tokens=100),
]


@pytest.mark.parametrize("usage", USAGES)
def test_it_round_trips_usage_numbers_exactly(usage: c.Usage) -> None:
    wire = usage_from_canonical(usage)
    assert wire["total_tokens"] == usage.input_tokens + usage.output_tokens
    assert usage_to_canonical(wire) == usage
