"""Operator API: ``/usage/stats``, ``/usage/recent`` and ``/audit/logs``, authenticated by proxy key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from usage_app.authentication import ProxyKeyAuthentication, ProxyKeyUser
from usage_app.models import CapturedExchange, UsageRecord
from usage_app.serializers import (
    AuditLogsSerializer,
    AuditQuerySerializer,
    CapturedExchangeSerializer,
    ErrorDetailSerializer,
    RecentQuerySerializer,
    StatsEnvelopeSerializer,
    StatsQuerySerializer,
    UsageEntriesSerializer,
    UsageRecordSerializer,
)
from usage_app.stats import StatsFilter, usage_stats

CAPTURE_OFF = "body capture is off; set USAGE_CAPTURE_BODIES=true to record prompts and answers"

# The error answers every operator endpoint documents besides its 200 (DRF's own shapes).
ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid parameters: a list of messages per parameter"),
    401: OpenApiResponse(ErrorDetailSerializer, description="No or an invalid proxy key"),
}
NOT_FOUND = {404: OpenApiResponse(ErrorDetailSerializer, description="An invalid cursor")}


class OperatorAPIView(APIView):
    authentication_classes = [ProxyKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @property
    def caller(self) -> ProxyKeyUser:
        return self.request.user  # type: ignore[return-value]


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000

    def envelope(self, kind: str, data: Any) -> Response:
        return Response({"object": kind, "data": data, "next": self.get_next_link(),
                         "previous": self.get_previous_link()})


class UsageStatsView(OperatorAPIView):
    @extend_schema(parameters=[StatsQuerySerializer], responses={200: StatsEnvelopeSerializer, **ERRORS},
                   summary="Totals and a breakdown of requests, errors, tokens, cost and latency")
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        p = query.validated_data
        data = usage_stats(StatsFilter(
            since=p["since"], until=p["until"], project=p.get("project"), backend=p.get("backend"),
            model=p.get("model"), user=p.get("user", p.get("username")), key_id=self.caller.key_scope,
            group_by=p.get("group_by"),
        ))
        return Response({"object": "usage_stats", "data": data})


def _scoped(qs: QuerySet[Any], caller: ProxyKeyUser, key_field: str) -> QuerySet[Any]:
    scope = caller.key_scope
    return qs if scope is None else qs.filter(**{key_field: scope})


class UsageRecentView(OperatorAPIView):
    @extend_schema(parameters=[RecentQuerySerializer], responses={200: UsageEntriesSerializer, **ERRORS, **NOT_FOUND},
                   summary="The newest usage records, newest first, with cursor pagination")
    def get(self, request: Request) -> Response:
        query = RecentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = _scoped(UsageRecord.objects.all(), self.caller, "proxy_key_id")
        if project := query.validated_data.get("project"):
            qs = qs.filter(project=project)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        return paginator.envelope("usage_entries", UsageRecordSerializer(page, many=True).data)


class AuditLogsView(OperatorAPIView):
    @extend_schema(
        parameters=[AuditQuerySerializer],
        responses={200: AuditLogsSerializer, **ERRORS,
                   404: OpenApiResponse(ErrorDetailSerializer, description="Body capture is off, or an invalid cursor")},
        summary="Captured prompts and answers (only with USAGE_CAPTURE_BODIES=true)",
    )
    def get(self, request: Request) -> Response:
        if not settings.USAGE_CAPTURE_BODIES:
            raise exceptions.NotFound(CAPTURE_OFF)
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        qs = _scoped(CapturedExchange.objects.select_related("record"), self.caller, "record__proxy_key_id")
        for name in ("project", "backend", "model"):
            if value := query.validated_data.get(name):
                qs = qs.filter(**{f"record__{name}": value})
        paginator = NewestFirst()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        return paginator.envelope("audit_logs", CapturedExchangeSerializer(page, many=True).data)
