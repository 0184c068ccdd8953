"""Proxy-key authentication from an in-memory directory (no database query per request)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest

from proxy_app.access.file_keys import sync_file_keys
from proxy_app.core.principal import ANONYMOUS, Principal
from proxy_app.core.secrets import hash_key
from proxy_app.models import ProxyKey

logger = logging.getLogger("llmproxy.auth")

# Reload at least this often so keys created by another process are seen.
DIRECTORY_TTL_SECONDS = 30.0


@dataclass
class KeyDirectory:
    by_hash: dict[str, Principal] = field(default_factory=dict)
    loaded_at: float = 0.0

    @property
    def has_keys(self) -> bool:
        return bool(self.by_hash)


_file_keys_synced = False


def _load_directory() -> KeyDirectory:
    global _file_keys_synced
    directory = KeyDirectory(loaded_at=time.monotonic())
    if not _file_keys_synced:
        try:
            sync_file_keys(settings.PROXY_FILE_CONFIG)
            _file_keys_synced = True
        except Exception:  # before migrate: tried again at the next load
            logger.debug("configuration file keys not synced", exc_info=True)
    try:
        rows = list(ProxyKey.objects.filter(is_active=True, revoked_at__isnull=True))
    except Exception:  # before migrate: only the environment key
        rows = []
    for row in rows:
        directory.by_hash[row.key_hash] = Principal(
            name=row.name,
            key_id=row.pk,
            project=row.project,
            is_admin=row.is_admin,
            can_change_shared_state=row.can_change_shared_state,
            allowed_models=tuple(row.allowed_models or ()),
            rate_limit_rpm=row.rate_limit_rpm,
            budget_usd=row.budget_usd,
        )
    env_key = settings.LLM_INTERACTIVE_PROXY_API_KEY
    if env_key:
        directory.by_hash[hash_key(env_key)] = Principal(name="env-key", is_admin=True)
    return directory


_directory: KeyDirectory | None = None


async def get_directory() -> KeyDirectory:
    global _directory
    if _directory is None or time.monotonic() - _directory.loaded_at > DIRECTORY_TTL_SECONDS:
        _directory = await sync_to_async(_load_directory, thread_sensitive=True)()
    return _directory


def invalidate_directory() -> None:
    global _directory
    _directory = None


def extract_token(request: HttpRequest) -> str | None:
    """The key as any of the three protocols sends it: Bearer, x-api-key, x-goog-api-key or ?key=."""
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.headers.get("x-goog-api-key") or request.GET.get("key")


async def authenticate(request: HttpRequest) -> Principal | None:
    """The caller's principal, or None when a key is required and missing or wrong."""
    directory = await get_directory()
    if not directory.has_keys:
        return ANONYMOUS
    token = extract_token(request)
    if not token:
        return None
    # Looking up the SHA-256 of a random key leaks nothing useful through timing.
    return directory.by_hash.get(hash_key(token))
