"""OTLP's ``ExportTraceServiceRequest`` in protobuf wire format, written directly.

The SDK's encoder builds a protobuf message per attribute through several Python layers: 115 µs
for one request's two spans (2026-12-06), a quarter of what the proxy spends on a whole request.
Here a span is its fixed fields and attribute fields already encoded: most attributes recur
(operation, provider, model, backend, host), so their encoded form is cached by the caller
(``trace_spans``), and what varies (token counts, times) is encoded directly.
``tests/tracing`` decodes the result with the official definitions.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping
from typing import Any

SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2  # Status.StatusCode
ATTRIBUTE = b"\x4a"  # Span.attributes: the tag of an attribute field in a span's body

_ONE_BYTE = [bytes((n,)) for n in range(0x80)]
_KIND = {SERVER: b"\x30\x02", CLIENT: b"\x30\x03"}
_TIMES = struct.Struct("<cQcQ")  # start_time_unix_nano and end_time_unix_nano: fixed64 fields 7 and 8
_EVENT_TIME = struct.Struct("<cQ")
_DOUBLE = struct.Struct("<cd")


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _ONE_BYTE[value]
    value &= 0xFFFFFFFFFFFFFFFF  # a negative int64 is its two's complement, ten bytes long
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: ``tag`` (its number and wire type 2, encoded) and ``payload``."""
    return tag + _varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return _DOUBLE.pack(b"\x21", value)
    return _field(b"\x0a", str(value).encode())


@functools.lru_cache(maxsize=256)
def _key(key: str) -> bytes:
    """KeyValue.key, encoded: attribute names are few."""
    return _field(b"\x0a", key.encode())


def _key_value(tag: bytes, key: str, value: Any) -> bytes:
    """A KeyValue message as the field ``tag`` (its number and wire type, encoded)."""
    return _field(tag, _key(key) + _field(b"\x12", _any_value(value)))


# Most pairs recur from request to request: operation, provider, model, backend, host, status, small counts.
_recurring_key_value = functools.lru_cache(maxsize=8192, typed=True)(_key_value)  # typed: True is not 1


def _key_values(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    """``attributes`` as repeated KeyValue fields numbered by ``tag``."""
    parts = []
    for key, value in attributes.items():
        kind = type(value)
        if kind is float or (kind is str and len(value) > 200):
            parts.append(_key_value(tag, key, value))
        else:
            parts.append(_recurring_key_value(tag, key, value))
    return b"".join(parts)


def attribute_fields(attributes: Mapping[str, Any]) -> bytes:
    """Attributes as fields of a span's body (pairs that recur come from a cache)."""
    return _key_values(ATTRIBUTE, attributes)


def span_attribute(key: str, value: Any) -> bytes:
    """One attribute as a field of a span's body, encoded afresh (a value that seldom recurs)."""
    return _key_value(ATTRIBUTE, key, value)


@functools.lru_cache(maxsize=64)
def _int_attribute_heads(key: str) -> tuple[bytes, ...]:
    """What precedes an int attribute's varint, by the varint's length (1 to 10 bytes)."""
    key_value_head = _key(key) + b"\x12"
    return (b"", *(ATTRIBUTE + _varint(len(key_value_head) + 2 + n) + key_value_head + _ONE_BYTE[1 + n] + b"\x18"
                   for n in range(1, 11)))


def int_attribute(key: str, value: int) -> bytes:
    """An int attribute as a field of a span's body: counts that vary from request to request."""
    encoded = _varint(value)
    return _int_attribute_heads(key)[len(encoded)] + encoded


def double_attribute(key: str, value: float) -> bytes:
    """A double attribute as a field of a span's body."""
    return _field(ATTRIBUTE, _key(key) + b"\x12\x09" + _DOUBLE.pack(b"\x21", value))


def name_field(name: str) -> bytes:
    """Span.name, a field of a span's body."""
    return _field(b"\x2a", name.encode())


def event_field(name: str, at_ns: int, attributes: Mapping[str, Any]) -> bytes:
    """One of Span.events, a field of a span's body."""
    return _field(b"\x5a", _EVENT_TIME.pack(b"\x09", at_ns) + _field(b"\x12", name.encode())
                  + _key_values(b"\x1a", attributes))


def error_status(message: str) -> bytes:
    """Span.status ERROR with ``message``, a field of a span's body."""
    return _field(b"\x7a", _field(b"\x12", message.encode()) + b"\x18" + _varint(STATUS_ERROR))


def encode_span(trace_id: bytes, span_id: int, parent_id: int, kind: int, start_ns: int, end_ns: int,
                fields: Iterable[bytes]) -> bytes:
    """A Span message's body: ids, kind and times, then ``fields`` (the name, attributes, events, status;
    a message's fields may come in any order, a repeated one's elements apart). More attribute fields
    may follow it; ``scope_span`` frames it. A ``parent_id`` of 0 makes a root span."""
    head = b"\x0a\x10" + trace_id + b"\x12\x08" + span_id.to_bytes(8, "big")
    if parent_id:
        head += b"\x22\x08" + parent_id.to_bytes(8, "big")
    return b"".join((head, _KIND[kind], _TIMES.pack(b"\x39", start_ns, b"\x41", end_ns), *fields))


def scope_span(body: bytes) -> bytes:
    """An encoded span as an element of ScopeSpans.spans."""
    return _field(b"\x12", body)


def encode_export_request(resource: Mapping[str, Any], scope_name: str, scope_version: str,
                          spans: list[bytes]) -> bytes:
    """One ``ExportTraceServiceRequest``: a resource, a scope, the ``scope_span`` fields ``spans``, joined
    once (a batch is megabytes: no copy of it per enclosing message)."""
    scope = _field(b"\x0a", _field(b"\x0a", scope_name.encode()) + _field(b"\x12", scope_version.encode()))
    spans_length = sum(map(len, spans))
    resource_spans_head = (_field(b"\x0a", _key_values(b"\x0a", resource)) + b"\x12"
                           + _varint(len(scope) + spans_length) + scope)
    head = b"\x0a" + _varint(len(resource_spans_head) + spans_length) + resource_spans_head
    return b"".join((head, *spans))
