"""URL map: the three client protocols, operator endpoints, the status page and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from proxy_app.operations import dashboard, sso, status_page

urlpatterns = [
    path("", include("proxy_app.api.urls")),
    path("", status_page.status_view, name="llmproxy-status"),  # also the admin's "View site"
    path("admin/", include(dashboard.admin_urlpatterns)),  # dashboard, inspector (staff-only)
    path("admin/", include(sso.admin_urlpatterns)),  # login (single sign-on, password switch), logout
    path("admin/", admin.site.urls),
    *dashboard.static_urlpatterns,
    path("", include("usage_app.urls")),
]
