"""Requests through both directions: an Anthropic client's request comes back to Anthropic exactly,
and a canonical request survives canonical -> wire -> canonical."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic as a
from tests.protocols.anthropic.samples import DOCUMENTED_REQUESTS, MID_CONVERSATION_SYSTEM
from tests.protocols.strategies import idents, json_objects, texts, tool_calls


@pytest.mark.parametrize("payload", DOCUMENTED_REQUESTS.values(), ids=DOCUMENTED_REQUESTS.keys())
def test_it_reencodes_documented_requests_losslessly(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    req = a.request_to_canonical(payload)
    assert a.request_from_canonical(req) == original
    assert payload == original  # decoding never mutates its input


def test_mid_conversation_system_messages_go_back_to_anthropic_exactly_as_sent() -> None:
    req = a.request_to_canonical(copy.deepcopy(MID_CONVERSATION_SYSTEM))
    assert [m.role for m in req.messages] == ["system", "user", "system", "assistant", "user", "system", "system"]
    assert a.request_from_canonical(req) == MID_CONVERSATION_SYSTEM


# ---------------------------------------------------------------- property: canonical -> wire -> canonical

_image = st.one_of(
    st.builds(c.ImagePart, url=idents.map(lambda s: "https://example.com/" + s)),
    st.builds(c.ImagePart, data=idents, media_type=st.sampled_from(["image/png", "image/jpeg", "image/webp"])),
)
_user_part = st.one_of(st.builds(c.TextPart, texts), _image)
_thinking = st.one_of(
    st.builds(c.ThinkingPart, texts, signature=idents, origin=st.sampled_from([None, "anthropic", "gemini"])),
    st.builds(c.ThinkingPart, st.just(""), redacted_data=idents, origin=st.sampled_from([None, "anthropic"])),
)


@st.composite
def _conversation(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", draw(st.lists(st.builds(c.TextPart, texts), min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 4))):
        messages.append(c.Message("user", draw(st.lists(_user_part, min_size=1, max_size=3))))
        thinking = draw(st.lists(_thinking, max_size=2))
        text = draw(st.lists(st.builds(c.TextPart, texts), max_size=2))
        calls = draw(st.lists(tool_calls(), max_size=2))
        messages.append(c.Message("assistant", [*thinking, *text, *calls] or [c.TextPart("ok")]))
        if calls:
            results = [
                c.ToolResultPart(call.id, draw(st.lists(_user_part, max_size=2)), is_error=draw(st.booleans()))
                for call in calls
            ]
            messages.append(c.Message("tool", list(results)))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = draw(st.none() | st.lists(st.builds(c.Tool, idents, st.none() | texts, json_objects), max_size=3))
    mode = draw(st.sampled_from([None, "budget", "disabled"]))
    budget = draw(st.integers(1024, 32000))
    reasoning = {None: None, "budget": c.Reasoning(budget_tokens=budget), "disabled": c.Reasoning(enabled=False)}[mode]
    max_tokens = draw(st.integers(budget + 1, budget + 64000)) if mode == "budget" else draw(st.integers(1, 64000))
    choice = draw(st.none() | st.sampled_from([c.ToolChoice("auto"), c.ToolChoice("required"), c.ToolChoice("none")])
                  | st.builds(c.ToolChoice, st.just("tool"), idents))
    return c.ChatRequest(
        model=draw(idents),
        messages=draw(_conversation()),
        source_protocol=draw(st.sampled_from([a.NAME, "openai_chat", "gemini"])),
        stream=draw(st.booleans()),
        max_tokens=max_tokens,
        temperature=draw(st.none() | st.floats(0, 1)),
        top_p=draw(st.none() | st.floats(0, 1)),
        top_k=draw(st.none() | st.integers(1, 500)),
        stop=draw(st.none() | st.lists(texts.filter(bool), min_size=1, max_size=3)),
        tools=tools,
        tool_choice=choice if tools else None,
        parallel_tool_calls=draw(st.none() | st.booleans()) if tools else None,
        response_format=draw(st.none() | st.builds(c.ResponseFormat, st.just("json_schema"), json_objects)),
        reasoning=reasoning,
        user=draw(st.none() | idents),
    )


def _strip_markers(messages: list[c.Message]) -> list[c.Message]:
    out = []
    for msg in copy.deepcopy(messages):
        extra = {k: v for k, v in (msg.extra or {}).items() if not k.startswith("__anthropic")} or None
        parts = list(msg.parts)
        for p in parts:
            if isinstance(p, c.ToolResultPart) and p.extra:
                p.extra = {k: v for k, v in p.extra.items() if not k.startswith("__anthropic")} or None
        out.append(c.Message(msg.role, parts, msg.name, extra))
    return out


def _expected(req: c.ChatRequest, thinking_on: bool = False) -> dict[str, Any]:
    """What survives a trip through the wire; ``thinking_on``: the wire turned thinking on for a
    client of another protocol, so the sampling settings Anthropic refuses beside it were dropped."""
    messages = copy.deepcopy(req.messages)
    for msg in messages:
        if req.source_protocol != a.NAME:  # only thinking Anthropic signed replays to Anthropic
            msg.parts = [p for p in msg.parts if not isinstance(p, c.ThinkingPart) or p.origin == a.NAME]
        msg.parts = [dataclasses.replace(p, origin=None) if isinstance(p, c.ThinkingPart) else p for p in msg.parts]
    tool_choice, parallel = req.tool_choice, req.parallel_tool_calls
    if tool_choice is None and parallel is False:
        tool_choice = c.ToolChoice("auto")  # disabling parallel use needs a tool_choice object to ride on
    elif (tool_choice is None and parallel) or (tool_choice is not None and tool_choice.mode == "none"):
        parallel = None  # nothing on the wire to carry it
    temperature, top_p, top_k = req.temperature, req.top_p, req.top_k
    if thinking_on and req.source_protocol != a.NAME:
        temperature = temperature if temperature in (None, 1.0) else None
        top_p = top_p if top_p is None or top_p >= 0.95 else None
        top_k = None
    return {
        "messages": messages, "tools": req.tools, "tool_choice": tool_choice, "parallel_tool_calls": parallel,
        "max_tokens": req.max_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k,
        "stop": req.stop, "reasoning": req.reasoning, "user": req.meta.get("anthropic_user_id", req.user),
        "response_format": req.response_format,
        "stream": req.stream, "model": req.model,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_requests())
def test_it_keeps_canonical_requests_stable_through_the_wire(req: c.ChatRequest) -> None:
    wire = a.request_from_canonical(req)
    assert orjson.loads(orjson.dumps(wire)) == wire  # plain JSON, nothing else
    back = a.request_to_canonical(wire)
    got = _expected(back) | {"messages": _expected(back)["messages"]}
    got["messages"] = _strip_markers(got["messages"])
    thinking_on = wire.get("thinking", {}).get("type") not in (None, "disabled")
    assert got == _expected(req, thinking_on)
    assert back.source_protocol == a.NAME
    # and once in Anthropic's own hands, re-encoding is the identity
    assert a.request_from_canonical(back) == wire
