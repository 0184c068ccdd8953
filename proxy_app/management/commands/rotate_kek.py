"""``manage.py rotate_kek``: re-seal every backend key with the first key-encryption key of PROXY_KEK."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import connection, transaction

from llmproxy_site.operator_command import OperatorCommand, failed
from proxy_app.core.key_sealing import SealingError, new_kek, sealed_kid
from proxy_app.models import BackendKey
from proxy_app.sealed_fields import keyring


class Command(OperatorCommand):
    help = ("Re-seal every backend key stored in the database with the first key-encryption key of PROXY_KEK "
            "(or PROXY_KEK_FILE). To rotate: put a new KEK in front (PROXY_KEK=new,old), run this, then drop the "
            "old one. Exit status 1 when a stored key is sealed with a KEK that is not configured.")
    examples = """
        %(prog)s --generate
        PROXY_KEK=<new>,<old> %(prog)s
    """
    json_help = "print the result as JSON"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--generate", action="store_true",
                            help="only print a new random KEK to put in front of PROXY_KEK")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"]:
            self.stdout.write(new_kek())
            return
        try:
            ring = keyring()
            with transaction.atomic():
                stored = _stored_kids()
                stale = [pk for pk, kid in stored.items() if kid != ring.current_kid]
                for key in BackendKey.objects.select_for_update().filter(pk__in=stale):
                    key.save(update_fields=["secret"])  # loads as plaintext, saved sealed with the first KEK
        except SealingError as exc:
            raise failed(str(exc)) from exc
        unused = sorted(ring.kids() - {ring.current_kid})
        result = {"kek": ring.current_kid, "resealed": len(stale), "already_sealed": len(stored) - len(stale),
                  "removable_keks": unused}
        if options.get("json"):
            self.write_json(result)
            return
        self.stdout.write(f"{result['resealed']} backend key(s) re-sealed with key-encryption key {ring.current_kid}, "
                          f"{result['already_sealed']} already were")
        if unused:
            self.stdout.write(f"no stored key needs {', '.join(unused)} any more: it can be removed from {ring.setting}")


def _stored_kids() -> dict[int, str | None]:
    """Each stored key's KEK id as it is in the table (None: not sealed yet), read without opening it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, secret FROM {BackendKey._meta.db_table}")
        return {pk: sealed_kid(value or "") for pk, value in cursor.fetchall()}
