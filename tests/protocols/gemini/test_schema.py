"""JSON Schema <-> the OpenAPI subset Gemini accepts."""

from __future__ import annotations

from typing import Any

import pytest

from proxy_app.protocols import gemini as g


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param(
            {"$schema": "x", "type": "object", "additionalProperties": False,
             "properties": {"q": {"type": "string", "default": "a", "examples": ["b"]}}, "required": ["q", "ghost"]},
            {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            id="drops-unsupported-keywords",
        ),
        pytest.param(
            {"type": ["string", "null"], "description": "maybe"},
            {"type": "string", "description": "maybe", "nullable": True},
            id="type-list-with-null",
        ),
        pytest.param(
            {"type": ["string", "integer"]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            id="type-list-without-null",
        ),
        pytest.param(
            {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
            {"type": "integer", "minimum": 1, "nullable": True},
            id="nullable-anyof-collapses",
        ),
        pytest.param(
            {"oneOf": [{"type": "string"}, {"type": "number", "format": "float"}]},
            {"anyOf": [{"type": "string"}, {"type": "number", "format": "float"}]},
            id="oneof-becomes-anyof",
        ),
        pytest.param({"const": "fixed"}, {"type": "string", "enum": ["fixed"]}, id="const-becomes-enum"),
        pytest.param(
            {"type": "integer", "enum": [1, 2]},
            {"type": "integer", "description": "Allowed values: 1, 2"},
            id="non-string-enum-moves-to-description",
        ),
        pytest.param({"type": "string", "format": "email"}, {"type": "string"}, id="unsupported-format-dropped"),
        pytest.param({"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time"},
                     id="date-time-kept"),
        pytest.param(
            {"type": "object", "properties": {"p": {"$ref": "#/$defs/Point"}},
             "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}}},
            {"type": "object", "properties": {"p": {"type": "object", "properties": {"x": {"type": "number"}}}}},
            id="inlines-defs",
        ),
        pytest.param(
            {"$ref": "#/definitions/Node", "definitions": {"Node": {
                "type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}}}}},
            {"type": "object", "properties": {"child": {"type": "object"}}},
            id="recursive-ref-stops",
        ),
        pytest.param(
            {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                       {"properties": {"b": {"type": "boolean"}}}]},
            {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}, "required": ["a"]},
            id="merges-allof",
        ),
        pytest.param(
            {"type": "array", "items": {"type": "object", "properties": {}}},
            {"type": "array", "items": {"type": "object"}},
            id="empty-properties-dropped",
        ),
    ],
)
def test_it_converts_json_schema_to_the_gemini_subset(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert g.schema_to_gemini(schema) == expected


def test_it_converts_gemini_schemas_back_to_json_schema() -> None:
    assert g.schema_from_gemini(
        {"type": "OBJECT", "properties": {"n": {"type": "STRING", "nullable": True, "example": "x"}},
         "propertyOrdering": ["n"]}
    ) == {"type": "object", "properties": {"n": {"type": ["string", "null"], "examples": ["x"]}}}


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": "a"},
    {"type": "object", "properties": ["a"], "required": ["a"]},
    {"type": "object", "required": [{"a": 1}, "a"], "properties": {"a": {}}},
    {"$defs": [1, 2], "definitions": "x", "type": "object"},
    {"allOf": {"type": "object"}},
    {"allOf": [{"properties": {"a": {}}, "required": [["a"], "a"]}], "properties": ["b"], "required": 3},
])
def test_a_malformed_schema_from_a_client_is_converted_without_a_crash(schema: dict) -> None:
    """What a fuzzer sends as a tool's parameters (found by tests/fuzz): no exception, a dict out."""
    assert isinstance(g.schema_to_gemini(schema), dict)
