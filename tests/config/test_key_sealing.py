"""Backend keys sealed at rest under a key-encryption key kept outside the database (issue 27, item 1)."""

from __future__ import annotations

import importlib
import io
import json
import stat
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from proxy_app.core.key_sealing import KeyRing, SealingError, is_sealed, kek_id, sealed_kid
from proxy_app.models import BackendKey
from proxy_app.sealed_fields import keyring, sealing_problem
from proxy_app.services import backend_key_set_secret

OLD_KEK = "old-kek-0123456789abcdef0123456789abcdef"
NEW_KEK = "new-kek-fedcba9876543210fedcba9876543210"
SECRET = "sk-sealed-at-rest-backend-key-000000000042"


def stored_values() -> list[str]:
    """The column as the database holds it (what a dump or a stolen file shows)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {BackendKey._meta.db_table}")
        return [row[0] for row in cursor.fetchall()]


def save_key(secret: str = SECRET) -> BackendKey:
    key = BackendKey(backend_name="openai", label="sealed")
    backend_key_set_secret(key=key, secret=secret)
    key.save()
    return key


# -- the sealing itself -------------------------------------------------------------------------------

def test_a_sealed_value_opens_to_its_plaintext_and_names_its_kek() -> None:
    ring = KeyRing.of([NEW_KEK])
    sealed = ring.seal(SECRET)
    assert is_sealed(sealed) and SECRET not in sealed and sealed_kid(sealed) == kek_id(NEW_KEK)
    assert ring.open(sealed) == SECRET
    assert ring.seal(SECRET) != sealed  # a fresh nonce each time: equal keys do not look equal


def test_an_altered_value_or_one_moved_under_another_kek_id_does_not_open() -> None:
    ring = KeyRing.of([NEW_KEK, OLD_KEK])
    sealed = ring.seal(SECRET)
    body = sealed.rpartition(".")[2]
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealingError, match="does not open"):
        ring.open(tampered)
    with pytest.raises(SealingError, match="does not open"):
        ring.open(f"lipk1.{kek_id(OLD_KEK)}.{body}")


def test_a_value_sealed_under_a_kek_the_ring_lacks_is_an_error_naming_the_setting() -> None:
    sealed = KeyRing.of([OLD_KEK]).seal(SECRET)
    with pytest.raises(SealingError, match=f"{kek_id(OLD_KEK)}.*PROXY_KEK does not hold"):
        KeyRing.of([NEW_KEK]).open(sealed)


@pytest.mark.parametrize("keks", [[], [""], ["too-short"]])
def test_an_empty_or_short_kek_is_refused_naming_the_setting(keks: list[str]) -> None:
    with pytest.raises(SealingError, match="PROXY_KEK"):
        KeyRing.of(keks)


def test_without_a_configured_kek_one_is_created_in_a_file_only_its_owner_reads(tmp_path: Path, settings: object
                                                                                 ) -> None:
    settings.PROXY_KEK = []  # type: ignore[attr-defined]
    settings.PROXY_KEK_FILE = str(tmp_path / "state" / ".llm-proxy-kek")  # type: ignore[attr-defined]
    ring = keyring()
    path = Path(settings.PROXY_KEK_FILE)  # type: ignore[attr-defined]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keyring.cache_clear()
    assert keyring().current_kid == ring.current_kid  # the next process finds the same KEK
    assert [p.name for p in path.parent.iterdir()] == [".llm-proxy-kek"]  # no temporary file left behind


# -- in the database ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_database_dump_holds_no_backend_key_but_the_proxy_reads_it() -> None:
    save_key()
    (value,) = stored_values()
    assert is_sealed(value) and SECRET not in value
    dump = io.StringIO()
    call_command("dumpdata", "proxy_app", stdout=dump)
    assert SECRET not in dump.getvalue() and '"secret": "lipk1.' in dump.getvalue()
    assert BackendKey.objects.get().secret == SECRET


@pytest.mark.django_db
def test_a_dump_loads_back_into_a_proxy_with_the_same_kek() -> None:
    save_key()
    dump = io.StringIO()
    call_command("dumpdata", "proxy_app.BackendKey", stdout=dump)
    BackendKey.objects.all().delete()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stdin", io.StringIO(dump.getvalue()))
        call_command("loaddata", "-", format="json", verbosity=0)
    assert BackendKey.objects.get().secret == SECRET
    assert SECRET not in stored_values()[0]


@pytest.mark.django_db
def test_rows_from_before_sealing_are_sealed_by_the_migration() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BackendKey._meta.db_table} (backend_name, label, secret, key_hint, is_enabled, "
                       "created_at) VALUES (%s, %s, %s, %s, %s, CURRENT_TIMESTAMP)",
                       ["openai", "legacy", SECRET, "sk-...0042", True])
    migration = importlib.import_module("proxy_app.migrations.0004_backend_key_sealed")
    migration.seal_rows(apps, connection.schema_editor())
    (value,) = stored_values()
    assert is_sealed(value) and BackendKey.objects.get().secret == SECRET


@pytest.mark.django_db
def test_rotate_kek_reseals_every_key_with_the_new_kek_and_the_old_one_can_go(settings: object) -> None:
    settings.PROXY_KEK = [OLD_KEK]  # type: ignore[attr-defined]
    save_key()
    save_key("sk-second-sealed-backend-key-00000000043")
    settings.PROXY_KEK = [NEW_KEK, OLD_KEK]  # type: ignore[attr-defined]
    assert {sealed_kid(v) for v in stored_values()} == {kek_id(OLD_KEK)}
    out = io.StringIO()
    call_command("rotate_kek", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result == {"kek": kek_id(NEW_KEK), "resealed": 2, "already_sealed": 0, "removable_keks": [kek_id(OLD_KEK)]}
    assert {sealed_kid(v) for v in stored_values()} == {kek_id(NEW_KEK)}
    settings.PROXY_KEK = [NEW_KEK]  # type: ignore[attr-defined]
    assert sorted(k.secret for k in BackendKey.objects.all()) == sorted([SECRET, "sk-second-sealed-backend-key-00000000043"])
    assert sealing_problem() is None


@pytest.mark.django_db
def test_a_missing_kek_is_a_clear_error_not_a_silent_fallback(settings: object) -> None:
    settings.PROXY_KEK = [OLD_KEK]  # type: ignore[attr-defined]
    save_key()
    settings.PROXY_KEK = [NEW_KEK]  # type: ignore[attr-defined]
    problem = sealing_problem()
    assert problem is not None and kek_id(OLD_KEK) in problem and "PROXY_KEK" in problem
    with pytest.raises(CommandError, match="PROXY_KEK does not hold") as raised:
        call_command("rotate_kek")
    assert raised.value.returncode == 1
