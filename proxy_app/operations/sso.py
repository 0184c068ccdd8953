"""The admin's login and logout with single sign-on (OpenID Connect), and the switch for password logins.

``/admin/login/`` is the admin's own page, with a "Log in with <provider>" button when single sign-on is
configured and without the password form when ``ADMIN_PASSWORD_LOGIN`` is off (password logins are then
refused: the settings leave Django's password backend out). ``/admin/sso/start/`` sends the browser to
the provider, ``/admin/sso/callback/`` receives it back and lands the user on the dashboard (or the page
they came for). ``/admin/logout/`` logs out here and, for a user who came through the provider and when
the provider advertises an ``end_session_endpoint``, there too.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import admin, auth, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from proxy_app.operations.sso_backend import SSO_BACKEND, oidc_setting
from proxy_app.operations.sso_provider import SSOUnavailable, provider_endpoints, sso_enabled

logger = logging.getLogger("llmproxy.sso")

PASSWORD_LOGIN_OFF = "Password login is switched off on this proxy (ADMIN_PASSWORD_LOGIN=false): use single sign-on."
SSO_UNREACHABLE = ("Single sign-on is not available right now: the identity provider could not be reached or did "
                   "not accept this proxy's request (the server log says which).")
SSO_FAILED = "Single sign-on did not complete. Please try again."


class _StartView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)


class _CallbackView(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(oidc_setting)

    def login_failure(self) -> HttpResponse:
        if not len(messages.get_messages(self.request)):  # unless the backend already said why
            messages.error(self.request, SSO_FAILED)
        return super().login_failure()


_start = _StartView.as_view()
_callback = _CallbackView.as_view()


def admin_login(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not settings.ADMIN_PASSWORD_LOGIN:
        return HttpResponseForbidden(PASSWORD_LOGIN_OFF)
    return admin.site.login(request, extra_context=login_context(request))


def login_context(request: HttpRequest) -> dict[str, Any]:
    """What ``templates/admin/login.html`` adds to the admin's login page."""
    context: dict[str, Any] = {"password_login": settings.ADMIN_PASSWORD_LOGIN}
    if sso_enabled():
        start = reverse("llmproxy-sso-start")
        next_url = request.GET.get("next", "")  # checked by the start view before it is followed
        context["sso_login_url"] = f"{start}?{urlencode({'next': next_url})}" if next_url else start
        context["sso_provider_name"] = settings.OIDC_PROVIDER_NAME
    return context


def sso_start(request: HttpRequest) -> HttpResponse:
    if not sso_enabled():
        raise Http404("single sign-on is not configured")
    try:
        return _start(request)
    except SSOUnavailable as exc:
        return _back_to_login(request, exc)


def sso_callback(request: HttpRequest) -> HttpResponse:
    if not sso_enabled():
        raise Http404("single sign-on is not configured")
    try:
        return _callback(request)
    except (SSOUnavailable, requests.RequestException) as exc:
        return _back_to_login(request, exc)


def _back_to_login(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("single sign-on failed: %s", exc)
    messages.error(request, SSO_UNREACHABLE)
    return HttpResponseRedirect(reverse("admin:login"))


@require_POST
def admin_logout(request: HttpRequest) -> HttpResponse:
    if request.session.get(auth.BACKEND_SESSION_KEY) != SSO_BACKEND:
        return admin.site.logout(request)
    provider_logout = end_session_url(request)  # read before the session, which holds the ID token, is gone
    auth.logout(request)
    return HttpResponseRedirect(provider_logout or reverse("admin:login"))


def end_session_url(request: HttpRequest) -> str:
    """The provider's RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), back to the login page
    afterwards; "" when the provider advertises none or cannot be reached (the logout is then local)."""
    try:
        endpoint = provider_endpoints().end_session
    except SSOUnavailable as exc:
        logger.warning("logging out locally only: %s", exc)
        return ""
    if not endpoint:
        return ""
    params = {"client_id": settings.OIDC_CLIENT_ID,
              "post_logout_redirect_uri": request.build_absolute_uri(reverse("admin:login"))}
    if id_token := request.session.get("oidc_id_token"):
        params["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


# Mounted under admin/ before the admin's own URLs, so its login and logout are these.
admin_urlpatterns = [
    path("login/", admin_login, name="llmproxy-login"),
    path("logout/", admin_logout, name="llmproxy-logout"),
    path("sso/start/", sso_start, name="llmproxy-sso-start"),
    path("sso/callback/", sso_callback, name="llmproxy-sso-callback"),
]
