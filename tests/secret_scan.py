"""The suite-wide secret scan: no key the suite configures appears in a log line, a response or a database row.

Every key the proxy is given during the suite is a *watched secret*: the standard keys of
``tests/conftest.py`` (the proxy key and each backend's key), every backend key saved through the
admin's models, and keys tests register themselves. While the whole suite's traffic runs, three
watchers look for them:

* every log record (any logger, any thread, formatted with its traceback),
* every response the proxy sends: the live server's ASGI app is wrapped, and the full Django stack
  (admin, usage API, dashboard through the test client) gets :class:`ScanResponsesMiddleware`,
* every row of every table as stored, the keys' own tables included (backend keys are sealed at rest,
  proxy keys kept as digests; checked when a live-proxy test ends, before the tables are emptied), plus
  the output of the real server processes tests start.

A finding fails the test during which it was seen. A test that makes the *user* type a watched secret
into a prompt with redaction switched off (the answer may echo it, as the provider's would) says so
with ``@pytest.mark.secret_in_prompt``; that is the only exemption.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

# A secret split across two chunks of a stream is still found: each chunk is scanned with the previous tail.
TAIL = 256


class Watch:
    """The watched secrets and what was found, shared by every thread of the suite."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.findings: list[str] = []

    def add(self, *secrets: str) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if len(s) >= 12)

    def secrets(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._secrets)

    def scan(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for secret in self.secrets():
            if secret in text:
                with self._lock:
                    masked = f"{secret[:6]}…{secret[-4:]}"
                    self.findings.append(f"{where}: {masked} in {_around(text, secret).replace(secret, masked)!r}")

    def take(self) -> list[str]:
        with self._lock:
            found, self.findings = self.findings, []
        return found


def _around(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 60): at + len(secret) + 20]


WATCH = Watch()


class ScanLogHandler(logging.Handler):
    """On the root logger for the whole session: sees every record of every thread."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            WATCH.scan(f"log {record.name}", self.format(record))
        except Exception:  # a record that cannot be formatted is the logging module's to report
            self.handleError(record)


class _StreamTail:
    """Scans one response's chunks as they pass, with the previous chunk's tail in front."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        WATCH.scan(self.where, self.tail + chunk)
        self.tail = (self.tail + chunk)[-TAIL:]


def scanning_asgi(app: ASGIApp) -> ASGIApp:
    """``app`` with every HTTP response's headers and body scanned on their way out."""

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = _StreamTail(f"response {scope.get('method')} {scope.get('path')}")

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                WATCH.scan(body.where + " headers", repr(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                body.feed(bytes(message.get("body", b"")))
            await send(message)

        await app(scope, receive, watched_send)

    return wrapped


class ScanResponsesMiddleware:
    """The same scan for responses of the full Django stack (the test client's admin and API pages)."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        where = f"response {request.method} {request.path}"
        WATCH.scan(where + " headers", repr(dict(response.items())))
        if getattr(response, "streaming", False):
            response.streaming_content = _scanned_stream(where, response.streaming_content)
        else:
            WATCH.scan(where, response.content)
        return response


def _scanned_stream(where: str, chunks: Iterable[bytes] | AsyncIterator[bytes]) -> Any:
    tail = _StreamTail(where)
    if hasattr(chunks, "__aiter__"):
        async def async_chunks() -> AsyncIterator[bytes]:
            async for chunk in chunks:  # type: ignore[union-attr]
                tail.feed(bytes(chunk))
                yield chunk
        return async_chunks()

    def sync_chunks() -> Iterator[bytes]:
        for chunk in chunks:  # type: ignore[union-attr]
            tail.feed(bytes(chunk))
            yield chunk
    return sync_chunks()


def scan_database() -> None:
    """Every row of every project table as the database holds it (raw SQL: what a dump would show), the
    backend keys' own table included, since they are sealed at rest."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in ("proxy_app", "usage_app", "commands_app"):
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (a model's own table name)
            for row in cursor.fetchall():
                WATCH.scan(f"row {model._meta.label}", repr(row))


def watch_saved_backend_keys() -> None:
    """Every backend key a test saves (through the admin, a command or the ORM) is watched from then on."""
    from django.db.models.signals import post_save

    from proxy_app.models import BackendKey

    def watch(instance: BackendKey, **_: Any) -> None:
        WATCH.add(instance.secret)

    post_save.connect(watch, sender=BackendKey, weak=False, dispatch_uid="secret-scan-backend-keys")
