"""A chat request's trace on the request path: the ids and times its spans are made of.

One SERVER span per client request (a child of the client's ``traceparent``) and one CLIENT span
per upstream attempt, whose context goes upstream in the attempt's ``traceparent``. The request
path notes ids (ints) and times, and when the request ends queues its record of plain data
(``RequestSpans.record``) for the exporter process, which encodes and sends the spans
(``trace_encoding``, ``trace_exporter``). A request that is not sampled records nothing (its trace
context still goes upstream, with a span id per attempt): no measurable cost.

Why so little here: whatever runs in this process, in any thread, holds the GIL the event loop
waits for. The SDK's span objects and encoder took ~270 µs of CPU a request (2026-12-06,
``bench/ab.py``); our encoder at the end of each request ~35 µs of the loop's time, in an export
thread ~16 µs. Why the record is made at once: queueing the finished context for the export thread
to read cost 5 % more throughput (``bench/ab.py``, 10 rounds) than these few µs on the loop: the
contexts outlived the young garbage-collector generations, and were cold in the CPU's cache when read.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from proxy_app.core.context import AttemptRecord, RequestContext
from proxy_app.core.tracing import UPSTREAM_TRACE_HEADERS
from proxy_app.operations.trace_encoding import AttemptSpan

# W3C Trace Context: version 00 (or a later one, read as 00), trace id, parent id, flags.
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?")
INVALID_TRACE, INVALID_SPAN = "0" * 32, "0" * 16
LOW_64 = 2**64 - 1
NANOS = 1_000_000_000


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


class OtelTracing:
    """``proxy_app.core.tracing.Tracing``: each finished request's spans go to ``export``."""

    def __init__(self, export: Callable[[tuple[Any, ...]], None], *, capture_content: bool,
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

    def __init__(self, export: Callable[[tuple[Any, ...]], None], trace_id: int, parent_id: int, tracestate: str, *,
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
        self.export(self.record(ctx))

    def record(self, ctx: RequestContext) -> tuple[Any, ...]:
        """The finished request's ``trace_encoding.RequestRecord`` as plain data, which the pipe to the exporter
        process carries (marshal: ~0.6 µs a request, a named tuple's pickle 2.4)."""
        end_ns = int((ctx.started_wall + ctx.latency_ms / 1000.0) * NANOS)
        answered = bool(self.attempts) and not self.attempts[-1].end_ns
        if answered:
            self.attempts[-1].end_ns = end_ns
        usage = ctx.usage
        first = ctx.first_token_at
        content = _content(ctx) if self.captures_content else None
        return (
            self.trace_id, self.span_id, self.parent_id, int(ctx.started_wall * NANOS), end_ns,
            0 if first is None else int((ctx.started_wall + first - ctx.started) * NANOS),
            ctx.protocol, ctx.path, ctx.requested_model, ctx.backend, ctx.model, ctx.key_hint, ctx.status, ctx.stream,
            ctx.error_type or ("client_disconnected" if ctx.client_disconnected else ""),
            (usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.cache_creation_tokens,
             usage.reasoning_tokens),
            None if first is None else (first - ctx.started), ctx.session_id, ctx.project, len(ctx.attempts),
            (ctx.usage_estimated, ctx.answered_by_proxy, ctx.loop_halts, ctx.loop_halt_kind, ctx.loop_warning_kind,
             ctx.redactions),
            ctx.client_disconnected, tuple(attempt.fields() for attempt in self.attempts), answered, content,
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


