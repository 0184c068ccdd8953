"""JSON text in and out: canonical tool calls and results carry JSON text, Gemini carries objects."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # orjson rejects a few things json accepts (NaN, huge ints)


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed, if it is a JSON object."""
    try:
        value = loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def args_object(arguments: str) -> dict[str, Any]:
    """Gemini wants call arguments as an object; keep anything else rather than fail."""
    if not arguments.strip():
        return {}
    try:
        value = loads(arguments)
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}
