"""Proxy-key authentication from an in-memory directory (no database query per request)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest

from proxy_app.access.file_keys import sync_file_keys
from proxy_app.core.outage import Outage
from proxy_app.core.principal import ANONYMOUS, Principal
from proxy_app.core.secrets import hash_key
from proxy_app.models import ProxyKey

logger = logging.getLogger("llmproxy.auth")

# Reload at least this often so keys created by another process are seen.
DIRECTORY_TTL_SECONDS = 30.0
DIRECTORY_RETRY_SECONDS = 5.0  # while the database is unreachable
_database = Outage("the database (proxy keys)", logger)


@dataclass
class KeyDirectory:
    by_hash: dict[str, Principal] = field(default_factory=dict)
    loaded_at: float = 0.0
    complete: bool = True  # False: the database's keys could not be read (not migrated, or unreachable)
    error: DatabaseError | None = None

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
    except DatabaseError as exc:  # before migrate, or the database is down: only the environment key
        close_old_connections()  # a broken connection is opened afresh at the next load
        directory.complete, directory.error = False, exc
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
            byok_allowed=row.byok_allowed,
        )
    env_key = settings.LLM_INTERACTIVE_PROXY_API_KEY
    if env_key:
        directory.by_hash[hash_key(env_key)] = Principal(name="env-key", is_admin=True,
                                                         byok_allowed=settings.BYOK_ALLOW_ENV_KEY)
    return directory


_directory: KeyDirectory | None = None


async def get_directory() -> KeyDirectory:
    """The keys, reloaded every ``DIRECTORY_TTL_SECONDS``. When the database cannot be read, the keys
    loaded before keep serving (an outage must not turn every client away) until it can again."""
    global _directory
    if _directory is None or time.monotonic() - _directory.loaded_at > DIRECTORY_TTL_SECONDS:
        loaded = await sync_to_async(_load_directory, thread_sensitive=True)()
        if loaded.complete:
            _database.recovered()
        elif _directory is not None and _directory.complete:
            _database.failed(loaded.error or DatabaseError(), "clients are checked against the keys loaded before")
            _directory.loaded_at = time.monotonic() - DIRECTORY_TTL_SECONDS + DIRECTORY_RETRY_SECONDS
            return _directory
        _directory = loaded
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
    """The caller's principal, or None when a key is required and missing or wrong.

    Constant time where it matters: the presented key is never compared with a stored one. It is
    hashed (SHA-256, the same time for every key of a length) and the digest looked up in a dict;
    what the lookup's timing could reveal is how a digest of the attacker's choosing relates to
    the stored digests, and learning a digest does not give a key (a preimage of SHA-256 of a
    random 256-bit key). The stored hashes are not keys either: presenting one hashes it again."""
    directory = await get_directory()
    if not directory.has_keys:
        return ANONYMOUS
    token = extract_token(request)
    if not token:
        return None
    return directory.by_hash.get(hash_key(token))
