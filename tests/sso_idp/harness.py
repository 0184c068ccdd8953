"""Run the test identity provider as a subprocess on a free loopback port, for the proxy to log in with."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import secret_scan
from tests.conftest import Fakes
from tests.processes import ProxyProcess, ServerProcess, httpx_ok, proxy_env

CLIENT_ID = "llm-proxy-admin"
CLIENT_SECRET = "sso-client-secret-for-tests-3f9c1d7e5b"
secret_scan.WATCH.add(CLIENT_SECRET)
ADMIN_GROUP = "llm-admins"
OPERATOR_GROUP = "llm-operators"


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    email: str
    groups: tuple[str, ...]


ALICE = Person("alice", "alice-password-1", "alice@example.com", (ADMIN_GROUP, "engineering"))  # superuser
OLIVER = Person("oliver", "oliver-password-1", "oliver@example.com", (OPERATOR_GROUP,))  # staff only
MALLORY = Person("mallory", "mallory-password-1", "mallory@example.com", ("sales",))  # refused
PEOPLE = (ALICE, OLIVER, MALLORY)


def rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class IdentityProvider(ServerProcess):
    """django-oauth-toolkit with OIDC on 127.0.0.1:``port``, one client registered for the proxies at ``proxy_urls``;
    its output (every request it served) is scanned for the client secret when it stops."""

    name = "identity provider"
    ready_timeout = 60.0

    def __init__(self, directory: Path, *, port: int, proxy_urls: list[str]) -> None:
        key_file = directory / "idp-rsa.pem"
        key_file.write_text(rsa_private_key_pem())
        seed = {
            "client": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "redirect_uri": " ".join(f"{url}/admin/sso/callback/" for url in proxy_urls),
                       "post_logout_redirect_uri": " ".join(f"{url}/admin/login/" for url in proxy_urls)},
            "users": [{"username": p.username, "password": p.password, "email": p.email, "groups": list(p.groups)}
                      for p in PEOPLE],
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
        env.update({"IDP_DATABASE": str(directory / "idp.sqlite3"), "IDP_RSA_KEY_FILE": str(key_file),
                    "IDP_SEED": json.dumps(seed)})
        super().__init__([sys.executable, "-m", "tests.sso_idp.serve", str(port)], port=port, env=env)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/o"

    def answers(self) -> bool:
        return httpx_ok(f"{self.issuer}/.well-known/openid-configuration")

PROVIDER_NAME = "Example Corp ID"


OPERATOR_PASSWORD = "operator-password-for-sso-tests-1"  # the proxy's own superuser, "operator"


def start_sso_proxy(directory: Path, fakes: Fakes, idp: IdentityProvider, port: int, **extra: str) -> ProxyProcess:
    """The real ``runproxy`` logging in with ``idp``: admins superusers, operators staff, others refused."""
    directory.mkdir()
    inherited = proxy_env(directory, fakes)
    env = {k: v for k, v in inherited.items() if not k.startswith(("OIDC_", "ADMIN_PASSWORD_LOGIN"))}
    env.update({
        "OIDC_ISSUER": idp.issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_SCOPES": "openid email profile groups", "OIDC_PROVIDER_NAME": PROVIDER_NAME,
        "OIDC_SUPERUSER_GROUPS": ADMIN_GROUP, "OIDC_STAFF_GROUPS": OPERATOR_GROUP,
        "LOG_LEVEL": "INFO", "DJANGO_SUPERUSER_USERNAME": "operator", "DJANGO_SUPERUSER_PASSWORD": OPERATOR_PASSWORD,
        **extra,
    })
    return ProxyProcess(env, port=port)


def stop_and_scan(processes: list[ProxyProcess | IdentityProvider], databases: tuple[Path, ...]) -> None:
    """Stop the processes and put their output and every row of the proxies' databases through the secret
    scan: whatever it finds fails the test (the findings of a module's last teardown would reach no test)."""
    for process in processes:
        process.stop()
    for path in databases:
        with closing(sqlite3.connect(path)) as db:
            secret_scan.WATCH.scan(f"database {path}", "\n".join(db.iterdump()))
    leaked = secret_scan.WATCH.take()
    assert not leaked, "the client secret leaked:\n" + "\n".join(leaked)
