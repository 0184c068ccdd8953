"""Admin for sessions, failover routes (elements as an ordered inline) and command aliases."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from commands_app.budgets import BUDGET_TOKENS, BUDGET_USD, session_budget
from commands_app.models import CommandAlias, FailoverRoute, FailoverRouteElement, Session
from commands_app.routes import file_routes
from usage_app.models import UsageRecord
from usage_app.spend import usage_spend


class FailoverRouteElementInline(admin.TabularInline):
    model = FailoverRouteElement
    extra = 1
    ordering = ("position",)


@admin.register(FailoverRoute)
class FailoverRouteAdmin(admin.ModelAdmin):
    list_display = ("name", "policy", "owner", "elements_summary", "compact", "created_at")
    list_filter = ("policy", "compact")
    search_fields = ("name",)
    list_select_related = ("owner",)
    inlines = (FailoverRouteElementInline,)
    change_list_template = "admin/llmproxy/route_change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The list also shows the configuration file's routes and model aliases, read-only."""
        context = {**(extra_context or {}), "file_routes": file_routes(), "config_path": settings.PROXY_CONFIG_PATH,
                   "model_aliases": sorted(settings.MODEL_ALIASES.items())}
        return super().changelist_view(request, context)  # type: ignore[return-value]

    @admin.display(description="elements")
    def elements_summary(self, obj: FailoverRoute) -> str:
        return ", ".join(e.target for e in obj.elements.all()) or "(empty)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FailoverRoute]:
        return super().get_queryset(request).prefetch_related("elements")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("session_id", "owner", "overrides", "last_used_at", "created_at")
    search_fields = ("session_id",)
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "last_used_at", "budget", "loop_halts")

    @admin.display(description=f"spend against budget (set \"{BUDGET_USD}\" or \"{BUDGET_TOKENS}\" in the overrides)")
    def budget(self, obj: Session) -> str:
        spend = usage_spend(proxy_key_id=obj.owner_id, session_id=obj.session_id)
        return "database unavailable" if spend is None else session_budget(obj.overrides).describe(spend)

    @admin.display(description="loop halts (by kind)")
    def loop_halts(self, obj: Session) -> str:
        """What the loop guards stopped in this session's conversation, from its usage records."""
        from django.db.models import Count

        rows = (UsageRecord.objects.filter(session_id=obj.session_id, proxy_key_id=obj.owner_id, loop_halts__gt=0)
                .values("loop_halt_kind").annotate(n=Count("id")).order_by("-n"))
        return ", ".join(f"{row['loop_halt_kind'] or 'text_loop'} ×{row['n']}" for row in rows) or "none"


@admin.register(CommandAlias)
class CommandAliasAdmin(admin.ModelAdmin):
    list_display = ("name", "command", "owner", "created_at")
    search_fields = ("name", "command")
    list_select_related = ("owner",)
