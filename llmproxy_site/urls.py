"""URL map: the three client protocols, operator endpoints, and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("proxy_app.urls")),
    path("admin/", admin.site.urls),
    path("", include("usage_app.urls")),
]
