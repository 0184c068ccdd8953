from __future__ import annotations

from django.apps import AppConfig


class ProxyAppConfig(AppConfig):
    name = "proxy_app"
    verbose_name = "LLM proxy"

    def ready(self) -> None:
        from proxy_app import signals  # noqa: F401  (connects cache invalidation)
        from proxy_app.upstream.transports import selected

        selected()  # a wrong PROXY_UPSTREAM_TRANSPORT stops the start, not the first upstream call

        from proxy_app.operations.tracing import tracing_configure

        tracing_configure()  # OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set
