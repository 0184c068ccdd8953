"""Reading an Anthropic client's request (``request_in``): documented payloads, validation errors."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from proxy_app.protocols.common import pseudonymous_user
from tests.protocols.anthropic.samples import (
    BASIC,
    EVERYTHING_ELSE,
    PNG,
    PROMPT_CACHING,
    SERVER_TOOLS_AND_DOCUMENTS,
    SIGNATURE,
    THINKING_WITH_TOOLS,
    TOOL_CONVERSATION,
    TOOL_RESULT_BLOCKS,
    VISION,
    WEATHER_TOOL,
)
from tests.protocols.payloads import DELETE, changed


def test_it_reads_system_blocks_as_one_system_message_keeping_cache_control() -> None:
    req = a.request_to_canonical(PROMPT_CACHING)
    system = req.messages[0]
    assert system.role == "system"
    assert [p.text for p in system.parts] == [  # type: ignore[union-attr]
        "You are an AI assistant tasked with analyzing literary works.",
        "<the entire contents of Pride and Prejudice>",
    ]
    assert system.parts[1].extra == {"cache_control": {"type": "ephemeral"}}  # type: ignore[union-attr]
    assert req.messages[1].role == "user"


def test_it_reads_base64_and_url_images() -> None:
    parts = a.request_to_canonical(VISION).messages[0].parts
    assert parts[0] == c.ImagePart(data=PNG, media_type="image/png")
    assert parts[1] == c.ImagePart(url="https://upload.wikimedia.org/ant.jpg")
    assert parts[2] == c.TextPart("How are these images different?")


def test_it_splits_tool_results_into_tool_messages_and_tool_use_into_calls() -> None:
    req = a.request_to_canonical(TOOL_CONVERSATION)
    assert [m.role for m in req.messages] == ["user", "assistant", "tool", "user"]
    call = req.messages[1].parts[1]
    assert call == c.ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather",
                                  '{"location":"San Francisco, CA","unit":"celsius"}')
    result = req.messages[2].parts[0]
    assert isinstance(result, c.ToolResultPart)
    assert (result.tool_call_id, result.content, result.is_error) == (
        "toolu_01A09q90qw90lq917835lq9", [c.TextPart("15 degrees")], False)
    assert req.messages[3].text() == "And tomorrow?"
    assert req.tools == [c.Tool("get_weather", WEATHER_TOOL["description"], WEATHER_TOOL["input_schema"])]
    assert req.tool_choice == c.ToolChoice("auto")
    assert req.parallel_tool_calls is False


def test_it_reads_tool_result_blocks_with_images_and_errors() -> None:
    results = a.request_to_canonical(TOOL_RESULT_BLOCKS).messages[2].parts
    assert len(results) == 2
    first, second = results
    assert isinstance(first, c.ToolResultPart) and isinstance(second, c.ToolResultPart)
    assert first.content == [c.TextPart("15 degrees"), c.ImagePart(data=PNG, media_type="image/png")]
    assert second.is_error is True
    assert second.extra is not None and second.extra["cache_control"] == {"type": "ephemeral"}


def test_it_keeps_thinking_signatures_and_redacted_thinking() -> None:
    req = a.request_to_canonical(THINKING_WITH_TOOLS)
    thinking, redacted, _call = req.messages[1].parts
    assert thinking == c.ThinkingPart(THINKING_WITH_TOOLS["messages"][1]["content"][0]["thinking"], signature=SIGNATURE,
                                      origin="anthropic")
    assert redacted == c.ThinkingPart("", redacted_data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8c",
                                      origin="anthropic")
    assert req.reasoning == c.Reasoning(budget_tokens=10000)
    assert req.max_tokens == 16000


def test_it_keeps_server_tools_and_documents_for_anthropic_only() -> None:
    req = a.request_to_canonical(SERVER_TOOLS_AND_DOCUMENTS)
    assert req.tools is not None
    assert req.tools[0] == c.Tool("web_search", extra={"type": "web_search_20250305", "max_uses": 5})
    assert req.tools[1].extra == {"cache_control": {"type": "ephemeral"}}
    assert isinstance(req.messages[0].parts[0], c.RawPart)
    assert req.tool_choice == c.ToolChoice("required")

    req.source_protocol = "openai_chat"
    wire = a.request_from_canonical(req)
    # the document is an Anthropic RawPart, so it survives; its block fields were never split off
    assert wire["messages"][0]["content"][0]["type"] == "document"
    assert wire["tools"][0] == {"name": "web_search", "input_schema": {"type": "object", "properties": {}}}
    assert "cache_control" not in wire["tools"][1]


def test_it_maps_top_level_fields_and_keeps_unknown_ones_in_extra() -> None:
    req = a.request_to_canonical(EVERYTHING_ELSE)
    assert (req.temperature, req.top_p, req.top_k) == (0.5, 0.9, 40)
    assert req.stop == ["\n\nHuman:", "END"]
    # other providers get a pseudonym; an Anthropic upstream gets the client's user_id back as it came
    assert req.user == pseudonymous_user("13803d75-b4b5-4c3e-b2a2-6f21399b021b")
    assert req.meta["anthropic_user_id"] == "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
    assert req.metadata is None
    assert req.response_format == c.ResponseFormat("json_schema", {"type": "object"})
    assert req.reasoning == c.Reasoning(effort="medium")
    assert req.extra == {
        "service_tier": "standard_only",
        "container": "container_011CQUdyQ9qWkqTv",
        "inference_geo": "us",
        "cache_control": {"type": "ephemeral"},
        "x_future_field": {"nested": [1, 2, 3]},
    }
    assert req.stream is False


def test_it_rejects_a_request_without_max_tokens() -> None:
    payload = {k: v for k, v in BASIC.items() if k != "max_tokens"}
    with pytest.raises(c.ProxyError) as exc:
        a.request_to_canonical(payload)
    assert exc.value.param == "max_tokens"
    assert exc.value.status == 400


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    return changed(base or TOOL_CONVERSATION, path, value)


_DELETE = DELETE

INVALID_REQUESTS = {
    "missing_model": (_with(["model"], _DELETE), "model"),
    "max_tokens_zero": (_with(["max_tokens"], 0), "max_tokens"),
    "max_tokens_negative": (_with(["max_tokens"], -1), "max_tokens"),
    "missing_messages": (_with(["messages"], _DELETE), "messages"),
    "tool_role_in_messages": (_with(["messages", 0, "role"], "tool"), "messages[0].role"),
    "content_not_a_list": (_with(["messages", 0, "content"], 42), "messages[0].content"),
    "text_block_without_text": (_with(["messages", 1, "content", 0], {"type": "text"}), "messages[1].content[0].text"),
    "image_without_source": (_with(["messages", 0, "content"], [{"type": "image"}]), "messages[0].content[0].source"),
    "base64_image_without_data": (
        _with(["messages", 0, "content"], [{"type": "image", "source": {"type": "base64", "media_type": "image/png"}}]),
        "messages[0].content[0].source.data",
    ),
    "tool_result_without_id": (
        _with(["messages", 2, "content", 0, "tool_use_id"], _DELETE), "messages[2].content[0].tool_use_id"
    ),
    "tool_use_input_not_object": (_with(["messages", 1, "content", 1, "input"], "[]"), "messages[1].content[1].input"),
    "tool_without_input_schema": (_with(["tools", 0, "input_schema"], _DELETE), "tools[0].input_schema"),
    "unknown_tool_choice": (_with(["tool_choice"], {"type": "sometimes"}), "tool_choice.type"),
    "tool_choice_tool_without_name": (_with(["tool_choice"], {"type": "tool"}), "tool_choice.name"),
    "thinking_without_budget": (_with(["thinking"], {"type": "enabled"}), "thinking.budget_tokens"),
    "system_not_text": (_with(["system"], 7), "system"),
    "system_block_not_text": (_with(["system"], [{"type": "image"}]), "system[0]"),
    "temperature_not_number": (_with(["temperature"], "hot"), "temperature"),
    "max_tokens_not_int": (_with(["max_tokens"], "1024"), "max_tokens"),
    "stop_sequences_not_list": (_with(["stop_sequences"], "END"), "stop_sequences"),
    "bad_output_format": (_with(["output_config"], {"format": {"type": "json_object"}}), "output_config.format"),
}


@pytest.mark.parametrize(("payload", "param"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys())
def test_it_names_the_offending_field_in_validation_errors(payload: dict[str, Any], param: str) -> None:
    with pytest.raises(c.ProxyError) as exc:
        a.request_to_canonical(payload)
    assert exc.value.kind == "invalid_request"
    assert exc.value.param == param
