"""Invalidate the in-memory key directory and backend registry when their models change."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from proxy_app.access.auth import invalidate_directory
from proxy_app.models import Backend, BackendKey, ModelDefaults, ProxyKey
from proxy_app.providers.registry import invalidate_registry
from proxy_app.routing.model_defaults import invalidate_model_defaults


@receiver([post_save, post_delete], sender=ProxyKey)
def _proxy_key_changed(**_: Any) -> None:
    invalidate_directory()


@receiver([post_save, post_delete], sender=Backend)
@receiver([post_save, post_delete], sender=BackendKey)
def _backend_changed(**_: Any) -> None:
    invalidate_registry()


@receiver([post_save, post_delete], sender=ModelDefaults)
def _model_defaults_changed(**_: Any) -> None:
    invalidate_model_defaults()
