"""Hostile request bodies: valid bodies mutated at random JSON paths, and bytes that are not JSON."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.protocols.payloads import DELETE, changed
from tests.protocols.strategies import texts

JSON_CONTENT_TYPE = "application/json"

HUGE_NUMBERS = st.sampled_from([2**31, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 10**400, 1e308,
                                -1e308, 5e-324])
lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
odd_strings = st.sampled_from(["", "\x00", "\u202e\u200b", "\U0001f600" * 3, "a" * 20_000, "data:image/png;base64,!!",
                               "data:;base64,", "null", "{}", "../../etc/passwd", "model:", ":", "openai:", "%00"])
strings = texts | lone_surrogates | odd_strings | st.text(max_size=8)
scalars = (st.none() | st.booleans() | st.integers() | HUGE_NUMBERS
           | st.floats(allow_nan=False, allow_infinity=False) | strings)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


json_values = (
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
                 max_leaves=10)
    | st.sampled_from([[], {}, [None], [[]], [{}]])
    | st.integers(2, 60).map(nested)  # three nested edits stay below orjson.dumps' depth limit (254)
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (the root included), parents before children."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += json_paths(item, (*prefix, index))
    return paths


def at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], field_names: tuple[str, ...]) -> Any:
    """``base`` after 0-3 random edits: a value dropped, replaced by any JSON value, or a field added
    (one the protocol knows, or any name)."""
    body: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(json_paths(body)))
        op = draw(st.sampled_from(["drop", "replace", "insert"]))
        if not path:
            if op == "replace":
                return draw(json_values)
            continue
        if op == "insert" and isinstance(at(body, path), dict):
            name = draw(st.sampled_from(field_names) | strings)
            body = changed(body, [*path, name], draw(json_values))
        elif op == "drop":
            body = changed(body, list(path), DELETE)
        else:
            body = changed(body, list(path), draw(json_values))
    return body


@dataclass(frozen=True)
class RawRequest:
    """A request body as bytes and its Content-Type (None: no header)."""

    body: bytes
    content_type: str | None = JSON_CONTENT_TYPE
    stream: bool = False  # the body asks for a stream


def encode(body: Any, *, ascii_only: bool) -> bytes:
    """JSON as a client writes it: ``\\uXXXX`` escapes (lone surrogates too), or raw UTF-8 (a lone
    surrogate then becomes bytes no UTF-8 decoder accepts)."""
    if ascii_only:
        return json.dumps(body, ensure_ascii=True).encode()
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def broken_bytes(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """Bytes that are not one JSON object: garbage, cut JSON, another JSON value, JSON5-isms, deep nesting."""
    valid = encode(base, ascii_only=True)
    depth = draw(st.sampled_from([1_100, 100_000]))  # past orjson.loads' limit (1024); shallower: test_deep_json
    return draw(st.sampled_from([
        b"", b"null", b"[]", b'"text"', b"12", b"NaN", b'{"model": Infinity}', b"{'model': 'x'}", b"\xff\xfe{}",
        b"\xef\xbb\xbf" + valid, valid + b"}", valid + b"\n{}", valid[: len(valid) // 2], valid.replace(b'"', b"'", 2),
        b'{"model": "\xc3\x28"}', b'{"a": 1, "a": 2}', b"[" * depth + b"]" * depth,
        valid[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}",
    ]) | st.binary(max_size=64))


CONTENT_TYPES = st.sampled_from([JSON_CONTENT_TYPE, "text/plain", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=fuzz", "application/json; charset=latin-1", None])


@st.composite
def hostile_requests(draw: st.DrawFn, base: dict[str, Any], field_names: tuple[str, ...]) -> RawRequest:
    """Mostly mutated JSON (sometimes with a wrong Content-Type); sometimes bytes that are not a JSON object."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "content_type", "bytes"]))
    if kind == "bytes":
        return RawRequest(draw(broken_bytes(base)))
    body = draw(mutated(base, field_names))
    stream = isinstance(body, dict) and body.get("stream") is True
    content_type = draw(CONTENT_TYPES) if kind == "content_type" else JSON_CONTENT_TYPE
    return RawRequest(encode(body, ascii_only=draw(st.booleans())), content_type, stream)
