"""``manage.py bootstrap``: migrate, create the admin user, import backends and keys from the environment."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from proxy_app.core.secrets import mask_secret
from proxy_app.models import BackendKey
from proxy_app.operations.operator_account import DEFAULT_USERNAME, OperatorAccount, create_operator_account
from proxy_app.providers.config import specs_from_env


class Command(BaseCommand):
    help = ("Idempotent set-up: apply migrations, create an admin user (DJANGO_SUPERUSER_USERNAME / _PASSWORD / "
            "_EMAIL, or prompt; with --no-input and no password, a random one printed once), and import backend "
            "keys from the environment into the admin.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-input", action="store_true", help="never prompt")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("migrations applied")
        self._admin_user(interactive=not options["no_input"])
        imported = 0
        # sealed at rest, keys cannot be looked up by value: compared here once opened
        stored = {(key.backend_name, key.secret) for key in BackendKey.objects.all()}
        for spec in specs_from_env():
            for secret in spec.keys:
                if (spec.name, secret) in stored:
                    continue
                BackendKey.objects.create(backend_name=spec.name, secret=secret, key_hint=mask_secret(secret),
                                          label="imported from environment")
                stored.add((spec.name, secret))
                imported += 1
        self.stdout.write(f"{imported} backend key(s) imported from the environment")

    def _admin_user(self, *, interactive: bool) -> None:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or DEFAULT_USERNAME
        exists = get_user_model().objects.filter(username=username).exists()
        if not exists and interactive and not os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            call_command("createsuperuser", username=username, interactive=True)
            return
        account = OperatorAccount(username) if exists else create_operator_account()
        if not account.created:
            self.stdout.write(f"admin user '{username}' already exists")
        elif account.generated_password:
            self.stdout.write(f"admin user '{username}' created with password {account.generated_password} "
                              "(shown only this once: change it in the admin)")
        else:
            self.stdout.write(f"admin user '{username}' created")
