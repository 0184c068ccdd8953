"""The database fails while the proxy reloads its proxy keys or a key's spend: clients are still checked
against what was loaded before, and the outage is logged once, not per request."""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import RequestFactory

from proxy_app.access import auth, limits
from proxy_app.core.canonical import ProxyError
from proxy_app.core.principal import Principal
from proxy_app.models import ProxyKey
from proxy_app.services import proxy_key_create


def break_table(table: str) -> None:
    """``table`` unreadable, as during an outage (renamed, and renamed back by the test)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")


def restore_table(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table}_gone RENAME TO {table}")


def who(key: str) -> str | None:
    principal = async_to_sync(auth.authenticate)(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    return None if principal is None else principal.name


def expire_directory() -> None:
    assert auth._directory is not None
    auth._directory.loaded_at = time.monotonic() - auth.DIRECTORY_TTL_SECONDS - 1


def test_the_keys_loaded_before_keep_serving_while_the_database_cannot_be_read(
        transactional_db: None, caplog: pytest.LogCaptureFixture) -> None:
    auth.invalidate_directory()
    _, key = proxy_key_create(name="alice")
    assert who(key) == "alice"
    table = ProxyKey._meta.db_table
    break_table(table)
    try:
        with caplog.at_level(logging.WARNING, logger="llmproxy.auth"):
            for _ in range(3):
                expire_directory()
                assert who(key) == "alice", "a stored key still works during the outage"
            assert who("lip-not-a-key-000000000000000000000") is None
        warnings = [r.getMessage() for r in caplog.records if r.name == "llmproxy.auth"]
        assert len(warnings) == 1 and "the database (proxy keys) unreachable" in warnings[0], warnings
    finally:
        restore_table(table)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="llmproxy.auth"):
        expire_directory()
        assert who(key) == "alice"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    auth.invalidate_directory()


def test_a_budgeted_key_keeps_its_last_known_spend_while_the_database_cannot_be_read(transactional_db: None, settings: object
                                                                                    ) -> None:
    from django.utils import timezone

    from usage_app.models import UsageRecord

    settings.PROXY_KEY_SPEND_REFRESH_SECONDS = 0  # type: ignore[attr-defined]
    row, _ = proxy_key_create(name="spender", budget_usd=Decimal("0.50"))
    UsageRecord.objects.create(proxy_key_id=row.pk, cost_usd=Decimal("0.75"), status=200, created_at=timezone.now())
    limits._spend.clear()
    spender = Principal(name="spender", key_id=row.pk, budget_usd=Decimal("0.50"))
    with pytest.raises(ProxyError, match="budget of"):
        async_to_sync(limits.limits_check)(spender)
    table = UsageRecord._meta.db_table
    break_table(table)
    try:
        with pytest.raises(ProxyError, match=r"budget of \$0.50 \(spent \$0.7500\)"):
            async_to_sync(limits.limits_check)(spender)  # the last known spend, not a 500 and not zero
    finally:
        restore_table(table)
    limits._spend.clear()
