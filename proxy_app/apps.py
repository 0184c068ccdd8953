from __future__ import annotations

from django.apps import AppConfig


class ProxyAppConfig(AppConfig):
    name = "proxy_app"
    verbose_name = "LLM proxy"

    def ready(self) -> None:
        from proxy_app import signals  # noqa: F401  (connects cache invalidation)
