"""Request parameters and response shapes of the operator API (also its OpenAPI schema)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from usage_app.models import CapturedExchange, UsageRecord
from usage_app.stats import GROUP_BY_CHOICES

MAX_DAYS = 3660


class StatsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    project = serializers.CharField(required=False, allow_blank=True)
    backend = serializers.CharField(required=False, allow_blank=True)
    model = serializers.CharField(required=False, allow_blank=True)
    username = serializers.CharField(required=False, allow_blank=True, help_text="Same as `user` (X-User-ID)")
    user = serializers.CharField(required=False, allow_blank=True, help_text="The X-User-ID the client sent")
    since = serializers.DateTimeField(required=False, help_text="Start (inclusive); default `until` - `days`")
    until = serializers.DateTimeField(required=False, help_text="End (exclusive); default now")
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DAYS, default=30)
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - timedelta(days=attrs["days"])
        if since >= until:
            raise serializers.ValidationError({"since": "must be before until"})
        attrs["since"], attrs["until"] = since, until
        # Empty parameters (``?backend=``) mean "no filter", as in the seed's API.
        for name in ("project", "backend", "model", "username", "user"):
            if attrs.get(name) == "":
                attrs.pop(name)
        return attrs


class RecentQuerySerializer(serializers.Serializer[dict[str, Any]]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)
    project = serializers.CharField(required=False, allow_blank=True)
    cursor = serializers.CharField(required=False, help_text="Opaque cursor from `next` / `previous`")


class AuditQuerySerializer(RecentQuerySerializer):
    # CharField refuses NUL characters (PostgreSQL cannot compare a text column with one)
    backend = serializers.CharField(required=False, allow_blank=True)
    model = serializers.CharField(required=False, allow_blank=True)


class ErrorDetailSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()


class AggregateSerializer(serializers.Serializer[dict[str, Any]]):
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a wire field, not Serializer.errors
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cached_tokens = serializers.IntegerField(help_text="Input tokens read from the prompt cache")
    cache_write_tokens = serializers.IntegerField(help_text="Input tokens written to the prompt cache")
    cache_hit_ratio = serializers.FloatField(allow_null=True, help_text="Share of input tokens read from the cache")
    reasoning_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    cost_usd = serializers.FloatField(allow_null=True, help_text="Null when no request had a known price")
    cache_saved_usd = serializers.FloatField(
        allow_null=True, help_text="What prompt caching saved against uncached prices (reads' discount less writes' "
                                   "premium); null when no request had a known price")
    unpriced_requests = serializers.IntegerField(help_text="Requests with tokens but no known price")
    latency_avg_ms = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True, help_text="From a latency histogram (approximate)")
    latency_p95_ms = serializers.FloatField(allow_null=True, help_text="From a latency histogram (approximate)")


class BreakdownSerializer(AggregateSerializer):
    key = serializers.CharField(help_text="Project, backend, model, session (from raw records only), day (YYYY-MM-DD) "
                                          "or hour (ISO 8601)")


class StatsDataSerializer(serializers.Serializer[dict[str, Any]]):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    filters = serializers.DictField(child=serializers.CharField())
    group_by = serializers.CharField(allow_null=True)
    totals = AggregateSerializer()
    breakdown = BreakdownSerializer(many=True, required=False)
    sources = serializers.DictField(help_text="Which ranges came from rollups and which from raw records")


class StatsEnvelopeSerializer(serializers.Serializer[dict[str, Any]]):
    object = serializers.CharField(default="usage_stats")
    data = StatsDataSerializer()  # type: ignore[assignment]  # a wire field, not Serializer.data


class UsageRecordSerializer(serializers.ModelSerializer[UsageRecord]):
    cost_usd = serializers.DecimalField(max_digits=14, decimal_places=8, allow_null=True, coerce_to_string=False)
    cache_saved_usd = serializers.DecimalField(max_digits=14, decimal_places=8, allow_null=True, coerce_to_string=False)

    class Meta:
        model = UsageRecord
        fields = [
            "id", "created_at", "proxy_key_id", "owner", "project", "user", "session_id", "protocol", "path",
            "requested_model", "backend", "model", "attempts", "attempt_log", "key_hint", "status", "error_type",
            "error_message", "stream", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens",
            "reasoning_tokens", "tokens_estimated", "cost_usd", "cache_saved_usd", "latency_ms", "ttft_ms", "loop_halts", "loop_halt_kind", "redactions",
            "compacted_tokens", "answered_by_proxy", "client_disconnected", "byok", "affinity",
        ]


class UsageEntriesSerializer(serializers.Serializer[dict[str, Any]]):
    object = serializers.CharField(default="usage_entries")
    data = UsageRecordSerializer(many=True)  # type: ignore[assignment]  # a wire field, not Serializer.data
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class CapturedExchangeSerializer(serializers.ModelSerializer[CapturedExchange]):
    record = UsageRecordSerializer()

    class Meta:
        model = CapturedExchange
        fields = ["id", "created_at", "prompt", "answer", "record"]


class AuditLogsSerializer(serializers.Serializer[dict[str, Any]]):
    object = serializers.CharField(default="audit_logs")
    data = CapturedExchangeSerializer(many=True)  # type: ignore[assignment]  # a wire field, not Serializer.data
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
