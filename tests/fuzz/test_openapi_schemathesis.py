"""Schemathesis over the OpenAPI schema the proxy serves (``/api/schema/``): every operation, with
generated and documented requests, against the live proxy (fakes as backends). Each answer must not
be a server error and must match what the schema documents: status code, content type and body."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Proxy
from tests.fuzz.conftest import ErrorLog, as_text

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


def operation_labels() -> list[str]:
    """``METHOD /path`` of every operation the served schema documents (the same generator, offline)."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item if method != "parameters"]


@pytest.fixture
def recorded_traffic(proxy: Proxy, settings: Any) -> None:
    """Usage records and captured bodies (a streamed and a failed request among them), for the
    operator API to list."""
    from usage_app.recorder import flush

    settings.USAGE_CAPTURE_BODIES = True
    auth = {"Authorization": f"Bearer {proxy.key}"}
    hi = [{"role": "user", "content": "Hi"}]
    for body in ({"model": "openai:gpt-4o", "messages": hi},
                 {"model": "anthropic:claude-sonnet-4-5", "messages": hi, "stream": True},
                 {"model": "gemini:gemini-2.5-flash", "messages": [{"role": "user", "content": "[[error:400]]"}]}):
        httpx.post(f"{proxy.url}/v1/chat/completions", json=body, headers=auth, timeout=30)
    flush(timeout=10)


@pytest.mark.parametrize("label", operation_labels())
@pytest.mark.usefixtures("recorded_traffic")
def test_every_operation_answers_as_documented(proxy: Proxy, error_log: ErrorLog, label: str) -> None:
    schema = schemathesis.openapi.from_url(f"{proxy.url}/api/schema/", headers={"Authorization": f"Bearer {proxy.key}"})
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE),
                      *operation.get_strategies_from_examples())

    @FUZZ
    @given(case=cases)
    def answers_as_documented(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {proxy.key}"}, timeout=30)
        case.validate_response(response, checks=CHECKS)
        assert not (logged := as_text(error_log.take())), "\n".join(logged)

    answers_as_documented()
