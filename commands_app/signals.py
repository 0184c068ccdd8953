"""Keep the in-memory route and alias views in step with the database."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from commands_app.aliases import invalidate_aliases
from commands_app.models import CommandAlias, FailoverRoute, FailoverRouteElement, Session
from commands_app.routes import invalidate_routes
from commands_app.sessions import session_cache_clear


@receiver([post_save, post_delete], sender=FailoverRoute)
@receiver([post_save, post_delete], sender=FailoverRouteElement)
def _routes_changed(**_: Any) -> None:
    invalidate_routes()


@receiver([post_save, post_delete], sender=CommandAlias)
def _aliases_changed(**_: Any) -> None:
    invalidate_aliases()


@receiver(post_delete, sender=Session)
def _session_deleted(**_: Any) -> None:
    session_cache_clear()
