"""Fixtures for the admin pages: staff and non-staff users, logged-in clients, session cookies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client

from tests.admin.chromium import headless_chromium

STAFF_PASSWORD = "staff-password-for-tests-1"


@pytest.fixture
def superuser(transactional_db: None) -> AbstractUser:
    return get_user_model().objects.create_superuser("root", "root@example.com", STAFF_PASSWORD)


@pytest.fixture
def plain_user(transactional_db: None) -> AbstractUser:
    return get_user_model().objects.create_user("plain", "plain@example.com", STAFF_PASSWORD)


@pytest.fixture
def staff_client(superuser: AbstractUser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def session_cookie(user: AbstractUser) -> str:
    """A ``Cookie`` header value for a database session of ``user`` (websocket handshakes)."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """A headless Chromium (Debian's; tests using it carry ``NEEDS_CHROMIUM``)."""
    with headless_chromium(tmp_path / "chromium-profile") as driver:
        yield driver
