"""The spans of one chat request, after the OpenTelemetry GenAI semantic conventions.

One SERVER span per client request (a child of the client's ``traceparent``), named
``{gen_ai.operation.name} {gen_ai.request.model}``, and one CLIENT span per upstream attempt, whose
context goes upstream in the attempt's ``traceparent``. A failed attempt's span ends with it; the
answering attempt's lasts until the answer has been sent, as the upstream call does. Attributes
the conventions do not name are ``llmproxy.*``. Never a key: attempts carry the masked hint.

The request path records plain values (``SpanRecord``) and encodes them when the request finishes
(``otlp_encoding``); the export thread prices and sends them. The SDK's span objects validate every
attribute under a lock and its encoder builds a message per attribute: ~270 µs of CPU a request
(2026-12-06, ``bench/ab.py``), a third of the proxy's throughput.
"""

from __future__ import annotations

import functools
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from proxy_app.core.context import AttemptRecord, RequestContext
from proxy_app.core.tracing import UPSTREAM_TRACE_HEADERS
from proxy_app.operations.otlp_encoding import CLIENT, SERVER, SpanRecord, attribute_fields, encode_span, scope_span

# A finished request's spans, encoded: the request span's body (its cost still to add), the attempts'
# spans, and what prices it (backend, model, input, output, cached and reasoning tokens; no backend:
# nothing to price). Bytes and a flat tuple: the queue holds nothing the cyclic GC has to walk.
Pending = tuple[bytes, bytes, str, str, int, int, int, int]

# W3C Trace Context: version 00 (or a later one, read as 00), trace id, parent id, flags.
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?")
INVALID_TRACE, INVALID_SPAN = "0" * 32, "0" * 16
# gen_ai.operation.name by the client's protocol: Gemini's API calls it generateContent.
OPERATIONS = {"gemini": "generate_content"}
# gen_ai.provider.name's well-known value where it is not the backend's own name.
PROVIDER_NAMES = {"gemini": "gcp.gemini"}
NANOS = 1_000_000_000

REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
BACKEND = "llmproxy.backend"


def provider_name(backend: str) -> str:
    return PROVIDER_NAMES.get(backend, backend)


# The attributes that recur together, encoded once: a request's start, an attempt's target, who served.
@functools.lru_cache(maxsize=64)
def _request_block(operation: str, protocol: str, path: str) -> bytes:
    return attribute_fields({"gen_ai.operation.name": operation, "llmproxy.client_protocol": protocol, "url.path": path})


@functools.lru_cache(maxsize=1024)
def _attempt_block(operation: str, backend: str, base_url: str, model: str, key_hint: str) -> bytes:
    url = urllib.parse.urlsplit(base_url)
    return attribute_fields({
        "gen_ai.operation.name": operation, "gen_ai.provider.name": provider_name(backend), REQUEST_MODEL: model,
        "server.address": url.hostname or "", "server.port": url.port or (443 if url.scheme == "https" else 80),
        BACKEND: backend, "llmproxy.key_hint": key_hint,
    })


@functools.lru_cache(maxsize=1024)
def _served_block(backend: str, key_hint: str) -> bytes:
    provider = provider_name(backend)
    return attribute_fields({"gen_ai.provider.name": provider, "gen_ai.system": provider, BACKEND: backend,
                             "llmproxy.key_hint": key_hint})


def _parent(headers: Mapping[str, str]) -> tuple[str, str, bool, str] | None:
    """The client's trace id, span id, sampled flag and ``tracestate``, when it sent a valid ``traceparent``."""
    value = (headers.get("traceparent") or "").strip().lower()
    match = TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or (version == "00" and len(value) != 55) or trace_id == INVALID_TRACE \
            or span_id == INVALID_SPAN:
        return None
    return trace_id, span_id, bool(int(flags, 16) & 1), headers.get("tracestate", "")


class OtelTracing:
    """``proxy_app.core.tracing.Tracing``: each finished request's spans go to ``export``."""

    def __init__(self, export: Callable[[Pending], None], *, capture_content: bool, ratio: float = 1.0) -> None:
        self.export = export
        self.capture_content = capture_content
        self.sampled_below = int(ratio * 2**64)  # a new trace is recorded when its id's low 64 bits are below

    def request_started(self, ctx: RequestContext, headers: Mapping[str, str]) -> RequestSpans:
        operation = OPERATIONS.get(ctx.protocol, "chat")
        parent = _parent(headers)
        if parent is None:  # a new trace, recorded as OpenTelemetry's TraceIdRatioBased sampler would
            low = random.getrandbits(64)
            trace_id = (random.getrandbits(64) << 64 | low).to_bytes(16, "big")
            parent_id, sampled, tracestate = b"", low < self.sampled_below, ""
        else:
            trace_id, parent_id, sampled, tracestate = bytes.fromhex(parent[0]), bytes.fromhex(parent[1]), *parent[2:]
        span = SpanRecord(trace_id, random.getrandbits(64).to_bytes(8, "big"), parent_id, operation, SERVER,
                          int(ctx.started_wall * NANOS), encoded=_request_block(operation, ctx.protocol, ctx.path))
        return RequestSpans(self.export if sampled else None, span, tracestate, operation,
                            captures_content=self.capture_content)


class RequestSpans:
    """``proxy_app.core.tracing.RequestTrace``: the request's span and its attempts'. Not sampled (the
    client's ``traceparent`` says so), nothing is exported, and the context still goes upstream."""

    def __init__(self, export: Callable[[Pending], None] | None, span: SpanRecord, tracestate: str,
                 operation: str, *, captures_content: bool) -> None:
        self.export = export
        self.span = span
        self.tracestate = tracestate
        self.operation = operation
        self.captures_content = captures_content
        self.attempts: list[SpanRecord] = []
        self.attempt: SpanRecord | None = None  # the attempt under way, or the one answering

    def attempt_started(self, *, backend: str, model: str, key_hint: str, base_url: str, retry: int) -> None:
        self._end_attempt()
        span_id = random.getrandbits(64).to_bytes(8, "big")
        self.attempt = SpanRecord(self.span.trace_id, span_id, self.span.span_id, f"{self.operation} {model}", CLIENT,
                                  time.time_ns(), attributes={"llmproxy.attempt.number": len(self.attempts) + 1},
                                  encoded=_attempt_block(self.operation, backend, base_url, model, key_hint))
        if retry:
            self.attempt.attributes["llmproxy.attempt.retry"] = retry
        if self.attempts:
            self.attempt.attributes["llmproxy.attempt.failover"] = True
        self.attempts.append(self.attempt)
        headers = {"traceparent": f"00-{self.span.trace_id.hex()}-{span_id.hex()}-{'01' if self.export else '00'}"}
        if self.tracestate:
            headers["tracestate"] = self.tracestate
        UPSTREAM_TRACE_HEADERS.set(headers)

    def attempt_ended(self, record: AttemptRecord, error_type: str) -> None:
        UPSTREAM_TRACE_HEADERS.set(None)
        span = self.attempt
        if span is None:
            return
        span.attributes["http.response.status_code"] = record.status
        if record.outcome != "ok":
            _failed(span, error_type or str(record.status))
            self._end_attempt()

    def _end_attempt(self, end_ns: int = 0) -> None:
        if self.attempt is not None:
            self.attempt.end_ns = end_ns or time.time_ns()
            self.attempt = None

    def finish(self, ctx: RequestContext) -> None:
        end_ns = int((ctx.started_wall + ctx.latency_ms / 1000.0) * NANOS)
        outcome = _outcome(ctx)
        if self.attempt is not None:  # the one that answered
            self.attempt.attributes.update(outcome)
            if "error.type" in outcome:
                _failed(self.attempt, str(outcome["error.type"]))
            self._end_attempt(end_ns)
        if self.export is None:
            return
        span = self.span
        if ctx.requested_model:
            span.name = f"{self.operation} {ctx.requested_model}"
        span.attributes.update(outcome)
        span.attributes.update(_request_attributes(ctx))
        if ctx.backend:
            span.encoded += _served_block(ctx.backend, ctx.key_hint)
        if self.captures_content:
            span.attributes.update(_content(ctx))
        _add_events(span, ctx)
        if "error.type" in outcome:
            _failed(span, str(outcome["error.type"]))
        span.end_ns = end_ns
        usage = ctx.usage
        self.export((encode_span(span), b"".join(scope_span(encode_span(a)) for a in self.attempts), ctx.backend,
                     ctx.model, usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.reasoning_tokens))


def _failed(span: SpanRecord, error_type: str) -> None:
    span.attributes["error.type"] = error_type
    span.error = error_type


def _outcome(ctx: RequestContext) -> dict[str, Any]:
    """What the request span and the answering attempt's share: model, usage, TTFT, error."""
    usage = ctx.usage
    attributes: dict[str, Any] = {INPUT_TOKENS: usage.input_tokens, OUTPUT_TOKENS: usage.output_tokens}
    for name, value in ((CACHE_READ_TOKENS, usage.cached_tokens), (CACHE_CREATION_TOKENS, usage.cache_creation_tokens),
                        (REASONING_TOKENS, usage.reasoning_tokens)):
        if value:
            attributes[name] = value
    if ctx.backend:
        attributes[RESPONSE_MODEL] = ctx.model
    if (ttft := ctx.ttft_ms) is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = ttft / 1000.0
    error = ctx.error_type or ("client_disconnected" if ctx.client_disconnected else "")
    if error:
        attributes["error.type"] = error
    return attributes


def _request_attributes(ctx: RequestContext) -> dict[str, Any]:
    """The request's own attributes; the flags and counts only when set (every attribute costs export time)."""
    attributes: dict[str, Any] = {REQUEST_MODEL: ctx.requested_model, "http.response.status_code": ctx.status,
                                  "gen_ai.request.stream": ctx.stream, "llmproxy.attempts": len(ctx.attempts)}
    for name, value in (("gen_ai.conversation.id", ctx.session_id), ("llmproxy.project", ctx.project),
                        ("llmproxy.failover", len(ctx.attempts) > 1), ("llmproxy.usage_estimated", ctx.usage_estimated),
                        ("llmproxy.answered_by_proxy", ctx.answered_by_proxy), ("llmproxy.loop_halts", ctx.loop_halts),
                        ("llmproxy.loop_halt_kind", ctx.loop_halt_kind), ("llmproxy.redactions", ctx.redactions),
                        ("llmproxy.loop_warning_kind", ctx.loop_warning_kind)):
        if value:
            attributes[name] = value
    return attributes


def _add_events(span: SpanRecord, ctx: RequestContext) -> None:
    now = time.time_ns()
    if ctx.first_token_at is not None:
        at = int((ctx.started_wall + ctx.first_token_at - ctx.started) * NANOS)
        span.events.append(("llmproxy.first_token", at, {}))
    if ctx.redactions:
        span.events.append(("llmproxy.redaction", span.start_ns, {"llmproxy.redactions": ctx.redactions}))
    if ctx.loop_warning_kind:
        span.events.append(("llmproxy.loop_warning", now, {"llmproxy.loop_kind": ctx.loop_warning_kind}))
    if ctx.loop_halts:
        span.events.append(("llmproxy.loop_halt", now, {"llmproxy.loop_kind": ctx.loop_halt_kind}))
    if ctx.client_disconnected:
        span.events.append(("llmproxy.client_disconnected", now, {}))


def _content(ctx: RequestContext) -> dict[str, str]:
    """The (already redacted) prompt and the answer as the conventions' opt-in message attributes."""
    content: dict[str, str] = {}
    if (prompt := ctx.extra.get("prompt")) is not None:
        messages = [{"role": m["role"], "parts": [{"type": "text", "content": m["text"]}]} for m in prompt]
        content["gen_ai.input.messages"] = orjson.dumps(messages).decode()
    if (answer := ctx.extra.get("answer")) is not None:
        output = [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
        content["gen_ai.output.messages"] = orjson.dumps(output).decode()
    return content
