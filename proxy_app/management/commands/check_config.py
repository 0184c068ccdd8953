"""``manage.py check_config FILE``: validate a configuration file without starting the proxy."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from llmproxy_site.operator_command import OperatorCommand, failed
from proxy_app.core.file_config import ConfigError, LoadedConfig, load_config, settings_defaults
from proxy_app.core.secrets import mask_secret


class Command(OperatorCommand):
    help = ("Validate a configuration file (see proxy.example.yaml) without starting the proxy: YAML, every field, "
            "and that each os.environ/NAME a key refers to is set. Exit status 0 when valid, 1 with one line per "
            "problem (file:line: field: problem) when not.")
    examples = """
        %(prog)s proxy.yaml
        %(prog)s proxy.yaml --json
    """
    json_help = "print what the file configures as JSON (keys masked)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the YAML configuration file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = load_config(options["file"])
        except ConfigError as exc:
            raise failed(f"invalid configuration:\n{exc}") from None
        summary = summarize(loaded)
        if options["json"]:
            self.write_json(summary)
            return
        self.stdout.write(f"{loaded.path}: valid")
        for section, items in summary.items():
            if items:
                self.stdout.write(f"  {section}: " + ", ".join(f"{k}={v}" for k, v in items.items()))


def summarize(loaded: LoadedConfig) -> dict[str, dict[str, Any]]:
    """What the file configures, secrets masked."""
    config = loaded.config
    return {
        "backends": {name: f"{b.type} {b.base_url or '(default URL)'} "
                           f"[{', '.join(mask_secret(loaded.secret(ref)) for ref in b.keys)}]"
                     for name, b in config.backends.items()},
        "aliases": dict(config.aliases),
        "routes": {name: f"{r.policy}: {' > '.join(r.elements)}" for name, r in config.routes.items()},
        "keys": {k.name: mask_secret(loaded.secret(k.key)) for k in config.keys},
        "settings": settings_defaults(config),
    }
