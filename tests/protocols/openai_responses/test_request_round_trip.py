"""Responses API requests through both directions: documented requests come back to OpenAI exactly,
tool choices both ways, and a canonical request survives canonical -> wire -> canonical."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_responses as r
from tests.protocols.openai_responses.samples import DOCUMENTED_REQUESTS, FUNCTION_CALLING
from tests.protocols.strategies import idents, json_objects, texts, tool_calls


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    assert r.request_from_canonical(r.request_to_canonical(payload)) == original
    assert payload == original, "decoding must not mutate the payload"


TOOL_CHOICES = [
    ("auto", c.ToolChoice("auto")),
    ("required", c.ToolChoice("required")),
    ("none", c.ToolChoice("none")),
    ({"type": "function", "name": "get_current_weather"}, c.ToolChoice("tool", "get_current_weather")),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_current_weather"}]},
     c.ToolChoice("required")),
    ({"type": "web_search_preview"}, None),
]


@pytest.mark.parametrize(("wire", "canonical"), TOOL_CHOICES)
def test_it_maps_tool_choice_and_reencodes_it_exactly(wire: Any, canonical: c.ToolChoice | None) -> None:
    req = r.request_to_canonical({**FUNCTION_CALLING, "tool_choice": wire})
    assert req.tool_choice == canonical
    assert r.request_from_canonical(req)["tool_choice"] == wire


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_image = st.one_of(
    st.builds(c.ImagePart, url=idents.map(lambda s: "https://example.com/" + s),
              detail=st.sampled_from(["low", "high", "auto"])),
    st.builds(c.ImagePart, data=idents, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"]),
              detail=st.sampled_from(["low", "high", "auto"])),
)
_user_part = st.one_of(st.builds(c.TextPart, texts), _image)


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", draw(st.lists(st.builds(c.TextPart, texts), min_size=1, max_size=2))))
    for _ in range(draw(st.integers(1, 4))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3))))
        text = draw(st.lists(st.builds(c.TextPart, texts), max_size=2))
        calls = draw(st.lists(tool_calls(), max_size=2))
        messages.append(c.Message("assistant", [*text, *calls] or [c.TextPart("ok")]))
        for call in calls:  # one tool message per function_call_output item
            content = draw(st.lists(st.builds(c.TextPart, texts), min_size=1, max_size=1)
                           | st.lists(_image, min_size=1, max_size=2))
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, content)]))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, idents, st.none() | texts, json_objects), min_size=1, max_size=3))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), idents))
    return c.ChatRequest(
        model=draw(idents),
        messages=draw(_conversation()),
        source_protocol=draw(st.sampled_from(["openai_chat", "anthropic", "gemini"])),
        stream=draw(st.booleans()),
        max_tokens=draw(st.none() | st.integers(16, 64000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        top_p=draw(st.none() | st.floats(0, 1)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.builds(c.ResponseFormat, st.just("json_schema"), json_objects, idents,
                                                   st.none() | st.booleans())
                             | st.just(c.ResponseFormat("json_object"))),
        reasoning=draw(st.none() | st.builds(c.Reasoning, st.sampled_from(["minimal", "low", "medium", "high"]))),
        user=draw(st.none() | idents),
    )


def _plain(messages: list[c.Message]) -> list[c.Message]:
    """Messages without this protocol's same-protocol bookkeeping (ids, string markers)."""
    out = []
    for msg in copy.deepcopy(messages):
        for part in msg.parts:
            if isinstance(part, (c.TextPart, c.ToolCallPart, c.ToolResultPart)):
                part.extra = None
        out.append(c.Message(msg.role, msg.parts, msg.name, None))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_canonical_survives_a_trip_through_the_wire(req: c.ChatRequest) -> None:
    wire = orjson.loads(orjson.dumps(r.request_from_canonical(req)))
    back = r.request_to_canonical(wire)
    assert _plain(back.messages) == _plain(req.messages)
    assert back.model == req.model and back.stream == req.stream
    assert (back.max_tokens, back.temperature, back.top_p, back.user) == (req.max_tokens, req.temperature,
                                                                          req.top_p, req.user)
    assert back.tools == (None if req.tools is None else [
        c.Tool(t.name, t.description, t.parameters, extra={"strict": False}) for t in req.tools])
    assert back.tool_choice == req.tool_choice and back.parallel_tool_calls == req.parallel_tool_calls
    expected_format = req.response_format
    if expected_format is not None and expected_format.type == "json_schema" and expected_format.name is None:
        expected_format = c.ResponseFormat("json_schema", expected_format.schema, "response", expected_format.strict)
    assert back.response_format == expected_format
    assert back.reasoning == req.reasoning
    # and the same-protocol path from there is lossless
    assert r.request_from_canonical(back) == wire
