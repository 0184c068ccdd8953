"""Prometheus metrics at ``GET /metrics``, for an admin proxy key (Prometheus's ``authorization`` /
``bearer_token`` scrape setting sends it): the series name every backend and model and count everyone's traffic.

Counters are updated in the request observer; they are cheap in-memory increments. The
recorder's queue depth and overflow count are read when scraped.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from proxy_app.access.auth import authenticate
from proxy_app.core.context import RequestContext
from proxy_app.core.counters import DROPPED_FIELDS

REGISTRY = CollectorRegistry(auto_describe=True)

LABELS = ("backend", "model")
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter("llmproxy_requests", "Client requests finished", ("backend", "model", "status"), registry=REGISTRY)
ERRORS = Counter("llmproxy_errors", "Client requests that ended in an error", ("backend", "model", "error_type"),
                 registry=REGISTRY)
TOKENS = Counter("llmproxy_tokens", "Tokens reported by upstreams (or estimated), by kind: input, output, "
                 "cached (input read from the prompt cache), cache_write (input written to it), reasoning",
                 ("backend", "model", "kind"), registry=REGISTRY)
TOKEN_KINDS = ("input", "output", "cached", "cache_write", "reasoning")
# Cost and savings are counted by the usage writer, which prices records off the request path.
COST = Counter("llmproxy_cost_usd", "Cost in USD of priced requests", LABELS, registry=REGISTRY)
CACHE_SAVED = Counter("llmproxy_cache_saved_usd", "USD the prompt cache saved on priced requests (reads' discount "
                      "less writes' surcharge; negative increments are not counted)", LABELS, registry=REGISTRY)
AFFINITY = Counter("llmproxy_affinity", "Requests of a conversation by what became of its backend key: new (first "
                   "turn on the backend), kept, moved (cooling, invalid, failing or gone)",
                   ("backend", "outcome"), registry=REGISTRY)
LATENCY = Histogram("llmproxy_request_latency_seconds", "Request latency until the last byte", LABELS,
                    buckets=LATENCY_BUCKETS, registry=REGISTRY)
TTFT = Histogram("llmproxy_time_to_first_token_seconds", "Time to the first streamed token", LABELS,
                 buckets=LATENCY_BUCKETS, registry=REGISTRY)
LOOP_HALTS = Counter("llmproxy_loop_halts", "Answers halted by a loop guard, by kind "
                     "(tool_loop, cycle, no_progress, text_loop, paraphrase)", ("kind",), registry=REGISTRY)
LOOP_WARNINGS = Counter("llmproxy_loop_warnings", "Tool calls let through with a loop warning for the model, by kind",
                        ("kind",), registry=REGISTRY)
for _kind in ("tool_loop", "cycle", "no_progress", "text_loop", "paraphrase"):
    LOOP_HALTS.labels(_kind)  # every kind is exported, at 0 until it happens
    if _kind in ("tool_loop", "cycle", "no_progress"):
        LOOP_WARNINGS.labels(_kind)
RECORDER_OVERFLOW = Counter("llmproxy_usage_recorder_overflow", "Usage records lost to a full recorder queue",
                            registry=REGISTRY)
# Read at scrape time: the recorder module sets the function (metrics import nothing of the recorder).
RECORDER_QUEUE_DEPTH = Gauge("llmproxy_usage_recorder_queue_depth", "Usage records waiting to be written",
                             registry=REGISTRY)


class _DroppedFields:
    """``llmproxy_dropped_fields_total``: request fields a backend of another protocol did not take,
    read at scrape time from the connectors' counts (``proxy_app.core.counters.DROPPED_FIELDS``)."""

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily("llmproxy_dropped_fields", "Client request fields dropped for a backend "
                                     "of another protocol, by field name", labels=("field", "client", "backend"))
        for (name, client, backend), count in list(DROPPED_FIELDS.items()):
            family.add_metric((name, client, backend), count)
        yield family


REGISTRY.register(_DroppedFields())


@functools.lru_cache(maxsize=4096)
def _model_series(backend: str, model: str) -> tuple[Any, ...]:
    """The labelled series of one (backend, model): ``labels()`` validates and locks on every
    call, and the observer runs on the event loop for every request."""
    return (
        LATENCY.labels(backend, model), TTFT.labels(backend, model),
        *(TOKENS.labels(backend, model, kind) for kind in TOKEN_KINDS),
    )


@functools.lru_cache(maxsize=4096)
def _requests_series(backend: str, model: str, status: int) -> Any:
    return REQUESTS.labels(backend, model, str(status))


def observe(ctx: RequestContext) -> None:
    """Count one finished request."""
    backend, model = ctx.backend or "none", ctx.model or "none"
    _requests_series(backend, model, ctx.status).inc()
    if ctx.status >= 400:
        ERRORS.labels(backend, model, ctx.error_type or "error").inc()
    latency, ttft_series, *token_series = _model_series(backend, model)
    usage = ctx.usage
    for series, value in zip(token_series, (usage.input_tokens, usage.output_tokens, usage.cached_tokens,
                                            usage.cache_creation_tokens, usage.reasoning_tokens), strict=True):
        if value:
            series.inc(value)
    latency.observe(ctx.latency_ms / 1000.0)
    affinity = ctx.extra.get("affinity")
    if affinity:  # "kept", "new", "moved: cooling", ...: the outcome without the why
        AFFINITY.labels(backend, str(affinity).split(":", 1)[0]).inc()
    if ctx.loop_halt_kind:
        LOOP_HALTS.labels(ctx.loop_halt_kind).inc()
    if ctx.loop_warning_kind:
        LOOP_WARNINGS.labels(ctx.loop_warning_kind).inc()
    ttft = ctx.ttft_ms
    if ttft is not None:
        ttft_series.observe(ttft / 1000.0)


async def metrics_view(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request)
    if principal is None:
        response = JsonResponse({"detail": "a proxy key is needed for /metrics"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="llm-interactive-proxy"'
        return response
    if not (principal.is_admin or principal.anonymous):
        return JsonResponse({"detail": "/metrics needs an admin proxy key"}, status=403)
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
