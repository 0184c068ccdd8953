"""Start the test identity provider: ``python -m tests.sso_idp.serve PORT``.

Creates its database, registers the one client and the users that ``IDP_SEED`` (JSON, written by
``harness.IdentityProvider``) describes, then serves on 127.0.0.1:PORT with Django's development server.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def seed(spec: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group, User
    from oauth2_provider.models import Application

    client = spec["client"]
    Application.objects.create(
        name="llm-interactive-proxy",
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=client["redirect_uri"],
        post_logout_redirect_uris=client["post_logout_redirect_uri"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    for person in spec["users"]:
        user = User.objects.create_user(person["username"], person["email"], person["password"])
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in person["groups"]])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.sso_idp.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    seed(json.loads(os.environ["IDP_SEED"]))
    call_command("runserver", f"127.0.0.1:{sys.argv[1]}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
