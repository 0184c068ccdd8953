"""Bring your own key: a client sends its own provider key with a request, for that request only.

One header for every protocol (the SDKs all take extra headers): ``X-Upstream-Api-Key``. Allowed per
proxy key (the admin's "may bring its own provider key"; ``BYOK_ALLOW_ENV_KEY`` for the environment's
key and open access). The key is never stored, logged, cached or shown: it lives in the request's
route (``pipeline.with_client_key``) and in the prompt redaction's list, and usage rows say only that
the request brought one.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from proxy_app.core import canonical as c
from proxy_app.core.principal import Principal

HEADER = "x-upstream-api-key"


def client_upstream_key(request: HttpRequest, principal: Principal) -> str | None:
    """The provider key the client sent for this request, if any; a ``ProxyError`` (403) when its proxy
    key may not bring one."""
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        return None
    if not (principal.byok_allowed or (principal.anonymous and settings.BYOK_ALLOW_ENV_KEY)):
        raise c.ProxyError("this proxy key may not bring its own provider key (X-Upstream-Api-Key)",
                           kind="permission", code="byok_not_allowed")
    return key
