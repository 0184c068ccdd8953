"""Fuzzing: hostile requests against every client protocol, and schemathesis over the OpenAPI schema."""
