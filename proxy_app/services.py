"""Write services for proxy keys and backend keys, shared by the admin and management commands."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from proxy_app.core.secrets import generate_proxy_key, hash_key, mask_secret
from proxy_app.models import BackendKey, ProxyKey


def proxy_key_create(
    *, name: str, project: str = "", is_admin: bool = False, can_change_shared_state: bool = True,
    allowed_models: list[str] | None = None, rate_limit_rpm: int | None = None, budget_usd: Decimal | None = None,
    byok_allowed: bool = False,
) -> tuple[ProxyKey, str]:
    """Create a proxy key; returns the row and the key text, which is shown once and never stored."""
    plaintext = generate_proxy_key()
    key = ProxyKey.objects.create(
        name=name, key_hash=hash_key(plaintext), key_hint=mask_secret(plaintext), project=project,
        is_admin=is_admin, can_change_shared_state=can_change_shared_state, allowed_models=allowed_models or [],
        rate_limit_rpm=rate_limit_rpm, budget_usd=budget_usd, byok_allowed=byok_allowed,
    )
    return key, plaintext


def proxy_key_revoke(*, key: ProxyKey) -> None:
    key.is_active = False
    key.revoked_at = timezone.now()
    key.save(update_fields=["is_active", "revoked_at"])


def backend_key_set_secret(*, key: BackendKey, secret: str) -> None:
    """Store a backend key's secret with its masked hint (the admin never shows the secret again)."""
    key.secret = secret.strip()
    key.key_hint = mask_secret(key.secret)
