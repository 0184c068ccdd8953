"""URL map: the three client protocols, operator endpoints, and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from proxy_app.operations import dashboard

urlpatterns = [
    path("", include("proxy_app.api.urls")),
    path("admin/", include(dashboard.admin_urlpatterns)),  # dashboard, inspector (staff-only)
    path("admin/", admin.site.urls),
    *dashboard.static_urlpatterns,
    path("", include("usage_app.urls")),
]
