from __future__ import annotations

from django.apps import AppConfig


class UsageAppConfig(AppConfig):
    name = "usage_app"
    verbose_name = "Usage and cost"

    def ready(self) -> None:
        from usage_app import pricing, recorder

        pricing.connect_signals()
        recorder.install()
