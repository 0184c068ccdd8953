"""Property: any canonical request survives canonical -> Gemini wire -> canonical, and is then a fixed point."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini as g

_names = st.sampled_from(["get_weather", "search", "lookup.v2", "run-code"])
_texts = st.text(min_size=1, max_size=30)
_scalars = st.one_of(st.integers(-(2**53), 2**53), st.booleans(), st.none(), st.text(max_size=10))
_args = st.dictionaries(st.text(min_size=1, max_size=8), _scalars, max_size=3)
_result_texts = st.one_of(
    _texts.filter(lambda t: not t.lstrip().startswith("{")),
    st.dictionaries(st.sampled_from(["temp", "ok", "items"]), _scalars, min_size=1, max_size=3).map(
        lambda d: orjson.dumps(d).decode()
    ),
)


@st.composite
def _conversations(draw: st.DrawFn) -> list[c.Message]:
    messages: list[c.Message] = []
    if draw(st.booleans()):
        messages.append(c.Message("system", [c.TextPart(draw(_texts))]))
    for turn in range(draw(st.integers(1, 3))):
        messages.append(c.Message("user", [c.TextPart(draw(_texts))]))
        parts: list[c.Part] = []
        if draw(st.booleans()):
            parts.append(c.TextPart(draw(_texts)))
        calls = [
            c.ToolCallPart(f"call_{turn}_{i}", draw(_names), orjson.dumps(draw(_args)).decode())
            for i in range(draw(st.integers(0, 2)))
        ]
        if not parts and not calls:
            parts.append(c.TextPart(draw(_texts)))
        messages.append(c.Message("assistant", parts + calls))
        for call in calls:
            messages.append(c.Message("tool", [c.ToolResultPart(call.id, [c.TextPart(draw(_result_texts))],
                                                                is_error=draw(st.booleans()))]))
    return messages


@st.composite
def _requests(draw: st.DrawFn) -> c.ChatRequest:
    tools = None
    if draw(st.booleans()):
        tools = [c.Tool(name, draw(st.none() | _texts),
                        {"type": "object", "properties": {"q": {"type": draw(st.sampled_from(["string", "integer"]))}},
                         "required": ["q"]})
                 for name in ["get_weather", "search", "lookup.v2", "run-code"]]
    return c.ChatRequest(
        model=draw(st.sampled_from(["gemini-2.5-flash", "gemini-3-pro-preview"])),
        messages=draw(_conversations()),
        source_protocol=draw(st.sampled_from(["openai_chat", "anthropic", "gemini"])),
        max_tokens=draw(st.none() | st.integers(1, 10_000)),
        temperature=draw(st.none() | st.floats(0, 2, allow_nan=False)),
        top_p=draw(st.none() | st.floats(0, 1, allow_nan=False)),
        top_k=draw(st.none() | st.integers(1, 100)),
        stop=draw(st.none() | st.lists(_texts, min_size=1, max_size=3)),
        seed=draw(st.none() | st.integers(0, 2**31)),
        tools=tools,
        tool_choice=draw(st.none() | st.sampled_from(
            [c.ToolChoice("auto"), c.ToolChoice("none"), c.ToolChoice("required"), c.ToolChoice("tool", "search")])),
        response_format=draw(st.none() | st.sampled_from([
            c.ResponseFormat("text"), c.ResponseFormat("json_object"),
            c.ResponseFormat("json_schema", {"type": "object", "properties": {"a": {"type": "string"}}}),
        ])),
        reasoning=draw(st.none() | st.sampled_from([
            c.Reasoning(effort="low"), c.Reasoning(effort="high"), c.Reasoning(budget_tokens=4096),
            c.Reasoning(enabled=False), c.Reasoning(effort="medium", include_thoughts=True),
        ])),
    )


def _semantics(req: c.ChatRequest) -> list[Any]:
    out: list[Any] = []
    for msg in req.messages:
        for part in msg.parts:
            if isinstance(part, c.TextPart):
                out.append((msg.role, part.text))
            elif isinstance(part, c.ToolCallPart):
                out.append(("call", part.name, orjson.loads(part.arguments)))
            elif isinstance(part, c.ToolResultPart):
                out.append(("result", part.content[0].text, part.is_error))
    return out


@settings(max_examples=150, deadline=None)
@given(_requests())
def test_it_is_stable_from_canonical_to_wire_and_back(req: c.ChatRequest) -> None:
    wire = g.request_from_canonical(req)
    decoded = g.request_to_canonical(orjson.loads(orjson.dumps(wire)), model=req.model)
    assert _semantics(decoded) == _semantics(req)
    assert [t.name for t in decoded.tools or []] == [t.name for t in req.tools or []]
    assert decoded.tool_choice == req.tool_choice
    assert (decoded.max_tokens, decoded.temperature, decoded.top_p, decoded.top_k, decoded.stop, decoded.seed) == (
        req.max_tokens, req.temperature, req.top_p, req.top_k, req.stop, req.seed)
    assert (decoded.response_format is None) == (req.response_format is None)
    # after one trip the request is a fixed point: wire -> canonical -> wire changes nothing
    assert g.request_from_canonical(decoded) == wire
    assert g.request_to_canonical(g.request_from_canonical(decoded), model=req.model) == decoded
    # tool results still point at the calls they answer
    call_ids = {p.id for m in decoded.messages for p in m.parts if isinstance(p, c.ToolCallPart)}
    assert all(p.tool_call_id in call_ids for m in decoded.messages for p in m.parts if isinstance(p, c.ToolResultPart))
