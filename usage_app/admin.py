"""Admin: read-only usage records and rollups (capped counts for huge tables), editable prices."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property

from usage_app.models import CapturedExchange, ModelPrice, UsageRecord, UsageRollup

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counting millions of rows on every page load is slow: stop counting at COUNT_CAP."""

    @cached_property
    def count(self) -> int:
        return len(self.object_list.order_by().values_list("pk", flat=True)[:COUNT_CAP])  # type: ignore[attr-defined]  # a QuerySet here


class ReadOnlyAdmin(admin.ModelAdmin):
    paginator = CappedPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GuardFilter(admin.SimpleListFilter):
    """Requests where a guard acted: an answer halted by loop detection, or secrets redacted."""

    title = "guards"
    parameter_name = "guard"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("loop", "loop halted"), ("redacted", "secrets redacted"), ("failover", "failed over")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        if self.value() == "loop":
            return queryset.filter(loop_halts__gt=0)
        if self.value() == "redacted":
            return queryset.filter(redactions__gt=0)
        if self.value() == "failover":
            return queryset.filter(attempts__gt=1)
        return queryset


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    date_hierarchy = "created_at"
    list_display = ("created_at", "owner", "project", "backend", "model", "status", "input_tokens", "output_tokens",
                    "cost_usd", "latency_ms", "stream", "attempts", "loop_halts", "loop_halt_kind", "redactions",
                    "compacted_tokens")
    list_filter = (GuardFilter, "loop_halt_kind", "project", "backend", "model", "status", "stream", "tokens_estimated", "byok")
    search_fields = ("requested_model", "user", "session_id", "error_message")
    list_per_page = 100


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyAdmin):
    date_hierarchy = "period_start"
    list_display = ("period", "period_start", "project", "backend", "model", "requests", "errors", "input_tokens",
                    "output_tokens", "cost_usd", "latency_p50_ms", "latency_p95_ms")
    list_filter = ("period", "project", "backend", "model")


@admin.register(CapturedExchange)
class CapturedExchangeAdmin(ReadOnlyAdmin):
    date_hierarchy = "created_at"
    list_display = ("created_at", "record")
    list_select_related = ("record",)
    raw_id_fields = ("record",)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("backend", "model", "input_per_mtok", "output_per_mtok", "cached_per_mtok", "reasoning_per_mtok",
                    "source", "updated_at")
    list_filter = ("backend", "source")
    search_fields = ("model",)
    readonly_fields = ("source", "updated_at")

    def save_model(self, request: HttpRequest, obj: ModelPrice, form: Any, change: bool) -> None:
        obj.source = ModelPrice.ADMIN  # an edited price is the operator's, whatever seeded it
        super().save_model(request, obj, form, change)


