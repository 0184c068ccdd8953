"""What the operator's management commands share: help with examples, ``--json``, exit statuses.

Exit status: 0 done (also when there was nothing to do), 1 the operation failed (an unknown route or
backend, an unreachable Redis), 2 the command was used wrongly (argparse's own status for a bad option).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter
from django.core.serializers.json import DjangoJSONEncoder

EXIT_FAILED = 1
EXIT_USAGE = 2


def failed(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_FAILED)


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_USAGE)


class HelpFormatter(DjangoHelpFormatter):
    """Django's layout (the command's own options first); a paragraph of several lines, like the
    examples, is kept as written, a one-line paragraph is wrapped to the terminal."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(paragraph if "\n" in paragraph else fill(paragraph, width, indent)
                           for paragraph in text.split("\n\n"))


class OperatorCommand(BaseCommand):
    """A management command for the operator and their scripts.

    ``examples``: one per line, ``%(prog)s`` standing for the command as it was called
    (``manage.py create_proxy_key`` or ``llm-proxy create-key``). ``json_help``: when set, the command
    takes ``--json`` and prints its result with ``write_json`` instead of its text.
    """

    examples = ""
    json_help = ""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        if self.examples:
            kwargs.setdefault("epilog", "examples:\n" + "\n".join(
                f"  {line.strip()}" for line in self.examples.strip().splitlines()))
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.json_help:
            parser.add_argument("--json", action="store_true", help=self.json_help)
        return parser

    def write_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, indent=2, cls=DjangoJSONEncoder))
