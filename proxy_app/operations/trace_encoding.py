"""A finished request's spans in OTLP protobuf, after the OpenTelemetry GenAI semantic conventions:
what the trace exporter process makes of the records the proxy sends it (``trace_exporter``).

One SERVER span per client request (a child of the client's ``traceparent``), named
``{gen_ai.operation.name} {gen_ai.request.model}``, and one CLIENT span per upstream attempt. A
failed attempt's span ends with it; the answering attempt's lasts until the answer has been sent,
as the upstream call does. Attributes the conventions do not name are ``llmproxy.*``. Never a key:
attempts carry the masked hint. Attribute blocks that recur are encoded once per distinct
combination (``otlp_encoding``).

Free of Django and of the OpenTelemetry SDK: it runs in the exporter process.
"""

from __future__ import annotations

import functools
import struct
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from proxy_app.operations.otlp_encoding import (
    CLIENT,
    SERVER,
    attribute_fields,
    double_attribute,
    encode_export_request,
    encode_span,
    error_status,
    event_field,
    int_attribute,
    name_field,
    scope_span,
    span_attribute,
)
from usage_app.price import Price

SCOPE = ("llmproxy", "1")
FRAME = struct.Struct("<I")  # a batch's length, before it on the pipe to the exporter process
COST = "llmproxy.cost_usd"
# gen_ai.operation.name by the client's protocol: Gemini's API calls it generateContent.
OPERATIONS = {"gemini": "generate_content"}
# gen_ai.provider.name's well-known value where it is not the backend's own name.
PROVIDER_NAMES = {"gemini": "gcp.gemini"}

REQUEST_MODEL = "gen_ai.request.model"
BACKEND = "llmproxy.backend"
KEY_HINT = "llmproxy.key_hint"
STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"
TOKEN_COUNTS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens")
TTFT = "gen_ai.response.time_to_first_chunk"


def provider_name(backend: str) -> str:
    return PROVIDER_NAMES.get(backend, backend)


# An attempt as the pipe carries it: ``AttemptSpan``'s fields in order, read by unpacking.
AttemptFields = tuple[int, int, str, str, str, str, int, int, int, str]


@dataclass(slots=True)
class AttemptSpan:
    """One upstream attempt as recorded; ``end_ns`` 0 while it is under way (or answering)."""

    span_id: int
    start_ns: int
    backend: str
    model: str
    key_hint: str
    base_url: str
    retry: int  # earlier tries of the same target
    end_ns: int = 0
    status: int = 0
    error: str = ""

    def fields(self) -> AttemptFields:
        """The attempt as plain data, as the pipe to the exporter process carries it."""
        return (self.span_id, self.start_ns, self.backend, self.model, self.key_hint, self.base_url, self.retry,
                self.end_ns, self.status, self.error)


class RequestRecord(NamedTuple):
    """A finished, sampled request: the values its spans are made of (``encode_request``)."""

    trace_id: int
    span_id: int
    parent_id: int  # the client's span, 0 for a new trace
    start_ns: int
    end_ns: int
    first_token_ns: int  # 0: no token
    protocol: str
    path: str
    requested_model: str
    backend: str  # "" when no backend answered (nothing to price)
    model: str
    key_hint: str
    status: int
    stream: bool
    error: str
    tokens: tuple[int, int, int, int, int]  # input, output, cache read, cache creation, reasoning (TOKEN_COUNTS)
    ttft_s: float | None
    session_id: str
    project: str
    attempt_count: int
    flags: tuple[bool, bool, int, str, str, int]  # usage estimated, answered by proxy, loop halts, halt and
    #                                                warning kinds, redactions (``_flag_fields``)
    client_disconnected: bool
    attempts: tuple[AttemptFields, ...]
    answered: bool  # the last attempt answered: the outcome is its too
    content: tuple[str | None, str | None] | None  # the prompt and the answer as JSON, when captured


TARGET = slice(RequestRecord._fields.index("backend"), RequestRecord._fields.index("model") + 1)  # what prices it


# What the proxy sends for a model's price: ``Price``'s numbers as text (the pipe carries plain data).
PriceFields = tuple[str, str, str | None, str | None, str | None]  # input, output, cached, reasoning, cache write


def price_fields(price: Price) -> PriceFields:
    return (str(price.input), str(price.output), _text(price.cached), _text(price.reasoning), _text(price.cache_write))


def encode_batch(resource: Mapping[str, Any], records: Iterable[tuple[Any, ...]],
                 prices: Mapping[tuple[str, str], PriceFields | None]) -> bytes:
    """One ``ExportTraceServiceRequest`` of the spans of ``records`` (``RequestRecord``s' fields, as the pipe
    carried them); a request span has its cost when ``prices`` knows its backend's model."""
    priced = {target: None if fields is None else _price(fields) for target, fields in prices.items()}
    spans: list[bytes] = []
    for values in records:
        record = RequestRecord._make(values)
        request, attempts = encode_request(record)
        spans += [scope_span(request + _cost(record, priced.get((record.backend, record.model)))), attempts]
    return encode_export_request(resource, *SCOPE, spans)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _price(fields: PriceFields) -> Price:
    given_input, given_output, cached, reasoning, cache_write = fields
    return Price(input=Decimal(given_input), output=Decimal(given_output), cached=_decimal(cached),
                 reasoning=_decimal(reasoning), cache_write=_decimal(cache_write))


def _cost(record: RequestRecord, price: Price | None) -> bytes:
    """The request span's ``llmproxy.cost_usd`` attribute, encoded; nothing when its model has no known price."""
    if price is None or not record.backend:
        return b""
    input_tokens, output_tokens, cached_tokens, cache_creation_tokens, reasoning_tokens = record.tokens
    cost = price.cost(input_tokens=input_tokens, output_tokens=output_tokens, cached_tokens=cached_tokens,
                      reasoning_tokens=reasoning_tokens, cache_write_tokens=cache_creation_tokens)
    return double_attribute(COST, float(cost))


def encode_request(r: RequestRecord) -> tuple[bytes, bytes]:
    """The request span's body (more attributes may follow: its cost) and the attempts' spans, encoded."""
    operation = OPERATIONS.get(r.protocol, "chat")
    outcome = _outcome_fields(r)
    trace_id = r.trace_id.to_bytes(16, "big")
    answering = len(r.attempts) if r.answered else 0
    attempts = b"".join(scope_span(_attempt_span(trace_id, r.span_id, operation, number, attempt,
                                                 *((outcome, r.error) if number == answering else (b"", ""))))
                        for number, attempt in enumerate(r.attempts, 1))
    fields = [_request_block(operation, r.protocol, r.path, r.requested_model, r.status, r.stream, r.attempt_count,
                             r.backend, r.key_hint, r.project), outcome]
    if r.session_id:
        fields.append(attribute_fields({"gen_ai.conversation.id": r.session_id}))
    if any(r.flags):
        fields.append(_flag_fields(*r.flags))
    if r.content is not None:
        fields += [span_attribute(key, text) for key, text in
                   zip(("gen_ai.input.messages", "gen_ai.output.messages"), r.content, strict=True) if text is not None]
    if r.first_token_ns or r.client_disconnected or any(r.flags):
        fields += _events(r)
    if r.error:
        fields.append(error_status(r.error))
    return encode_span(trace_id, r.span_id, r.parent_id, SERVER, r.start_ns, r.end_ns, fields), attempts


def _outcome_fields(r: RequestRecord) -> bytes:
    """What the request span and the answering attempt's share: usage, response model, TTFT, error."""
    input_tokens, output_tokens, cached_tokens, cache_creation_tokens, reasoning_tokens = r.tokens
    fields = [_outcome_block(r.model if r.backend else "", r.error), int_attribute(TOKEN_COUNTS[0], input_tokens),
              int_attribute(TOKEN_COUNTS[1], output_tokens)]
    if cached_tokens or cache_creation_tokens or reasoning_tokens:
        fields += [int_attribute(name, value) for name, value in
                   zip(TOKEN_COUNTS[2:], (cached_tokens, cache_creation_tokens, reasoning_tokens), strict=True) if value]
    if r.ttft_s is not None:
        fields.append(double_attribute(TTFT, r.ttft_s))
    return b"".join(fields)


def _attempt_span(trace_id: bytes, parent_id: int, operation: str, number: int, attempt: AttemptFields,
                  outcome: bytes, request_error: str) -> bytes:
    """An attempt's span; the answering one's carries the request's ``outcome`` (and its error, if any)."""
    span_id, start_ns, backend, model, key_hint, base_url, retry, end_ns, status, error = attempt
    fields = [_attempt_block(operation, backend, base_url, model, key_hint, number, retry, status), outcome]
    if error:
        fields += [attribute_fields({ERROR_TYPE: error}), error_status(error)]
    elif request_error:  # error.type is in the outcome
        fields.append(error_status(request_error))
    return encode_span(trace_id, span_id, parent_id, CLIENT, start_ns, end_ns, fields)


# The attributes that recur together, encoded once: a request's own, an attempt's, its outcome's.
@functools.lru_cache(maxsize=1024)
def _request_block(operation: str, protocol: str, path: str, requested_model: str, status: int, stream: bool,
                   attempt_count: int, backend: str, key_hint: str, project: str) -> bytes:
    name = f"{operation} {requested_model}" if requested_model else operation
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation, "llmproxy.client_protocol": protocol, "url.path": path,
        REQUEST_MODEL: requested_model, STATUS_CODE: status, "gen_ai.request.stream": stream,
        "llmproxy.attempts": attempt_count,
    }
    if attempt_count > 1:
        attributes["llmproxy.failover"] = True
    if backend:  # who served
        provider = provider_name(backend)
        attributes.update({"gen_ai.provider.name": provider, "gen_ai.system": provider, BACKEND: backend,
                           KEY_HINT: key_hint})
    if project:
        attributes["llmproxy.project"] = project
    return name_field(name) + attribute_fields(attributes)


@functools.lru_cache(maxsize=1024)
def _attempt_block(operation: str, backend: str, base_url: str, model: str, key_hint: str, number: int, retry: int,
                   status: int) -> bytes:
    url = urllib.parse.urlsplit(base_url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation, "gen_ai.provider.name": provider_name(backend), REQUEST_MODEL: model,
        "server.address": url.hostname or "", "server.port": url.port or (443 if url.scheme == "https" else 80),
        BACKEND: backend, KEY_HINT: key_hint, "llmproxy.attempt.number": number,
    }
    if status:  # none when the attempt never ended (the request was cancelled)
        attributes[STATUS_CODE] = status
    if retry:
        attributes["llmproxy.attempt.retry"] = retry
    if number > 1:
        attributes["llmproxy.attempt.failover"] = True
    return name_field(f"{operation} {model}") + attribute_fields(attributes)


@functools.lru_cache(maxsize=1024)
def _outcome_block(response_model: str, error: str) -> bytes:
    attributes = {"gen_ai.response.model": response_model} if response_model else {}
    return attribute_fields({**attributes, ERROR_TYPE: error} if error else attributes)


def _flag_fields(usage_estimated: bool, answered_by_proxy: bool, loop_halts: int, loop_halt_kind: str,
                 loop_warning_kind: str, redactions: int) -> bytes:
    """The request's flags and counts, only those set (every attribute costs export time)."""
    return attribute_fields({name: value for name, value in (
        ("llmproxy.usage_estimated", usage_estimated), ("llmproxy.answered_by_proxy", answered_by_proxy),
        ("llmproxy.loop_halts", loop_halts), ("llmproxy.loop_halt_kind", loop_halt_kind),
        ("llmproxy.redactions", redactions), ("llmproxy.loop_warning_kind", loop_warning_kind)) if value})


def _events(r: RequestRecord) -> list[bytes]:
    """The request's events: the first token at its time, the guards' findings and a client leaving at the end."""
    events = []
    if r.first_token_ns:
        events.append(event_field("llmproxy.first_token", r.first_token_ns, {}))
    usage_estimated, answered_by_proxy, loop_halts, loop_halt_kind, loop_warning_kind, redactions = r.flags
    if redactions:
        events.append(event_field("llmproxy.redaction", r.start_ns, {"llmproxy.redactions": redactions}))
    if loop_warning_kind:
        events.append(event_field("llmproxy.loop_warning", r.end_ns, {"llmproxy.loop_kind": loop_warning_kind}))
    if loop_halts:
        events.append(event_field("llmproxy.loop_halt", r.end_ns, {"llmproxy.loop_kind": loop_halt_kind}))
    if r.client_disconnected:
        events.append(event_field("llmproxy.client_disconnected", r.end_ns, {}))
    return events
