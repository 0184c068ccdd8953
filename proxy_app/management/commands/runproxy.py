"""``manage.py runproxy``: start the proxy's ASGI app under Daphne (or uvicorn)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from llmproxy_site.cli import invocation
from llmproxy_site.server.graceful import WRAP_UP_SECONDS, graceful
from llmproxy_site.server.workers import exec_supervisor, reuseport_sockets
from proxy_app.core.key_sealing import SealingError
from proxy_app.core.secrets import mask_secret
from proxy_app.operations.backend_overview import display_url
from proxy_app.operations.operator_account import OperatorAccount, ensure_operator_account
from proxy_app.providers.config import PROVIDERS, configured_specs
from proxy_app.sealed_fields import sealing_problem

ENVIRONMENT_HELP = """
environment variables (also read from .env: the project root in a clone, the current directory installed):
  LLM_INTERACTIVE_PROXY_API_KEY   key clients must send (Bearer / x-api-key / x-goog-api-key / ?key=);
                                  without any proxy key the server only binds to loopback
  LLM_BACKEND                     default backend for bare model names (default: first configured)
  OPENAI_API_KEY[_N], OPENAI_API_BASE_URL           OpenAI (or any OpenAI-compatible server)
  OPENROUTER_API_KEY[_N], OPENROUTER_API_BASE_URL   OpenRouter (OPENROUTER_HTTP_REFERER, OPENROUTER_APP_TITLE)
  ANTHROPIC_API_KEY[_N], ANTHROPIC_API_BASE_URL     Anthropic (ANTHROPIC_VERSION)
  GEMINI_API_KEY[_N], GEMINI_API_BASE_URL           Google Gemini
  DATABASE_URL        default SQLite: db.sqlite3 in a clone, ~/.local/share/llm-proxy/ installed
                      (e.g. postgres://user@127.0.0.1:5432/db)
  REDIS_URL           shared cache, cooldowns and channel layer (default: in-process)
  CELERY_BROKER_URL   Celery broker for usage rollups (default: none, tasks run in-process)
  SHUTDOWN_GRACE_SECONDS (30 s)   on SIGTERM / Ctrl-C: time requests in flight get to finish
  MAX_REQUEST_BODY_BYTES (20 MiB), PROXY_TIMEOUT (600 s), PROXY_CONNECT_TIMEOUT (10 s),
  PROXY_FIRST_BYTE_TIMEOUT (120 s), PROXY_IDLE_TIMEOUT (120 s), PROXY_MAX_CONNECTIONS (1000)
  SSL_CERT_FILE / SSL_CERT_DIR   CA bundle to verify upstreams with instead of certifi's (private CA)
  HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, NO_PROXY   HTTP proxy for upstream calls (PROXY_TRUST_ENV=false: ignore)
  LOG_LEVEL (INFO), DJANGO_SECRET_KEY, DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS
  DJANGO_SUPERUSER_USERNAME (admin), DJANGO_SUPERUSER_PASSWORD, DJANGO_SUPERUSER_EMAIL
                      the admin account created at the first start (no password: a random one, printed once)
"""


def inherited_address(fd: int) -> tuple[str, int]:
    """The address an inherited listening socket is bound to."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        raise CommandError(f"--fd {fd} is not an open socket ({exc.strerror})") from exc
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            raise CommandError(f"--fd {fd} is not a TCP socket")
        host, port = sock.getsockname()[:2]
        return host, port
    finally:
        sock.close()


def exit_quietly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


def admin_login_text(account: OperatorAccount) -> str:
    if account.generated_password:
        return (f"user '{account.username}', password {account.generated_password}  (account created now; the "
                "password is shown only this once: change it in the admin, top right, \"Change password\")")
    if account.created:
        return f"user '{account.username}' with the password in DJANGO_SUPERUSER_PASSWORD (account created now)"
    return (f"user '{account.username}'  (password forgotten: `{invocation('changepassword')} "
            f"{account.username}`)")


class Command(BaseCommand):
    help = ("Start the LLM proxy (Daphne by default). Applies pending migrations first and, when there is no "
            "staff user yet, creates the admin account and prints its password once.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = ENVIRONMENT_HELP
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
        parser.add_argument(
            "--server", choices=["daphne", "uvicorn"], default="daphne",
            help="ASGI server (default daphne; uvicorn runs with uvloop and httptools)",
        )
        parser.add_argument(
            "--workers", type=int, default=1,
            help="worker processes sharing the port (SO_REUSEPORT; default 1; one per core for throughput)",
        )
        parser.add_argument(
            "--fd", type=int, default=None,
            help="serve on an inherited listening TCP socket with this file descriptor instead of --host/--port",
        )
        parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
        parser.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations at start")

    def handle(self, *args: Any, **options: Any) -> None:
        server, workers, fd = options["server"], options["workers"], options["fd"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if fd is not None and workers != 1:
            raise CommandError("--fd serves one process: use it without --workers")
        if options["worker_index"] is not None:  # started by the --workers supervisor, which did the rest
            self._serve(server, fd=fd)
            return
        host, port = (inherited_address(fd) if fd is not None else (options["host"], options["port"]))
        if not is_loopback(host) and not self._has_proxy_key():
            raise CommandError(
                f"refusing to listen on {host}: no proxy key is configured. Set LLM_INTERACTIVE_PROXY_API_KEY "
                f"or create one with `{invocation('create_proxy_key')}`, or bind to 127.0.0.1."
            )
        if server == "daphne" and ":" in host and (fd is not None or workers > 1):
            raise CommandError("Daphne adopts IPv4 sockets only: use --server uvicorn for IPv6 with --fd/--workers")
        if fd is None and workers == 1:
            check_can_listen(host, port)
        try:
            if not options["no_migrate"]:
                self._migrate()
            login = self._admin_login()
            problem = sealing_problem()
        except DatabaseError as exc:
            raise CommandError(f"the database is unreachable ({database_name()}): {first_line(exc)}") from None
        except SealingError as exc:  # a KEK setting that cannot be used at all (empty, too short)
            problem = str(exc)
        if problem:
            raise CommandError(f"cannot read the stored backend keys: {problem}", returncode=2)
        if workers > 1:
            try:
                sockets = reuseport_sockets(host, port, workers)
            except OSError as exc:
                raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            port = sockets[0].getsockname()[1]
            self._print_banner(host, port, login)
            self.stdout.write(f"  {workers} {server} worker processes")
            if not settings.REDIS_URL:
                self.stdout.write("  No REDIS_URL: each worker keeps its own key cooldowns and per-key rate limits.")
            exec_supervisor(server=server, sockets=sockets, settings_module=settings.SETTINGS_MODULE,
                            project_root=str(settings.BASE_DIR), stop_timeout=worker_stop_timeout())
        self._print_banner(host, port, login)
        sys.stdout.flush()
        self._serve(server, fd=fd, host=host, port=port)

    def _serve(self, server: str, *, fd: int | None, host: str = "", port: int = 0) -> None:
        """Run one server process on ``host``/``port`` or on the listening socket ``fd``."""
        app = "llmproxy_site.asgi:application"
        if server == "uvicorn":
            import uvicorn

            from llmproxy_site.server.uvicorn_tuning import install

            install()
            # After its graceful shutdown uvicorn re-raises the SIGTERM to the handler that was there
            # before it; the default one would kill the process without running the atexit hook that
            # writes the queued usage records.
            signal.signal(signal.SIGTERM, exit_quietly)
            config = uvicorn.Config(app, host=host, port=port, lifespan="off", log_level="warning", access_log=False,
                                    http="httptools", timeout_graceful_shutdown=settings.SHUTDOWN_GRACE_SECONDS)
            sockets = [socket.socket(fileno=fd)] if fd is not None else None
            uvicorn.Server(config).run(sockets=sockets)
            return
        from llmproxy_site.server.daphne_tuning import tuned_daphne_cli

        cli = tuned_daphne_cli()
        cli.server_class = graceful(cli.server_class, grace_seconds=settings.SHUTDOWN_GRACE_SECONDS)
        where = ["--fd", str(fd)] if fd is not None else ["-b", host, "-p", str(port)]
        cli.run([*where, "-v", "0", app])

    def _has_proxy_key(self) -> bool:
        if settings.LLM_INTERACTIVE_PROXY_API_KEY or (settings.PROXY_FILE_CONFIG and settings.PROXY_FILE_CONFIG.config.keys):
            return True
        from proxy_app.models import ProxyKey

        try:
            return ProxyKey.objects.filter(is_active=True, revoked_at__isnull=True).exists()
        except Exception:
            return False

    def _migrate(self) -> None:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            self.stdout.write(f"Applying {len(pending)} pending migration(s)…")
            call_command("migrate", interactive=False, verbosity=0)

    def _admin_login(self) -> str:
        """How to log in to the admin; on the first start this creates the operator account (only
        here, in the process that starts the workers). Without password logins, single sign-on is the way."""
        if not settings.ADMIN_PASSWORD_LOGIN:
            return (f"log in with {settings.OIDC_PROVIDER_NAME} (password logins are off)" if settings.OIDC_ENABLED
                    else "password logins are off (ADMIN_PASSWORD_LOGIN=false) and no single sign-on is configured")
        try:
            account = ensure_operator_account()
        except DatabaseError:
            return "not checked: the database is not migrated (run `manage.py migrate`)"
        return admin_login_text(account)

    def _print_banner(self, host: str, port: int, login: str) -> None:
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}"
        self.stdout.write(f"llm-interactive-proxy listening on {base}")
        self.stdout.write(f"  OpenAI     base_url = {base}/v1")
        self.stdout.write(f"  Anthropic  base_url = {base}/anthropic  (or {base})")
        self.stdout.write(f"  Gemini     base_url = {base}  (api version v1beta or v1)")
        self.stdout.write(f"  Status     {base}/    (backends, their health, client settings for this server)")
        self.stdout.write(f"  Admin      {base}/admin/    Dashboard {base}/admin/dashboard/")
        self.stdout.write(f"  API docs   {base}/api/docs/    Health {base}/healthz")
        self.stdout.write(f"  Admin login: {login}")
        if settings.PROXY_CONFIG_PATH:
            self.stdout.write(f"  Configuration file: {settings.PROXY_CONFIG_PATH}")
        specs = configured_specs()
        if not specs:
            names = ", ".join(f"{d.env_prefix}_API_KEY" for d in PROVIDERS.values())
            self.stdout.write(f"  No backend configured yet: set one of {names} (or *_API_BASE_URL).")
        for spec in specs:
            keys = ", ".join(mask_secret(k) for k in spec.keys) or "no key"
            origin = "  (configuration file)" if spec.source == "config file" else ""
            self.stdout.write(f"  backend {spec.name:<11} {spec.protocol:<12} {display_url(spec.base_url)}  keys: {keys}{origin}")
        if not self._has_proxy_key():
            self.stdout.write("  No proxy key configured: open access, loopback only.")


def worker_stop_timeout() -> float:
    """How long the supervisor waits for a stopping worker before killing it: the grace period, the
    wrap-up of the requests ended after it, and the writing of the queued usage records."""
    return settings.SHUTDOWN_GRACE_SECONDS + WRAP_UP_SECONDS + settings.USAGE_SHUTDOWN_FLUSH_SECONDS + 5.0


def check_can_listen(host: str, port: int) -> None:
    """Fail the start with one line when the address is taken (the servers would print a traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def database_name() -> str:
    db = connection.settings_dict
    where = f"{db.get('HOST') or ''}:{db.get('PORT') or ''}".strip(":")
    return f"{connection.vendor} {where} {db.get('NAME')}".replace("  ", " ").strip()


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
