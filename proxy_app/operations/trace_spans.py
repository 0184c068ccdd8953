"""The spans of one chat request, after the OpenTelemetry GenAI semantic conventions.

One SERVER span per client request (a child of the client's ``traceparent``), named
``{gen_ai.operation.name} {gen_ai.request.model}``, and one CLIENT span per upstream attempt, whose
context goes upstream in the attempt's ``traceparent``. A failed attempt's span ends with it; the
answering attempt's lasts until the answer has been sent, as the upstream call does. Attributes
the conventions do not name are ``llmproxy.*``. Never a key: attempts carry the masked hint.

The request path notes ids (ints) and times, and queues the finished request's context: the export
thread reads it (``RequestSpans.record``) and encodes the spans (``encode_request``) from attribute
blocks encoded once per distinct combination. Code run once per request on the event loop runs
cold, 3-5 times slower than the same code in a loop over a batch: encoding at the end of each
request, the loop's CPU grew by ~35 µs a request and the thread's by ~11; encoding in the thread,
~15 and ~16 (2026-12-06, per-thread CPU under ``wrk`` at c = 10). A request that is not sampled
records nothing (its trace context still goes upstream, with a span id per attempt): no
measurable cost.
The SDK's span objects validate every attribute under a lock and its encoder builds a message per
attribute: ~270 µs of CPU a request (2026-12-06, ``bench/ab.py``), a third of the proxy's throughput.
"""

from __future__ import annotations

import functools
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from proxy_app.core.context import AttemptRecord, RequestContext
from proxy_app.core.tracing import UPSTREAM_TRACE_HEADERS
from proxy_app.operations.otlp_encoding import (
    CLIENT,
    SERVER,
    attribute_fields,
    double_attribute,
    encode_span,
    error_status,
    event_field,
    int_attribute,
    name_field,
    scope_span,
    span_attribute,
)

# W3C Trace Context: version 00 (or a later one, read as 00), trace id, parent id, flags.
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?")
INVALID_TRACE, INVALID_SPAN = "0" * 32, "0" * 16
LOW_64 = 2**64 - 1
# gen_ai.operation.name by the client's protocol: Gemini's API calls it generateContent.
OPERATIONS = {"gemini": "generate_content"}
# gen_ai.provider.name's well-known value where it is not the backend's own name.
PROVIDER_NAMES = {"gemini": "gcp.gemini"}
NANOS = 1_000_000_000

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


def _span_id() -> int:
    return random.getrandbits(64) or 1  # all zeros is the invalid span id


def _send_upstream(trace_id: int, span_id: int, flags: str, tracestate: str) -> None:
    """The attempt's trace context for the upstream seam (``UPSTREAM_TRACE_HEADERS``)."""
    headers = {"traceparent": f"00-{trace_id:032x}-{span_id:016x}-{flags}"}
    if tracestate:
        headers["tracestate"] = tracestate
    UPSTREAM_TRACE_HEADERS.set(headers)


def _parent(value: str, headers: Mapping[str, str]) -> tuple[int, int, bool, str] | None:
    """The client's trace id, span id, sampled flag and ``tracestate``, when ``value`` is a valid ``traceparent``."""
    value = value.strip().lower()
    match = TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or (version == "00" and len(value) != 55) or trace_id == INVALID_TRACE \
            or span_id == INVALID_SPAN:
        return None
    return int(trace_id, 16), int(span_id, 16), bool(int(flags, 16) & 1), headers.get("tracestate", "")


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


# A finished request's spans and context, which are no longer written to (the usage recorder's queue
# holds the same context): the export thread makes the spans from them (``RequestSpans.record``).
Pending = tuple["RequestSpans", RequestContext]
# A request's spans, encoded, and what prices its request span: the request span's body (its cost
# still to add), the attempts' spans, backend ("": nothing to price), model and ``TOKEN_COUNTS``.
Encoded = tuple[bytes, bytes, str, str, tuple[int, int, int, int, int]]


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
    attempts: tuple[AttemptSpan, ...]
    answered: bool  # the last attempt answered: the outcome is its too
    content: tuple[str | None, str | None] | None  # the prompt and the answer as JSON, when captured


class OtelTracing:
    """``proxy_app.core.tracing.Tracing``: each finished request's spans go to ``export``."""

    def __init__(self, export: Callable[[Pending], None], *, capture_content: bool,
                 ratio: float = 1.0) -> None:
        self.export = export
        self.capture_content = capture_content
        self.sampled_below = int(ratio * 2**64)  # a new trace is recorded when its id's low 64 bits are below

    def request_started(self, ctx: RequestContext, headers: Mapping[str, str]) -> RequestSpans | UnsampledTrace:
        value = headers.get("traceparent")
        parent = _parent(value, headers) if value else None
        if parent is None:  # a new trace, recorded as OpenTelemetry's TraceIdRatioBased sampler would
            trace_id = random.getrandbits(128) or 1
            if trace_id & LOW_64 >= self.sampled_below:
                return UnsampledTrace(trace_id, "")
            return RequestSpans(self.export, trace_id, 0, "", captures_content=self.capture_content)
        trace_id, parent_id, sampled, tracestate = parent
        if not sampled:
            return UnsampledTrace(trace_id, tracestate)
        return RequestSpans(self.export, trace_id, parent_id, tracestate, captures_content=self.capture_content)


class UnsampledTrace:
    """``proxy_app.core.tracing.RequestTrace`` of a request not recorded: its trace context still goes
    upstream (not sampled), each attempt with a span id of its own as W3C asks."""

    __slots__ = ("trace_id", "tracestate")
    captures_content = False

    def __init__(self, trace_id: int, tracestate: str) -> None:
        self.trace_id = trace_id
        self.tracestate = tracestate

    def attempt_started(self, *, backend: str, model: str, key_hint: str, base_url: str, retry: int) -> None:
        _send_upstream(self.trace_id, _span_id(), "00", self.tracestate)

    def attempt_ended(self, record: AttemptRecord, error_type: str) -> None:
        UPSTREAM_TRACE_HEADERS.set(None)

    def finish(self, ctx: RequestContext) -> None:
        pass


class RequestSpans:
    """``proxy_app.core.tracing.RequestTrace`` of a sampled request: its span's ids and its attempts'."""

    __slots__ = ("export", "trace_id", "span_id", "parent_id", "tracestate", "captures_content", "attempts")

    def __init__(self, export: Callable[[Pending], None], trace_id: int, parent_id: int, tracestate: str, *,
                 captures_content: bool) -> None:
        self.export = export
        self.trace_id = trace_id
        self.span_id = _span_id()
        self.parent_id = parent_id
        self.tracestate = tracestate
        self.captures_content = captures_content
        self.attempts: list[AttemptSpan] = []

    def attempt_started(self, *, backend: str, model: str, key_hint: str, base_url: str, retry: int) -> None:
        now = time.time_ns()
        if self.attempts and not self.attempts[-1].end_ns:
            self.attempts[-1].end_ns = now
        span_id = _span_id()
        self.attempts.append(AttemptSpan(span_id, now, backend, model, key_hint, base_url, retry))
        _send_upstream(self.trace_id, span_id, "01", self.tracestate)

    def attempt_ended(self, record: AttemptRecord, error_type: str) -> None:
        UPSTREAM_TRACE_HEADERS.set(None)
        if not self.attempts or self.attempts[-1].end_ns:
            return
        attempt = self.attempts[-1]
        attempt.status = record.status
        if record.outcome != "ok":
            attempt.error = error_type or str(record.status)
            attempt.end_ns = time.time_ns()

    def finish(self, ctx: RequestContext) -> None:
        self.export((self, ctx))

    def record(self, ctx: RequestContext) -> RequestRecord:
        """The finished request's values (in the export thread: the spans and ``ctx`` are done with)."""
        end_ns = int((ctx.started_wall + ctx.latency_ms / 1000.0) * NANOS)
        answered = bool(self.attempts) and not self.attempts[-1].end_ns
        if answered:
            self.attempts[-1].end_ns = end_ns
        usage = ctx.usage
        first = ctx.first_token_at
        content = _content(ctx) if self.captures_content else None
        return RequestRecord(
            self.trace_id, self.span_id, self.parent_id, int(ctx.started_wall * NANOS), end_ns,
            0 if first is None else int((ctx.started_wall + first - ctx.started) * NANOS),
            ctx.protocol, ctx.path, ctx.requested_model, ctx.backend, ctx.model, ctx.key_hint, ctx.status, ctx.stream,
            ctx.error_type or ("client_disconnected" if ctx.client_disconnected else ""),
            (usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.cache_creation_tokens,
             usage.reasoning_tokens),
            None if first is None else (first - ctx.started), ctx.session_id, ctx.project, len(ctx.attempts),
            (ctx.usage_estimated, ctx.answered_by_proxy, ctx.loop_halts, ctx.loop_halt_kind, ctx.loop_warning_kind,
             ctx.redactions),
            ctx.client_disconnected, tuple(self.attempts), answered, content,
        )


def _content(ctx: RequestContext) -> tuple[str | None, str | None]:
    """The (already redacted) prompt and the answer as the conventions' opt-in message attributes."""
    prompt = answer = None
    if (messages := ctx.extra.get("prompt")) is not None:
        prompt = orjson.dumps([{"role": m["role"], "parts": [{"type": "text", "content": m["text"]}]}
                               for m in messages]).decode()
    if (text := ctx.extra.get("answer")) is not None:
        answer = orjson.dumps([{"role": "assistant", "parts": [{"type": "text", "content": text}]}]).decode()
    return prompt, answer


def encode_request(r: RequestRecord) -> Encoded:
    """The request's spans, encoded (the request span's body may have more attributes: its cost)."""
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
    return (encode_span(trace_id, r.span_id, r.parent_id, SERVER, r.start_ns, r.end_ns, fields), attempts, r.backend,
            r.model, r.tokens)


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


def _attempt_span(trace_id: bytes, parent_id: int, operation: str, number: int, a: AttemptSpan, outcome: bytes,
                  request_error: str) -> bytes:
    """An attempt's span; the answering one's carries the request's ``outcome`` (and its error, if any)."""
    fields = [_attempt_block(operation, a.backend, a.base_url, a.model, a.key_hint, number, a.retry, a.status), outcome]
    if a.error:
        fields += [attribute_fields({ERROR_TYPE: a.error}), error_status(a.error)]
    elif request_error:  # error.type is in the outcome
        fields.append(error_status(request_error))
    return encode_span(trace_id, a.span_id, parent_id, CLIENT, a.start_ns, a.end_ns, fields)


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
