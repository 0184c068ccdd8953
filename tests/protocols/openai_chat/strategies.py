"""Hypothesis strategies for canonical values, shared by the round-trip properties of OpenAI's two protocols
(Chat Completions' requests, responses and streams; the Responses API's requests and streams)."""

from __future__ import annotations

import orjson
from hypothesis import strategies as st

from proxy_app.core import canonical as c

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_json_scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | texts
_json = st.recursive(_json_scalar, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(texts, inner, max_size=3), max_leaves=8)
json_objects = st.dictionaries(texts, _json, max_size=4)
idents = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)

stop_reasons = st.sampled_from(["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter",
                                "loop_detected", "error", None])
# canonical stop reasons Chat Completions has no word for come back as end_turn
STOP_BACK = {"stop_sequence": "end_turn", "loop_detected": "end_turn", "error": "end_turn"}
usages = st.builds(c.Usage, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


@st.composite
def tool_calls(draw: st.DrawFn) -> c.ToolCallPart:
    return c.ToolCallPart(draw(idents), draw(idents), orjson.dumps(draw(json_objects)).decode())
