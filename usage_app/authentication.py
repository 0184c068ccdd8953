"""DRF authentication by proxy key, through ``proxy_app.access.auth`` (the same keys clients use)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from proxy_app.access.auth import authenticate, extract_token
from proxy_app.core.principal import Principal

INVALID_KEY = "invalid proxy API key"


@dataclass(frozen=True)
class ProxyKeyUser:
    """``request.user`` for the operator API: the calling proxy key's principal."""

    principal: Principal
    is_authenticated: bool = True

    @property
    def sees_everything(self) -> bool:
        return self.principal.is_admin or self.principal.anonymous

    @property
    def key_scope(self) -> int | None:
        """The proxy key id whose records this caller may see, or None for all records."""
        return None if self.sees_everything else self.principal.key_id


class ProxyKeyAuthentication(authentication.BaseAuthentication):
    """Bearer / x-api-key / ?key= proxy keys; with no keys configured the proxy is open (loopback only)."""

    def authenticate(self, request: Request) -> tuple[ProxyKeyUser, None] | None:
        django_request = request._request
        principal = async_to_sync(authenticate)(django_request)
        if principal is None:
            if extract_token(django_request):
                raise exceptions.AuthenticationFailed(INVALID_KEY)
            return None  # the permission check answers 401 with WWW-Authenticate
        return ProxyKeyUser(principal), None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="llm-interactive-proxy"'


class ProxyKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "usage_app.authentication.ProxyKeyAuthentication"
    name = "proxyKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A proxy API key (the one clients use)."}
