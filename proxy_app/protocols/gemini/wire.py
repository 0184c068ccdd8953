"""How Gemini wire objects are spelled and kept: the protocol's name, camelCase keys, passthrough fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

NAME = "gemini"

WireObject = TypeVar("WireObject", bound=Mapping[str, object])


def camel(key: str) -> str:
    if "_" not in key.strip("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy with snake_case keys renamed to camelCase (the REST API accepts both)."""
    return {camel(k): v for k, v in obj.items()}


def camel_deep(value: Any) -> Any:
    """camelCase keys all the way down; only for config objects that hold no user-chosen keys."""
    if isinstance(value, dict):
        return {camel(k): camel_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_deep(v) for v in value]
    return value


def without(obj: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``obj`` minus ``keys``: what is left for an ``extra`` once the modelled fields are read."""
    return {k: v for k, v in obj.items() if k not in keys}


def with_fields(wire: WireObject, fields: Mapping[str, Any]) -> WireObject:
    """``wire`` updated in place with ``fields`` its typed shape does not name (a Gemini client's own
    fields, written back on the same-protocol path): the one door for untyped data into a typed object."""
    cast(dict[str, Any], wire).update(fields)
    return wire
