"""The identity provider's endpoints for single sign-on: from the settings, else discovered from the issuer.

Discovery (``<OIDC_ISSUER>/.well-known/openid-configuration``) happens lazily, on the first login, logout
or callback that needs an endpoint, within ``OIDC_TIMEOUT`` seconds. A document that was read is kept for
the life of the process; a failure is not, so the next attempt tries again. Rendering the login page, and
serving a logged-in user, never reach the provider.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

DISCOVERY_PATH = "/.well-known/openid-configuration"


class SSOUnavailable(Exception):
    """The provider's endpoints are not known: discovery failed, or a needed setting is missing."""


@dataclass(frozen=True)
class ProviderEndpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str
    end_session: str  # "" when the provider advertises none: logout is then local only


# (setting, discovery document key) for each endpoint; the setting, when set, wins.
_ENDPOINTS = {
    "authorization": ("OIDC_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
    "token": ("OIDC_TOKEN_ENDPOINT", "token_endpoint"),
    "userinfo": ("OIDC_USERINFO_ENDPOINT", "userinfo_endpoint"),
    "jwks": ("OIDC_JWKS_URI", "jwks_uri"),
    "end_session": ("OIDC_END_SESSION_ENDPOINT", "end_session_endpoint"),
}
_REQUIRED = ("authorization", "token", "userinfo", "jwks")

_documents: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def sso_enabled() -> bool:
    """Single sign-on is on when a client is registered and the provider can be found (settings.py)."""
    return bool(settings.OIDC_ENABLED)


def provider_endpoints() -> ProviderEndpoints:
    explicit = {name: str(getattr(settings, setting)) for name, (setting, _) in _ENDPOINTS.items()}
    document = discovery_document(settings.OIDC_ISSUER) if settings.OIDC_ISSUER and not all(explicit.values()) else {}
    found = {name: explicit[name] or str(document.get(key) or "") for name, (_, key) in _ENDPOINTS.items()}
    missing = [_ENDPOINTS[name][0] for name in _REQUIRED if not found[name]]
    if missing:
        raise SSOUnavailable(f"single sign-on needs {', '.join(missing)} (or OIDC_ISSUER, whose discovery "
                             "document names them)")
    return ProviderEndpoints(**found)


def discovery_document(issuer: str) -> dict[str, Any]:
    """The provider's configuration, read once per process (one reader at a time, the others wait)."""
    with _lock:
        if issuer not in _documents:
            _documents[issuer] = _fetch_discovery(issuer)
        return _documents[issuer]


def _fetch_discovery(issuer: str) -> dict[str, Any]:
    url = issuer.rstrip("/") + DISCOVERY_PATH
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SSOUnavailable(f"OpenID Connect discovery from {url} failed: {exc}") from None
    if not isinstance(document, dict):
        raise SSOUnavailable(f"OpenID Connect discovery from {url} returned no JSON object")
    # The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise SSOUnavailable(f"{url} names the issuer {document.get('issuer')!r}, not OIDC_ISSUER {issuer!r}")
    return document
