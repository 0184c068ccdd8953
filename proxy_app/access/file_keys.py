"""The configuration file's proxy keys, kept as ``ProxyKey`` rows so limits, budgets and sessions
work for them as for keys made in the admin (only their hash is stored, as for every key)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from proxy_app.core.file_config import KeyConfig, LoadedConfig
from proxy_app.core.secrets import hash_key, mask_secret
from proxy_app.models import ProxyKey

logger = logging.getLogger("llmproxy.auth")


def _keys_of(loaded: LoadedConfig | None) -> list[tuple[KeyConfig, str]]:
    return [(key, loaded.secret(key.key)) for key in loaded.config.keys] if loaded is not None else []


def sync_file_keys(loaded: LoadedConfig | None) -> int:
    """Create or update a row per key of the file and revoke the rows of keys it no longer lists;
    the number of keys the file defines."""
    wanted: dict[str, dict[str, Any]] = {}
    for key, secret in _keys_of(loaded):
        wanted[hash_key(secret)] = {
            "name": key.name, "key_hint": mask_secret(secret), "project": key.project, "is_admin": key.admin,
            "can_change_shared_state": key.can_change_shared_state, "allowed_models": list(key.allowed_models),
            "rate_limit_rpm": key.rate_limit_rpm, "budget_usd": key.budget_usd, "is_active": True,
            "revoked_at": None, "from_config_file": True,
        }
    with transaction.atomic():
        for key_hash, fields in wanted.items():
            ProxyKey.objects.update_or_create(key_hash=key_hash, defaults=fields)
        gone = ProxyKey.objects.filter(from_config_file=True, is_active=True).exclude(key_hash__in=wanted)
        if revoked := gone.update(is_active=False, revoked_at=timezone.now()):
            logger.info("%d proxy key(s) no longer in the configuration file revoked", revoked)
    return len(wanted)
