"""The model field that keeps backend keys sealed in the database, and the KEK ring it uses.

Python code sees plaintext (``BackendKey.secret`` opens on load); the database, ``dumpdata`` and any
raw SQL see only ``lipk1.…`` values (``proxy_app/core/key_sealing.py``). The KEKs come from
``PROXY_KEK`` (comma-separated, the first seals), else ``PROXY_KEK_FILE`` (one KEK per line), else a
file the proxy creates on first use beside its other state (the embedded default needs no set-up; a
database dump alone still reveals nothing, the file being outside the database).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, models

from proxy_app.core.key_sealing import KeyRing, is_sealed, new_kek


@functools.cache
def keyring() -> KeyRing:
    """The configured KEKs (read once per process; a bad setting raises ``SealingError`` naming it)."""
    if settings.PROXY_KEK:
        return KeyRing.of(settings.PROXY_KEK, "PROXY_KEK")
    path = Path(settings.PROXY_KEK_FILE)
    if not path.exists():
        _create_kek_file(path)
    return KeyRing.of(path.read_text().splitlines(), f"PROXY_KEK_FILE ({path})")


def _create_kek_file(path: Path) -> None:
    """A new KEK file, readable by its owner only; created atomically so that workers starting
    together all end up with the one that won (``os.link`` fails when the file exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".kek-")
    try:
        os.write(fd, (new_kek() + "\n").encode())
        os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temp)


def _forget_keyring(*, setting: str, **_: Any) -> None:
    if setting in ("PROXY_KEK", "PROXY_KEK_FILE"):
        keyring.cache_clear()


setting_changed.connect(_forget_keyring, dispatch_uid="proxy-app-forget-keyring")


class SealedTextField(models.TextField):
    """A text column stored sealed; a plaintext value (a row from before sealing) loads as it is and is
    sealed the next time it is saved (migration 0004 does that for every row)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else keyring().open(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "" or is_sealed(value):
            return value
        return keyring().seal(value)

    def get_lookup(self, lookup_name: str) -> Any:
        """Only ``isnull``: a sealed value differs at every sealing, so ``secret=…`` would silently match
        nothing; Django says "unsupported lookup" instead."""
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def value_to_string(self, obj: models.Model) -> str:
        """What ``dumpdata`` writes: the sealed form, never the plaintext."""
        value = self.value_from_object(obj)
        return "" if value is None else self.get_prep_value(value)


def sealing_problem() -> str | None:
    """Why the stored backend keys cannot be opened with the configured KEKs (one line), or None.
    Run at start-up: a proxy that cannot read its keys says so before it serves anything."""
    from proxy_app.core.key_sealing import SealingError
    from proxy_app.models import BackendKey

    try:
        for _ in BackendKey.objects.only("secret").iterator():
            pass
    except SealingError as exc:
        return str(exc)
    except DatabaseError:  # no table yet (runproxy --no-migrate): no stored key to open
        return None
    return None
