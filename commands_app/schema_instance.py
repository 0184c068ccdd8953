"""The smallest JSON value a schema accepts: how the proxy answers a client's structured-output side
request about a command turn (Gemini CLI's model router) without calling a model."""

from __future__ import annotations

from typing import Any


def schema_instance(schema: dict[str, Any], *, text: str = "") -> Any:
    """The simplest value that satisfies a JSON (or Gemini OpenAPI-subset) schema's types,
    required properties and enums, strings holding ``text``: an answer a client's parser accepts."""
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(combinator), list) and schema[combinator]:
            return schema_instance(schema[combinator][0], text=text)
    kind = schema.get("type")
    kind = (kind[0] if kind else None) if isinstance(kind, list) else kind
    kind = kind.lower() if isinstance(kind, str) else "object" if "properties" in schema else None
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: schema_instance(properties.get(name) or {}, text=text) for name in schema.get("required") or []}
    # numbers at least 1: clients check more than their schemas say (Gemini CLI's router wants a
    # complexity score from 1 to 100 and gives up on 0)
    return {"string": text, "integer": schema.get("minimum", 1), "number": schema.get("minimum", 1),
            "boolean": False, "array": []}.get(kind or "", None)
