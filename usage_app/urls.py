"""Operator routes: usage API, audit log, metrics, and the OpenAPI schema with its offline docs page."""

from __future__ import annotations

from pathlib import Path

import drf_spectacular_sidecar
from django.urls import path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from usage_app import metrics, views
from usage_app.authentication import ProxyKeyAuthentication

SIDECAR_STATIC = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"

# The schema and its pages: for a proxy key, or an operator logged in to the admin (a browser opening the docs).
KEY_OR_ADMIN_SESSION = {"authentication_classes": [ProxyKeyAuthentication, SessionAuthentication],
                        "permission_classes": [IsAuthenticated]}

urlpatterns = [
    path("usage/stats", views.UsageStatsView.as_view(), name="usage-stats"),
    path("usage/recent", views.UsageRecentView.as_view(), name="usage-recent"),
    path("audit/logs", views.AuditLogsView.as_view(), name="audit-logs"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(**KEY_OR_ADMIN_SESSION), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema", **KEY_OR_ADMIN_SESSION), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", **KEY_OR_ADMIN_SESSION), name="api-redoc"),
    # Swagger UI / Redoc files from drf-spectacular-sidecar: the docs page works offline, without collectstatic.
    re_path(r"^api/docs/assets/(?P<path>.+)$", serve, {"document_root": SIDECAR_STATIC}, name="api-docs-assets"),
]
