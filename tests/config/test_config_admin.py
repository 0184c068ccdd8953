"""The admin shows what came from the configuration file, read-only: backends, routes, aliases and keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from proxy_app.access.file_keys import sync_file_keys
from proxy_app.core.file_config import load_config
from proxy_app.models import ProxyKey

CONFIG = """
backends:
  local:
    type: openai_compatible
    base_url: http://user:pw@127.0.0.1:9/v1
    keys: [os.environ/LOCAL_KEY]
aliases:
  fast: local:qwen3
routes:
  coding:
    policy: km
    elements: [local:qwen3, openai:gpt-4o]
keys:
  - name: from-file
    key: os.environ/FILE_PROXY_KEY
    rate_limit_rpm: 5
"""
LOCAL_KEY = "sk-local-secret-000000000042"
FILE_PROXY_KEY = "lip-file-key-00000000000077"


@pytest.fixture
def configured(tmp_path: Path, settings: object) -> Client:
    path = tmp_path / "proxy.yaml"
    path.write_text(CONFIG)
    loaded = load_config(path, {"LOCAL_KEY": LOCAL_KEY, "FILE_PROXY_KEY": FILE_PROXY_KEY})
    settings.PROXY_FILE_CONFIG = loaded  # type: ignore[attr-defined]
    settings.PROXY_CONFIG_PATH = str(path)  # type: ignore[attr-defined]
    settings.MODEL_ALIASES = dict(loaded.config.aliases)  # type: ignore[attr-defined]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("cfg-admin", "", "pw-cfg-admin")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_backends_routes_and_aliases_of_the_file_are_listed_read_only(configured: Client) -> None:
    backends = configured.get("/admin/proxy_app/backend/").content.decode()
    row = backends.split('id="environment-backend-local"')[1].split("</tr>")[0]
    assert "configuration file" in row and "openai_chat" in row and "http://127.0.0.1:9/v1" in row
    assert "sk-...0042" in row and LOCAL_KEY not in backends and "user:pw" not in backends
    routes = configured.get("/admin/commands_app/failoverroute/").content.decode()
    assert 'id="config-route-coding"' in routes and "local:qwen3, openai:gpt-4o" in routes
    assert 'id="config-alias-fast"' in routes


@pytest.mark.django_db
def test_the_files_keys_become_rows_that_follow_the_file(configured: Client, settings: object) -> None:
    from django.conf import settings as live

    assert sync_file_keys(live.PROXY_FILE_CONFIG) == 1
    key = ProxyKey.objects.get(name="from-file")
    assert key.from_config_file and key.rate_limit_rpm == 5 and key.key_hint == "lip...0077"
    page = configured.get(f"/admin/proxy_app/proxykey/{key.pk}/change/").content.decode()
    assert 'name="_save"' not in page, "a file key is not edited in the admin"
    assert configured.post(f"/admin/proxy_app/proxykey/{key.pk}/change/", {"name": "renamed"}).status_code == 403
    listing = configured.get("/admin/proxy_app/proxykey/").content.decode()
    assert "from-file" in listing and FILE_PROXY_KEY not in listing
    # The key leaves the file: its row is revoked at the next sync.
    assert sync_file_keys(None) == 0
    key.refresh_from_db()
    assert not key.is_active and key.revoked_at is not None
