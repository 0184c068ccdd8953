"""Who is calling: what every layer (and the commands and usage apps) may know of a proxy key."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Principal:
    """Who is calling: a proxy key (never its text), or anonymous when the proxy has no keys."""

    name: str
    key_id: int | None = None
    project: str = ""
    is_admin: bool = False
    can_change_shared_state: bool = True
    allowed_models: tuple[str, ...] = ()
    rate_limit_rpm: int | None = None
    budget_usd: Decimal | None = None
    anonymous: bool = False
    byok_allowed: bool = False  # may send its own provider key with a request (X-Upstream-Api-Key)

    @property
    def owner_label(self) -> str:
        return self.name if self.key_id is None else f"{self.name}#{self.key_id}"


ANONYMOUS = Principal(name="anonymous", is_admin=True, anonymous=True)
