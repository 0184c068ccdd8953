from __future__ import annotations

from django.apps import AppConfig


class CommandsAppConfig(AppConfig):
    name = "commands_app"
    verbose_name = "Commands, sessions and failover routes"

    def ready(self) -> None:
        from commands_app import signals  # noqa: F401
        from commands_app.commands import load_all

        load_all()
