"""schema_instance: a value every schema shape it is given accepts."""

from __future__ import annotations

from typing import Any

import pytest

from commands_app.schema_instance import schema_instance

GEMINI_ROUTER = {"type": "OBJECT", "required": ["complexity_reasoning", "complexity_score"], "properties": {
    "complexity_reasoning": {"type": "STRING"}, "complexity_score": {"type": "INTEGER"}}}


@pytest.mark.parametrize(("schema", "value"), [
    (GEMINI_ROUTER, {"complexity_reasoning": "", "complexity_score": 1}),  # Gemini's upper-case types
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {}),  # only required properties
    ({"type": "object", "required": ["n"], "properties": {"n": {"type": "number", "minimum": 3}}}, {"n": 3}),
    ({"enum": ["low", "high"]}, "low"),
    ({"anyOf": [{"type": "boolean"}, {"type": "string"}]}, False),
    ({"type": ["null", "string"]}, None),
    ({"type": "array", "items": {"type": "string"}}, []),
    ({"required": ["x"], "properties": {"x": {"type": "object", "required": ["y"],
                                              "properties": {"y": {"type": "integer"}}}}}, {"x": {"y": 1}}),
])
def test_it_builds_the_smallest_accepted_value(schema: dict[str, Any], value: Any) -> None:
    assert schema_instance(schema) == value


def test_strings_carry_the_text_given() -> None:
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}
    assert schema_instance(schema, text="!/help") == {"title": "!/help"}
