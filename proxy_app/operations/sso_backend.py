"""Who may log in through single sign-on, and as what: staff or superuser from the provider's groups.

The authentication backend is mozilla-django-oidc's (authorization code flow with PKCE, state and nonce,
the ID token verified against the provider's JWKS); this module gives it the project's settings and
decides from the claims. A user is matched to an existing account by e-mail, or created with the e-mail
as username and no password; every login sets ``is_staff`` / ``is_superuser`` from the groups anew, so
a change at the provider takes effect at the user's next login. Someone in none of the allowed groups is
refused: no account is created or changed and no session is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from proxy_app.operations.sso_provider import provider_endpoints

logger = logging.getLogger("llmproxy.sso")

SSO_BACKEND = "proxy_app.operations.sso_backend.GroupMappedOIDCBackend"
NOT_IN_ALLOWED_GROUPS = ("Your account at the identity provider is not in a group allowed to use this proxy's "
                         "admin. Ask the administrator to add you to one.")
NO_VERIFIED_EMAIL = "The identity provider gave no verified e-mail address for your account, so you cannot log in."


@dataclass(frozen=True)
class AdminRole:
    is_staff: bool
    is_superuser: bool


def sso_groups(claims: dict[str, Any]) -> set[str]:
    """The groups the ``OIDC_GROUPS_CLAIM`` claim names (a dotted name reaches into nested claims, as in
    Keycloak's ``realm_access.roles``); a single string is one group."""
    value: Any = claims
    for part in settings.OIDC_GROUPS_CLAIM.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return {value}
    return {str(group) for group in value} if isinstance(value, list) else set()


def sso_role_for(claims: dict[str, Any]) -> AdminRole | None:
    """Superuser for a member of ``OIDC_SUPERUSER_GROUPS``, staff for ``OIDC_STAFF_GROUPS``, else no access."""
    groups = sso_groups(claims)
    if groups & set(settings.OIDC_SUPERUSER_GROUPS):
        return AdminRole(is_staff=True, is_superuser=True)
    if groups & set(settings.OIDC_STAFF_GROUPS):
        return AdminRole(is_staff=True, is_superuser=False)
    return None


# mozilla-django-oidc's setting names, answered from this project's settings and the provider's endpoints.
_LIBRARY_SETTINGS: dict[str, Callable[[], Any]] = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": lambda: provider_endpoints().authorization,
    "OIDC_OP_TOKEN_ENDPOINT": lambda: provider_endpoints().token,
    "OIDC_OP_USER_ENDPOINT": lambda: provider_endpoints().userinfo,
    "OIDC_OP_JWKS_ENDPOINT": lambda: provider_endpoints().jwks,
    "OIDC_RP_CLIENT_ID": lambda: settings.OIDC_CLIENT_ID,
    "OIDC_RP_CLIENT_SECRET": lambda: settings.OIDC_CLIENT_SECRET,
    "OIDC_RP_SIGN_ALGO": lambda: settings.OIDC_SIGN_ALGO,
    "OIDC_RP_IDP_SIGN_KEY": lambda: None,  # the key comes from the provider's JWKS
    "OIDC_RP_SCOPES": lambda: settings.OIDC_SCOPES,
    "OIDC_TIMEOUT": lambda: settings.OIDC_TIMEOUT,
    "OIDC_USE_PKCE": lambda: True,
    "OIDC_STORE_ID_TOKEN": lambda: True,  # the id_token_hint of the provider's logout
    "OIDC_AUTHENTICATION_CALLBACK_URL": lambda: "llmproxy-sso-callback",
    "LOGIN_REDIRECT_URL": lambda: "llmproxy-dashboard",
    "LOGIN_REDIRECT_URL_FAILURE": lambda: reverse("admin:login"),
}


def oidc_setting(name: str, *default: Any) -> Any:
    """The library's ``get_settings``: its own names mapped to ours, any other read from Django's settings."""
    if name in _LIBRARY_SETTINGS:
        return _LIBRARY_SETTINGS[name]()
    return import_from_settings(name, *default)


def _library_setting(name: str) -> property:
    return property(lambda _backend: oidc_setting(name))


class GroupMappedOIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def __init__(self) -> None:
        # The library reads the endpoints here, but Django builds a backend for every request of a logged-in
        # user: they are read (and discovered) only when a login needs them, through the properties below.
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = _library_setting("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = _library_setting("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = _library_setting("OIDC_OP_JWKS_ENDPOINT")
    OIDC_RP_CLIENT_ID = _library_setting("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = _library_setting("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = _library_setting("OIDC_RP_SIGN_ALGO")
    OIDC_RP_IDP_SIGN_KEY = _library_setting("OIDC_RP_IDP_SIGN_KEY")

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The verified ID token's claims, completed by the userinfo endpoint's (some providers put the
        groups in only one of them)."""
        return {**payload, **super().get_userinfo(access_token, id_token, payload)}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        who = claims.get("email") or claims.get("sub")
        if not claims.get("email") or claims.get("email_verified") is False:
            logger.warning("single sign-on refused for %s: no verified e-mail address", who)
            messages.error(self.request, NO_VERIFIED_EMAIL)
            return False
        if sso_role_for(claims) is None:
            logger.warning("single sign-on refused for %s: in none of the allowed groups", who)
            messages.error(self.request, NOT_IN_ALLOWED_GROUPS)
            return False
        return True

    def create_user(self, claims: dict[str, Any]) -> AbstractBaseUser:
        user = self.UserModel.objects.create_user(claims["email"], email=claims["email"])
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> AbstractBaseUser:
        role = sso_role_for(claims)
        assert role is not None  # verify_claims refused everyone else
        user.is_staff, user.is_superuser = role.is_staff, role.is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])
        logger.info("single sign-on: %s logged in as %s", user.get_username(),
                    "superuser" if role.is_superuser else "staff")
        return user
