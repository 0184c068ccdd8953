"""Fixtures for the usage tests: a clean usage table in front of the live proxy."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Proxy
from usage_app import recorder
from usage_app.models import RollupState, UsageRecord, UsageRollup


@pytest.fixture
def usage_proxy(proxy: Proxy) -> Iterator[Proxy]:
    """The live proxy with no usage rows left over from earlier tests."""
    recorder.flush(10)
    UsageRecord.objects.all().delete()
    UsageRollup.objects.all().delete()
    RollupState.objects.all().delete()
    yield proxy
    recorder.flush(10)


def operator_get(proxy: Proxy, path: str, key: str | None = None, **params: object) -> httpx.Response:
    return httpx.get(f"{proxy.url}{path}", params=params, headers={"Authorization": f"Bearer {key or proxy.key}"},
                     timeout=30)
