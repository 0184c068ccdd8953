"""JSON Schema <-> the OpenAPI subset Gemini takes in ``parameters`` and ``responseSchema``.

(``parametersJsonSchema`` and ``responseJsonSchema`` take plain JSON Schema and need neither.)
"""

from __future__ import annotations

from typing import Any

from proxy_app.protocols.gemini.json_text import dumps
from proxy_app.protocols.gemini.wire import camel_keys, without

_SCHEMA_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "items", "minimum", "maximum",
    }
)
_SCHEMA_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"}, "integer": {"int32", "int64"}}


def schema_to_gemini(schema: Any) -> dict[str, Any]:
    """Convert a JSON Schema to the OpenAPI subset Gemini accepts in ``parameters`` / ``responseSchema``.

    Inlines local ``$ref``s (recursive ones become a bare object), turns ``oneOf`` into
    ``anyOf``, ``const`` into ``enum``, type lists / null branches into ``nullable``, and
    drops keywords Gemini rejects (``$schema``, ``additionalProperties``, ``default``, …).
    """
    if not isinstance(schema, dict):
        return {}
    defs = {name: sub for key in ("definitions", "$defs") if isinstance(found := schema.get(key), dict)
            for name, sub in found.items()}
    return _schema_node(schema, defs, ())


def _resolve_ref(ref: Any, defs: dict[str, Any]) -> tuple[str, Any] | None:
    if not isinstance(ref, str):
        return None
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            name = ref[len(prefix):]
            return (name, defs[name]) if name in defs else None
    return None


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    merged = without(node, "allOf")
    parts = node.get("allOf")
    for sub in parts if isinstance(parts, list) else ():
        if not isinstance(sub, dict):
            continue
        for key, value in sub.items():
            if key == "properties" and isinstance(value, dict):
                own = merged.get("properties")
                merged["properties"] = {**(own if isinstance(own, dict) else {}), **value}
            elif key == "required" and isinstance(value, list):
                own = merged.get("required")
                names = [*(own if isinstance(own, list) else []), *value]
                merged["required"] = list(dict.fromkeys(n for n in names if isinstance(n, str)))
            else:
                merged.setdefault(key, value)
    return merged


def _schema_node(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        resolved = _resolve_ref(node["$ref"], defs)
        if resolved is None or resolved[0] in seen:
            out: dict[str, Any] = {"type": "object"}
            if isinstance(node.get("description"), str):
                out["description"] = node["description"]
            return out
        name, target = resolved
        return _schema_node({**target, **without(node, "$ref")}, defs, (*seen, name))
    if isinstance(node.get("allOf"), list):
        node = _merge_all_of(node)
    out = {}
    nullable = node.get("nullable") is True
    kind = node.get("type")
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        types = [t for t in kind if t != "null"]
        if len(types) == 1:
            kind = types[0]
        elif types:
            out["anyOf"] = [{"type": t} for t in types]
            kind = None
        else:
            kind = None
    if kind == "null":
        nullable, kind = True, None
    branches = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
    if isinstance(branches, list):
        converted: list[dict[str, Any]] = []
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") == "null" and len(branch) == 1:
                nullable = True
            else:
                converted.append(_schema_node(branch, defs, seen))
        if len(converted) == 1 and kind is None:
            out.update(converted[0])
            nullable = nullable or out.pop("nullable", False)
        elif converted:
            out["anyOf"] = converted
    if "const" in node and "enum" not in node:
        node = {**node, "enum": [node["const"]]}
    if isinstance(node.get("enum"), list):
        values = [v for v in node["enum"] if v is not None]
        nullable = nullable or len(values) < len(node["enum"])
        if values and all(isinstance(v, str) for v in values):
            out["enum"] = values
            kind = kind or "string"
        elif values:
            allowed = ", ".join(dumps(v) for v in values)
            note = f"Allowed values: {allowed}"
            node = {**node, "description": f"{node['description']} ({note})" if node.get("description") else note}
    if kind is None and "anyOf" not in out:
        kind = "object" if "properties" in node else "array" if "items" in node else None
    if isinstance(kind, str):
        out["type"] = kind.lower()
    for key, value in node.items():
        if key not in _SCHEMA_KEYS or key in ("type", "nullable", "enum", "anyOf") or key in out:
            continue
        if key == "properties" and isinstance(value, dict):
            props = {name: _schema_node(sub, defs, seen) for name, sub in value.items()}
            if props:
                out["properties"] = props
        elif key == "items":
            out["items"] = _schema_node(value[0] if isinstance(value, list) and value else value, defs, seen)
        elif key == "required" and isinstance(value, list):
            props = node.get("properties")
            names = [n for n in value if isinstance(n, str) and isinstance(props, dict) and n in props]
            if names:
                out["required"] = names
        elif key == "format":
            if value in _SCHEMA_FORMATS.get(out.get("type", ""), ()):
                out["format"] = value
        else:
            out[key] = value
    if nullable:
        out["nullable"] = True
    return out


def schema_from_gemini(schema: Any) -> Any:
    """Gemini's OpenAPI-style ``Schema`` as plain JSON Schema (lower-case types, nullable as a type list)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in camel_keys(schema).items():
        if key == "type" and isinstance(value, str):
            if value.upper() != "TYPE_UNSPECIFIED":
                out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: schema_from_gemini(sub) for name, sub in value.items()}
        elif key == "items":
            out["items"] = schema_from_gemini(value)
        elif key == "anyOf" and isinstance(value, list):
            out["anyOf"] = [schema_from_gemini(sub) for sub in value]
        elif key == "example":
            out["examples"] = [value]
        elif key in ("nullable", "propertyOrdering"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out

