"""The fuzz tests' watch on the process log: an unhandled exception anywhere fails the example that caused it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class ErrorLog(logging.Handler):
    """Collects every record logged at ERROR or above, or with a traceback, by any logger (the live
    proxy runs in this process)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        """The collected records, forgetting them."""
        taken, self.records = self.records, []
        return taken


def as_text(records: list[logging.LogRecord]) -> list[str]:
    """Each record as text, with its traceback."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return [formatter.format(record) for record in records]


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
