"""``/``: the operator's status page (and the admin's "View site").

The version, each backend with its health (``backend_overview``: key states and latest requests,
never an upstream call), the client settings of the README with this server's URL filled in, and
links to the admin, the dashboard and the API docs. Open to anyone who can reach the server, so it
shows no secret: backend names, protocols, credential-free base URLs, key counts and states.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from commands_app.commands.hello import proxy_version
from proxy_app.access.auth import get_directory
from proxy_app.operations.backend_overview import backend_health
from proxy_app.providers.registry import Registry, get_registry


async def status_view(request: HttpRequest) -> HttpResponse:
    registry = await get_registry()
    # Other processes' cooldowns (through Redis, when shared), as the next request would see them.
    await asyncio.gather(*(runtime.pool.refresh() for runtime in registry.backends.values()))
    key_required = (await get_directory()).has_keys
    return await sync_to_async(render_status, thread_sensitive=True)(request, registry, key_required)


def render_status(request: HttpRequest, registry: Registry, key_required: bool) -> HttpResponse:
    """The rendered page (the admin's context and the usage rows come from the database)."""
    context = {
        **admin.site.each_context(request),
        "title": "Proxy status",
        "is_nav_sidebar_enabled": False,  # the admin's app list: empty, or "no permission", for most visitors
        "version": proxy_version(),
        "base": request.build_absolute_uri("/").rstrip("/"),
        "backends": backend_health(registry),
        "default_backend": registry.default_backend,
        "key_required": key_required,
        "key_placeholder": "<proxy key>" if key_required else "any-key",
    }
    return TemplateResponse(request, "llmproxy/status.html", context).render()
