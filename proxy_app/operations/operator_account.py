"""The operator's admin account: created at the first start, so a new user can log in to ``/admin/``.

``runproxy`` creates it unattended when the database has no staff user yet: a superuser named
``DJANGO_SUPERUSER_USERNAME`` (default ``admin``) with ``DJANGO_SUPERUSER_PASSWORD``, or with a random
password that is printed once and never stored in clear. Later starts only name the account.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

DEFAULT_USERNAME = "admin"
GENERATED_PASSWORD_BYTES = 12  # 16 URL-safe characters


@dataclass(frozen=True)
class OperatorAccount:
    username: str
    created: bool = False
    generated_password: str | None = None  # set only when just generated: the one time it is shown


def staff_usernames() -> list[str]:
    """Active staff accounts, superusers and the oldest first."""
    user_model = get_user_model()
    rows = user_model.objects.filter(is_staff=True, is_active=True).order_by("-is_superuser", "date_joined", "pk")
    return [str(name) for name in rows.values_list(user_model.USERNAME_FIELD, flat=True)]


def create_operator_account(environ: Mapping[str, str] = os.environ) -> OperatorAccount:
    """A superuser from ``DJANGO_SUPERUSER_USERNAME`` / ``_PASSWORD`` / ``_EMAIL``; without a password
    in the environment, with a generated one. Another process creating the same account first is no
    error: that account is the operator's."""
    username = environ.get("DJANGO_SUPERUSER_USERNAME") or DEFAULT_USERNAME
    password = environ.get("DJANGO_SUPERUSER_PASSWORD") or None
    generated = None if password else secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    try:
        with transaction.atomic():
            get_user_model().objects.create_superuser(username, environ.get("DJANGO_SUPERUSER_EMAIL", ""),
                                                      password or generated)
    except IntegrityError:
        return OperatorAccount(username)
    return OperatorAccount(username, created=True, generated_password=generated)


def ensure_operator_account(environ: Mapping[str, str] = os.environ) -> OperatorAccount:
    """The account to log in with: the configured one if it is staff, else the first staff account,
    else a new one (``create_operator_account``)."""
    existing = staff_usernames()
    if not existing:
        return create_operator_account(environ)
    wanted = environ.get("DJANGO_SUPERUSER_USERNAME")
    return OperatorAccount(wanted if wanted in existing else existing[0])
