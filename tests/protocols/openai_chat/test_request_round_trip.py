"""OpenAI Chat Completions requests through both directions: an OpenAI client's request comes back to
OpenAI exactly (documented requests, each field), shorthands in their canonical spelling, and a
canonical request survives canonical -> wire -> canonical."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat as o
from proxy_app.protocols.openai_chat.request_out import reasoning_effort_out
from tests.protocols.openai_chat.samples import (
    AUDIO_INPUT,
    BOARDWALK,
    DEFAULT,
    DOCUMENTED_REQUESTS,
    FUNCTIONS,
    MATH_SCHEMA,
    REASONING,
    STRICT_TOOL,
    STRUCTURED_OUTPUTS,
    WEATHER_TOOL,
)
from tests.protocols.strategies import idents, json_objects, texts, tool_calls


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    req = o.request_to_canonical(payload)
    assert req.source_protocol == o.NAME
    assert o.request_from_canonical(req) == original
    assert payload == original  # decoding never mutates its input


# Same meaning on the wire, another spelling: what a re-encode makes of a documented shorthand.
NORMALISED_REQUESTS = {
    "stop_string_becomes_a_list": ({**DEFAULT, "stop": "END"}, {**DEFAULT, "stop": ["END"]}),
    "empty_stop_list_is_dropped": ({**DEFAULT, "stop": []}, DEFAULT),
    "null_fields_are_dropped": (
        {**DEFAULT, "temperature": None, "stop": None, "tools": None, "tool_choice": None, "response_format": None,
         "reasoning_effort": None, "seed": None},
        DEFAULT,
    ),
    "stream_false_is_the_default": ({**DEFAULT, "stream": False}, DEFAULT),
    "single_text_part_becomes_a_string": (
        {**DEFAULT, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}]},
        {**DEFAULT, "messages": [{"role": "user", "content": "Hello!"}]},
    ),
    "image_url_shorthand_string": (
        {**DEFAULT, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": BOARDWALK}]}]},
        {**DEFAULT,
         "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": BOARDWALK}}]}]},
    ),
    "sdk_echoed_assistant_message_loses_its_nulls": (
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": None, "annotations": [],
             "audio": None, "function_call": None, "tool_calls": None},
            {"role": "user", "content": "Tell me a joke."},
        ]},
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello! How can I assist you today?"},
            {"role": "user", "content": "Tell me a joke."},
        ]},
    ),
    "assistant_without_content_stays_without_and_empty_arguments_become_an_object": (
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant",
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ]},
        {**DEFAULT, "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant",
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ]},
    ),
    "system_without_content_gets_an_empty_string": (
        {**DEFAULT, "messages": [{"role": "system", "content": None}, {"role": "user", "content": "Hi"}]},
        {**DEFAULT, "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]},
    ),
    "json_schema_without_schema_gets_an_empty_one": (
        {**DEFAULT, "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        {**DEFAULT, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
    ),
    "max_completion_tokens_wins_over_max_tokens": (
        {**DEFAULT, "max_tokens": 100, "max_completion_tokens": 50},
        {**DEFAULT, "max_completion_tokens": 50},
    ),
}


@pytest.mark.parametrize(("payload", "expected"), NORMALISED_REQUESTS.values(), ids=NORMALISED_REQUESTS.keys())
def test_it_reencodes_shorthands_in_their_canonical_spelling(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    wire = o.request_from_canonical(o.request_to_canonical(copy.deepcopy(payload)))
    assert wire == expected
    assert o.request_from_canonical(o.request_to_canonical(copy.deepcopy(wire))) == wire  # and that is a fixed point


# Each field an OpenAI client sends: (its wire fields, the canonical attribute, the canonical value).
REQUEST_FIELDS = {
    "stream": ({"stream": True, "stream_options": {"include_usage": True}}, "stream", True),
    "stream_options": ({"stream": True, "stream_options": {"include_usage": True}}, "include_usage", True),
    "max_tokens": ({"max_tokens": 300}, "max_tokens", 300),
    "max_completion_tokens": ({"max_completion_tokens": 25000}, "max_tokens", 25000),
    "temperature": ({"temperature": 0.2}, "temperature", 0.2),
    "top_p": ({"top_p": 0.9}, "top_p", 0.9),
    "top_k": ({"top_k": 40}, "top_k", 40),
    "stop": ({"stop": ["\n", "END"]}, "stop", ["\n", "END"]),
    "seed": ({"seed": 42}, "seed", 42),
    "tools": ({"tools": [WEATHER_TOOL]}, "tools", [c.Tool(
        "get_current_weather", WEATHER_TOOL["function"]["description"], WEATHER_TOOL["function"]["parameters"])]),
    "tools_strict": ({"tools": [STRICT_TOOL]}, "tools", [c.Tool(
        "get_weather", STRICT_TOOL["function"]["description"], STRICT_TOOL["function"]["parameters"],
        extra={"strict": True})]),
    "tool_choice": ({"tools": [WEATHER_TOOL], "tool_choice": "required"}, "tool_choice", c.ToolChoice("required")),
    "parallel_tool_calls": ({"tools": [WEATHER_TOOL], "parallel_tool_calls": False}, "parallel_tool_calls", False),
    "response_format": ({"response_format": {"type": "json_object"}}, "response_format",
                        c.ResponseFormat("json_object")),
    "reasoning_effort": ({"reasoning_effort": "low"}, "reasoning", c.Reasoning(effort="low")),
    "user": ({"user": "user-1234"}, "user", "user-1234"),
    "metadata": ({"metadata": {"session": "abc"}}, "metadata", {"session": "abc"}),
    "unmodelled_fields": ({"n": 2, "logit_bias": {"50256": -100}, "prediction": {"type": "content", "content": "x"}},
                          "extra", {"n": 2, "logit_bias": {"50256": -100},
                                    "prediction": {"type": "content", "content": "x"}}),
}


@pytest.mark.parametrize(("fields", "attribute", "value"), REQUEST_FIELDS.values(), ids=REQUEST_FIELDS.keys())
def test_each_request_field_is_read_and_goes_back_to_openai_as_sent(
    fields: dict[str, Any], attribute: str, value: Any
) -> None:
    payload = {**DEFAULT, **fields}
    req = o.request_to_canonical(copy.deepcopy(payload))
    assert getattr(req, attribute) == value
    assert o.request_from_canonical(req) == payload


TOOL_CHOICES = [
    ("auto", c.ToolChoice("auto")),
    ("none", c.ToolChoice("none")),
    ("required", c.ToolChoice("required")),
    ({"type": "function", "function": {"name": "get_current_weather"}}, c.ToolChoice("tool", "get_current_weather")),
    (None, None),
]


@pytest.mark.parametrize(("wire", "canonical"), TOOL_CHOICES)
def test_it_maps_tool_choice_both_ways(wire: Any, canonical: c.ToolChoice | None) -> None:
    req = o.request_to_canonical({**FUNCTIONS, "tool_choice": wire})
    assert req.tool_choice == canonical
    assert o.request_from_canonical(req).get("tool_choice") == wire
    req.source_protocol = "anthropic"
    assert o.request_from_canonical(req).get("tool_choice") == wire


RESPONSE_FORMATS = [
    ({"type": "text"}, c.ResponseFormat("text")),
    ({"type": "json_object"}, c.ResponseFormat("json_object")),
    (STRUCTURED_OUTPUTS["response_format"], c.ResponseFormat("json_schema", MATH_SCHEMA, "math_reasoning", True)),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
     c.ResponseFormat("json_schema", {"type": "object"}, "x")),
]


@pytest.mark.parametrize(("wire", "canonical"), RESPONSE_FORMATS)
def test_it_maps_response_format_both_ways(wire: dict[str, Any], canonical: c.ResponseFormat) -> None:
    req = o.request_to_canonical({**DEFAULT, "response_format": wire})
    assert req.response_format == canonical
    assert o.request_from_canonical(req)["response_format"] == wire


def test_it_keeps_the_json_schema_description() -> None:
    wire = {"type": "json_schema", "json_schema": {"name": "math_reasoning", "description": "Step-by-step answer",
                                                   "schema": MATH_SCHEMA, "strict": True}}
    req = o.request_to_canonical({**DEFAULT, "response_format": copy.deepcopy(wire)})
    assert o.request_from_canonical(req)["response_format"] == wire


@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high"])
def test_it_maps_reasoning_effort_both_ways(effort: str) -> None:
    req = o.request_to_canonical({**REASONING, "reasoning_effort": effort})
    assert req.reasoning == c.Reasoning(effort=effort)
    assert o.request_from_canonical(req)["reasoning_effort"] == effort


MAX_TOKEN_FIELDS = [
    # (wire fields, canonical max_tokens, same-protocol wire, cross-protocol wire)
    ({"max_tokens": 300}, 300, {"max_tokens": 300}, {"max_tokens": 300}),
    ({"max_completion_tokens": 25000}, 25000, {"max_completion_tokens": 25000}, {"max_tokens": 25000}),
    ({"max_tokens": 1, "max_completion_tokens": 2}, 2, {"max_completion_tokens": 2}, {"max_tokens": 2}),
    ({}, None, {}, {}),
]


@pytest.mark.parametrize(("fields", "canonical", "same", "cross"), MAX_TOKEN_FIELDS)
def test_it_keeps_the_clients_max_tokens_field_for_openai_only(
    fields: dict[str, int], canonical: int | None, same: dict[str, int], cross: dict[str, int]
) -> None:
    req = o.request_to_canonical({**DEFAULT, **fields})
    assert req.max_tokens == canonical
    wire = o.request_from_canonical(req)
    assert {k: v for k, v in wire.items() if "max" in k} == same
    req.source_protocol = "gemini"
    wire = o.request_from_canonical(req)
    assert {k: v for k, v in wire.items() if "max" in k} == cross


STREAM_FLAGS = [
    # (client's fields, canonical stream, canonical include_usage)
    ({"stream": True, "stream_options": {"include_usage": True}}, True, True),
    ({"stream": True}, True, False),
    ({"stream": True, "stream_options": {"include_usage": False}}, True, False),
    ({"stream": True, "stream_options": None}, True, False),
    ({}, False, False),
]


@pytest.mark.parametrize(("fields", "stream", "include_usage"), STREAM_FLAGS)
def test_a_stream_always_asks_upstream_for_usage_but_remembers_what_the_client_asked(
    fields: dict[str, Any], stream: bool, include_usage: bool
) -> None:
    req = o.request_to_canonical({**DEFAULT, **fields})
    assert (req.stream, req.include_usage) == (stream, include_usage)
    wire = o.request_from_canonical(req)
    if stream:  # the gateway counts tokens, so the upstream always reports them
        assert (wire["stream"], wire["stream_options"]) == (True, {"include_usage": True})
    else:
        assert "stream" not in wire and "stream_options" not in wire


def test_it_keeps_assistant_audio_references_for_openai() -> None:
    payload = {**AUDIO_INPUT, "messages": [
        *AUDIO_INPUT["messages"],
        {"role": "assistant", "audio": {"id": "audio_abc123"}},
        {"role": "assistant", "content": None, "refusal": "I can't help with that."},
        {"role": "user", "content": "Tell me more."},
    ]}
    req = o.request_to_canonical(copy.deepcopy(payload))
    assert o.request_from_canonical(req)["messages"][1:3] == payload["messages"][1:3]


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_detail = st.none() | st.sampled_from(["low", "high", "auto"])
_image = st.one_of(
    st.builds(c.ImagePart, url=idents.map(lambda s: "https://example.com/" + s), detail=_detail),
    st.builds(c.ImagePart, data=idents, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
              detail=_detail),
)
_audio = st.builds(
    lambda data: c.RawPart(o.NAME, {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}), idents)
_user_part = st.one_of(st.builds(c.TextPart, texts), _image, _audio)
_name = st.none() | idents


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []

    def system() -> c.Message:
        developer = draw(st.booleans())
        return c.Message("system", draw(st.lists(st.builds(c.TextPart, texts.filter(bool)), min_size=1, max_size=2)),
                         name=draw(_name), extra={"role": "developer"} if developer else None)

    if draw(st.booleans()):
        messages.append(system())
    for _ in range(draw(st.integers(1, 3))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3)), name=draw(_name)))
        thinking = draw(st.lists(st.builds(c.ThinkingPart, texts.filter(bool), signature=st.none() | idents,
                                           origin=st.sampled_from([None, "anthropic"])), max_size=2))
        text = draw(st.lists(st.builds(c.TextPart, texts), max_size=2))
        calls = draw(st.lists(tool_calls(), max_size=2))
        messages.append(c.Message("assistant", [*thinking, *text, *calls] or [c.TextPart("ok")], name=draw(_name)))
        for call in calls:  # one tool message per call; OpenAI tool messages take text only
            content = draw(st.lists(st.builds(c.TextPart, texts), min_size=1, max_size=2))
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, content, is_error=draw(st.booleans()))]))
        if draw(st.integers(0, 4)) == 0:
            messages.append(system())  # mid-conversation
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, idents, st.none() | texts, st.none() | json_objects,
                                                extra=st.none() | st.builds(lambda s: {"strict": s}, st.booleans())),
                                      max_size=3))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), idents))
    source = draw(st.sampled_from([o.NAME, "anthropic", "gemini"]))
    meta = {"openai_max_tokens_field": "max_completion_tokens"} if draw(st.booleans()) else {}
    return c.ChatRequest(
        model=draw(idents),
        messages=draw(_conversation()),
        source_protocol=source,
        stream=draw(st.booleans()),
        max_tokens=draw(st.none() | st.integers(1, 128000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        top_p=draw(st.none() | st.floats(0, 1)),
        top_k=draw(st.none() | st.integers(1, 500)),
        stop=draw(st.none() | st.lists(texts.filter(bool), min_size=1, max_size=4)),
        seed=draw(st.none() | st.integers(-2**31, 2**31)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.sampled_from([c.ResponseFormat("text"), c.ResponseFormat("json_object")])
                             | st.builds(c.ResponseFormat, st.just("json_schema"), st.none() | json_objects,
                                         st.none() | idents, st.none() | st.booleans())),
        reasoning=draw(st.none() | st.builds(c.Reasoning, st.sampled_from(["minimal", "low", "medium", "high"]))
                       | st.builds(c.Reasoning, budget_tokens=st.integers(1, 64000))),
        user=draw(_name),
        metadata=draw(st.none() | st.dictionaries(idents, idents, max_size=3)),
        meta=meta,
    )


def _expected_messages(req: c.ChatRequest) -> list[c.Message]:
    """``req.messages`` as they come back from the wire: thinking joined first, without signatures; tool
    results without is_error; the developer marker for OpenAI clients only."""
    same = req.source_protocol == o.NAME
    out = []
    for msg in req.messages:
        parts = list(msg.parts)
        extra = msg.extra if same else None
        if msg.role == "assistant":
            thinking = "".join(p.text for p in parts if isinstance(p, c.ThinkingPart))
            parts = [*([c.ThinkingPart(thinking)] if thinking else []),
                     *[p for p in parts if not isinstance(p, c.ThinkingPart)]]
        if msg.role == "tool":
            parts = [c.ToolResultPart(p.tool_call_id, p.content) for p in parts if isinstance(p, c.ToolResultPart)]
        out.append(c.Message(msg.role, parts, msg.name, extra))
    return out


def _expected_reasoning(req: c.ChatRequest) -> c.Reasoning | None:
    effort = reasoning_effort_out(req.reasoning)
    return c.Reasoning(effort=effort) if effort else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_canonical_survives_a_trip_through_the_wire(req: c.ChatRequest) -> None:
    same = req.source_protocol == o.NAME
    wire = o.request_from_canonical(req)
    assert orjson.loads(orjson.dumps(wire)) == wire  # plain JSON, nothing else
    back = o.request_to_canonical(orjson.loads(orjson.dumps(wire)))
    assert back.source_protocol == o.NAME
    assert back.messages == _expected_messages(req)
    assert (back.model, back.stream, back.include_usage) == (req.model, req.stream, req.stream)
    assert (back.max_tokens, back.temperature, back.top_p, back.seed, back.user) == (
        req.max_tokens, req.temperature, req.top_p, req.seed, req.user)
    assert back.top_k == (req.top_k if same else None)
    assert back.metadata == (req.metadata if same else None)
    assert back.stop == req.stop
    assert back.tools == (None if req.tools is None else [
        c.Tool(t.name, t.description, t.parameters, extra=t.extra if same else None) for t in req.tools])
    assert (back.tool_choice, back.parallel_tool_calls) == (req.tool_choice, req.parallel_tool_calls)
    rf = req.response_format
    if rf is not None and rf.type == "json_schema":
        rf = c.ResponseFormat("json_schema", rf.schema or {}, rf.name or "response", rf.strict)
    assert back.response_format == rf
    assert back.reasoning == _expected_reasoning(req)
    uses_completion_field = same and req.max_tokens is not None and bool(req.meta)
    assert back.meta.get("openai_max_tokens_field") == ("max_completion_tokens" if uses_completion_field else None)
    assert back.extra == {}
    # and once in OpenAI's own hands, re-encoding is the identity
    assert o.request_from_canonical(back) == wire
