"""OpenTelemetry traces of the chat requests, on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` names a collector.

Switched on at start-up (``ProxyAppConfig.ready``): with tracing off the request path pays a None
check (``proxy_app.core.tracing``). The OpenTelemetry SDK is imported by the exporter process
only. What the request path notes: ``trace_spans``; what a span holds: ``trace_encoding``; where
it goes: ``trace_export`` and ``trace_exporter``.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from proxy_app.core import tracing as hooks
from proxy_app.core.context import RequestContext, on_request_finished

if TYPE_CHECKING:
    from proxy_app.operations.trace_export import SpanExport

NO_SDK = ("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: "
          "pip install 'llm-interactive-proxy[otel]'")

_exports: list[SpanExport] = []  # the one exporting, when tracing is on


def tracing_configure() -> bool:
    """Trace as the settings say (again, after a change); whether tracing is on."""
    tracing_shutdown()
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    if not endpoint:
        return False
    if not _sdk_installed():
        raise ImproperlyConfigured(NO_SDK)  # the exporter process would fail on every batch
    from proxy_app.operations.trace_export import SpanExport
    from proxy_app.operations.trace_spans import OtelTracing

    export = SpanExport(endpoint, schedule_delay_ms=settings.OTEL_BSP_SCHEDULE_DELAY)
    _exports.append(export)
    hooks.active = OtelTracing(export.add, capture_content=settings.OTEL_CAPTURE_CONTENT,
                               ratio=settings.OTEL_TRACES_SAMPLER_ARG)
    on_request_finished(_request_finished)
    return True


def tracing_flush() -> bool:
    """Export the finished spans now; whether all went out in time."""
    return all(export.flush() for export in _exports)


def tracing_shutdown() -> None:
    """Stop tracing, exporting what is left."""
    hooks.active = None
    while _exports:
        _exports.pop().shutdown()


def _sdk_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http.trace_exporter") is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _request_finished(ctx: RequestContext) -> None:
    if ctx.trace is not None:
        ctx.trace.finish(ctx)
