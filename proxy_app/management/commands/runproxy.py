"""``manage.py runproxy``: start the proxy's ASGI app under Daphne (or uvicorn)."""

from __future__ import annotations

import inspect
import ipaddress
import socket
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ...backend_config import PROVIDERS, specs_from_env
from ...secrets_util import mask_secret

ENVIRONMENT_HELP = """
environment variables (also read from .env in the project root):
  LLM_INTERACTIVE_PROXY_API_KEY   key clients must send (Bearer / x-api-key / x-goog-api-key / ?key=);
                                  without any proxy key the server only binds to loopback
  LLM_BACKEND                     default backend for bare model names (default: first configured)
  OPENAI_API_KEY[_N], OPENAI_API_BASE_URL           OpenAI (or any OpenAI-compatible server)
  OPENROUTER_API_KEY[_N], OPENROUTER_API_BASE_URL   OpenRouter (OPENROUTER_HTTP_REFERER, OPENROUTER_APP_TITLE)
  ANTHROPIC_API_KEY[_N], ANTHROPIC_API_BASE_URL     Anthropic (ANTHROPIC_VERSION)
  GEMINI_API_KEY[_N], GEMINI_API_BASE_URL           Google Gemini
  DATABASE_URL        default sqlite:///db.sqlite3 (e.g. postgres://user@127.0.0.1:5432/db)
  REDIS_URL           shared cache, cooldowns and channel layer (default: in-process)
  CELERY_BROKER_URL   Celery broker for usage rollups (default: none, tasks run in-process)
  MAX_REQUEST_BODY_BYTES (20 MiB), PROXY_TIMEOUT (600 s), PROXY_CONNECT_TIMEOUT (10 s),
  PROXY_FIRST_BYTE_TIMEOUT (120 s), PROXY_IDLE_TIMEOUT (120 s), PROXY_MAX_CONNECTIONS (1000)
  LOG_LEVEL (INFO), DJANGO_SECRET_KEY, DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS
"""


def skip_twisted_form_parsing() -> None:
    """Make Daphne's requests skip Twisted's own parsing of POST bodies into ``request.args``.

    Daphne never reads ``args``: it hands the raw body to the ASGI app. But for every POST Twisted
    still parses the Content-Type header with ``email.message.EmailMessage``, whose header registry
    builds two new classes per call: ~30 µs of CPU per request, plus garbage only the cyclic GC
    frees. Twisted's ``parsePOSTFormSubmission`` switch turns that off."""
    import daphne.http_protocol
    from twisted.web.http import Request

    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return  # an older Twisted without the switch

    class WebRequest(daphne.http_protocol.WebRequest):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    daphne.http_protocol.WebRequest = WebRequest  # what Daphne's HTTPFactory builds requests from


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


class Command(BaseCommand):
    help = "Start the LLM proxy (Daphne by default). Applies migrations first on the embedded SQLite database."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = ENVIRONMENT_HELP
        import argparse

        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
        parser.add_argument(
            "--server", choices=["daphne", "uvicorn"], default="daphne",
            help="ASGI server (default daphne; uvicorn runs with uvloop and httptools)",
        )
        parser.add_argument("--workers", type=int, default=1, help="worker processes (uvicorn only)")
        parser.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations at start")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not is_loopback(host) and not self._has_proxy_key():
            raise CommandError(
                f"refusing to listen on {host}: no proxy key is configured. Set LLM_INTERACTIVE_PROXY_API_KEY "
                "or create one with `manage.py create_proxy_key`, or bind to 127.0.0.1."
            )
        if not options["no_migrate"]:
            self._migrate()
        self._print_banner(host, port)
        sys.stdout.flush()
        if options["server"] == "uvicorn":
            import uvicorn

            uvicorn.run(
                "llmproxy_site.asgi:application", host=host, port=port, workers=options["workers"],
                lifespan="off", log_level="warning", access_log=False,
            )
            return
        if options["workers"] != 1:
            raise CommandError("--workers needs --server uvicorn (Daphne serves one process)")
        from daphne.cli import CommandLineInterface

        skip_twisted_form_parsing()
        CommandLineInterface().run(["-b", host, "-p", str(port), "-v", "0", "llmproxy_site.asgi:application"])

    def _has_proxy_key(self) -> bool:
        if settings.LLM_INTERACTIVE_PROXY_API_KEY:
            return True
        from ...models import ProxyKey

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

    def _print_banner(self, host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}"
        self.stdout.write(f"llm-interactive-proxy listening on {base}")
        self.stdout.write(f"  OpenAI     base_url = {base}/v1")
        self.stdout.write(f"  Anthropic  base_url = {base}/anthropic  (or {base})")
        self.stdout.write(f"  Gemini     base_url = {base}  (api version v1beta or v1)")
        self.stdout.write(f"  Admin      {base}/admin/    Health {base}/healthz")
        specs = specs_from_env()
        if not specs:
            names = ", ".join(f"{d.env_prefix}_API_KEY" for d in PROVIDERS.values())
            self.stdout.write(f"  No backend configured yet: set one of {names} (or *_API_BASE_URL).")
        for spec in specs:
            keys = ", ".join(mask_secret(k) for k in spec.keys) or "no key"
            self.stdout.write(f"  backend {spec.name:<11} {spec.protocol:<12} {spec.base_url}  keys: {keys}")
        if not self._has_proxy_key():
            self.stdout.write("  No proxy key configured: open access, loopback only.")
