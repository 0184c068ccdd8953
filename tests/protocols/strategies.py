"""Hypothesis strategies for canonical values every protocol's round-trip properties draw from."""

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


@st.composite
def tool_calls(draw: st.DrawFn) -> c.ToolCallPart:
    return c.ToolCallPart(draw(idents), draw(idents), orjson.dumps(draw(json_objects)).decode())
