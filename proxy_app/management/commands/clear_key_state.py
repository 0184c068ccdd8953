"""``manage.py clear_key_state [backend]``: forget cooldowns and invalid marks of backend keys."""

from __future__ import annotations

from typing import Any

import redis
from django.core.management.base import CommandParser

from llmproxy_site.operator_command import OperatorCommand, failed
from proxy_app.providers.key_state import key_state
from proxy_app.providers.registry import build_registry


class Command(OperatorCommand):
    help = ("Clear rate-limit cooldowns and invalid-key marks, so every key is tried again (shared through Redis "
            "when REDIS_URL is set: every proxy process sees it). Exit status 1 for a backend that is not "
            "configured or when Redis cannot be reached.")
    examples = """
        %(prog)s
        %(prog)s openai
    """

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backend", nargs="?", help="only this backend (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = options["backend"]
        if backend:
            known = build_registry().backends
            if backend not in known:
                raise failed(f"no backend named {backend!r}; configured: {', '.join(sorted(known)) or 'none'}")
        try:
            removed = key_state().clear(backend)
        except redis.RedisError as exc:
            raise failed(f"the key state shared through Redis could not be cleared: {exc}") from exc
        self.stdout.write(f"key state cleared ({removed} shared entries removed)")
