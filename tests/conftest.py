"""Fixtures: fake providers on loopback and the real ASGI app served in-process on a free port."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests import secret_scan
from tests.fakes import anthropic_fake, gemini_fake, openai_fake
from tests.fakes.server import FakeProvider

PROXY_KEY = "lip-test-proxy-key-0123456789abcdef"
OPENAI_KEYS = ["sk-fake-openai-key-000000000001"]
OPENROUTER_KEYS = ["sk-or-v1-fake-openrouter-key-0000000001"]
ANTHROPIC_KEYS = ["sk-ant-api03-fake-anthropic-key-0000000001"]
GEMINI_KEYS = ["AIzaSyFakeGeminiKey000000000000000001"]

BACKEND_ENV_PREFIXES = ("OPENAI_", "OPENROUTER_", "ANTHROPIC_", "GEMINI_")

# The proxy honours HTTP(S)_PROXY for upstream calls, as users expect; a machine's own proxy settings
# must not send the tests' loopback traffic through it (tests that need a proxy set one themselves).
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_name, None)
    os.environ.pop(_name.lower(), None)


secret_scan.WATCH.add(PROXY_KEY, *OPENAI_KEYS, *OPENROUTER_KEYS, *ANTHROPIC_KEYS, *GEMINI_KEYS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "secret_in_prompt: the user types a watched secret into a prompt with "
                                       "redaction off; the answer may echo it (see tests/secret_scan.py)")


@pytest.fixture(scope="session", autouse=True)
def secret_watchers(django_db_setup: None) -> Iterator[None]:
    """The log handler and the backend-key watch, installed once Django has configured logging."""
    handler = secret_scan.ScanLogHandler(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    # the proxy's own debug lines are scanned too: they are where a careless header dump would be
    for name in ("proxy_app", "usage_app", "commands_app", "llmproxy_site"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    secret_scan.watch_saved_backend_keys()
    yield
    root.removeHandler(handler)


@pytest.fixture(autouse=True)
def no_secret_leaked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which a watched secret was logged, answered or stored (tests/secret_scan.py)."""
    earlier = secret_scan.WATCH.take()
    assert not earlier, "watched secrets leaked before this test started:\n" + "\n".join(earlier)
    yield
    found = secret_scan.WATCH.take()
    if found and request.node.get_closest_marker("secret_in_prompt") is None:
        pytest.fail("watched secrets leaked:\n" + "\n".join(found), pytrace=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Uvicorn serving ``llmproxy_site.asgi.application`` in a background thread."""

    def __init__(self) -> None:
        import uvicorn

        from llmproxy_site.asgi import application

        self.port = free_port()
        config = uvicorn.Config(
            secret_scan.scanning_asgi(application), host="127.0.0.1", port=self.port, lifespan="off", log_level="warning",
            loop="asyncio", http="h11", access_log=False,
            # Longer than any test's pauses: a client reusing a pooled connection just as the server's
            # idle timer closes it gets a reset (HTTP/1.1's keep-alive race), which is not what is tested.
            timeout_keep_alive=60,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="proxy-live-server",
                                       daemon=True)

    async def _serve(self) -> None:
        from asgiref.sync import sync_to_async
        from django.db import connections

        from proxy_app.upstream.client import close_clients

        try:
            await self.server.serve()
        finally:
            await close_clients()
            # the cache reloads' shared thread keeps its connection: it would block dropping the test DB
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live proxy server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Fakes:
    openai: FakeProvider
    openrouter: FakeProvider
    anthropic: FakeProvider | None = None
    gemini: FakeProvider | None = None
    extra: dict[str, FakeProvider] = field(default_factory=dict)

    def all(self) -> list[FakeProvider]:
        named = [self.openai, self.openrouter, self.anthropic, self.gemini]
        return [f for f in named if f is not None] + list(self.extra.values())

    def by_backend(self, backend: str) -> FakeProvider:
        fake = getattr(self, backend, None) or self.extra.get(backend)
        if fake is None:
            raise KeyError(backend)
        return fake


@pytest.fixture(scope="session", autouse=True)
def usage_writer_released(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """End the usage writer (closing its connection) before the test database is dropped."""
    yield
    from usage_app.recorder import stop

    stop(timeout=10)


@pytest.fixture(scope="session")
def fakes() -> Iterator[Fakes]:
    started = Fakes(
        openai=openai_fake.make_fake().start(),
        openrouter=openai_fake.make_fake().start(),
        anthropic=anthropic_fake.make_fake().start(),
        gemini=gemini_fake.make_fake().start(),
    )
    yield started
    for fake in started.all():
        fake.stop()


@pytest.fixture(scope="session")
def live_server_thread() -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


@dataclass
class Proxy:
    url: str
    key: str
    fakes: Fakes

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"


def configure_backends(monkeypatch: pytest.MonkeyPatch, fakes: Fakes, **overrides: str) -> None:
    """Point every backend at its fake; ``overrides`` set or (with "") clear more variables."""
    for name in list(os.environ):
        if name.startswith(BACKEND_ENV_PREFIXES) or name == "LLM_BACKEND":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEYS[0])
    monkeypatch.setenv("OPENAI_API_BASE_URL", f"{fakes.openai.origin}/v1")
    monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEYS[0])
    monkeypatch.setenv("OPENROUTER_API_BASE_URL", f"{fakes.openrouter.origin}/v1")
    if fakes.anthropic is not None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEYS[0])
        monkeypatch.setenv("ANTHROPIC_API_BASE_URL", f"{fakes.anthropic.origin}/v1")
    if fakes.gemini is not None:
        monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEYS[0])
        monkeypatch.setenv("GEMINI_API_BASE_URL", f"{fakes.gemini.origin}/v1beta")
    for name, value in overrides.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    reset_caches()


def reset_caches() -> None:
    """Forget every in-memory view of the database (tables are emptied between tests without signals) and
    the cache (Redis when REDIS_URL is set: remembered command replies must not outlive their test)."""
    from django.core.cache import cache

    from commands_app.aliases import invalidate_aliases
    from commands_app.routes import invalidate_routes
    from commands_app.sessions import session_cache_clear
    from proxy_app.access.auth import invalidate_directory
    from proxy_app.providers.key_state import key_state
    from proxy_app.providers.registry import invalidate_registry
    from proxy_app.routing.affinity import affinity_forget
    from proxy_app.routing.model_defaults import invalidate_model_defaults

    invalidate_registry()
    invalidate_directory()
    invalidate_routes()
    invalidate_aliases()
    session_cache_clear()
    invalidate_model_defaults()
    key_state().clear()
    affinity_forget()
    cache.clear()


@pytest.fixture
def proxy(transactional_db: None, fakes: Fakes, live_server_thread: LiveServer, monkeypatch: pytest.MonkeyPatch,
          settings: object) -> Iterator[Proxy]:
    """The running proxy with every backend pointing at a fake and a proxy key required."""
    settings.LLM_INTERACTIVE_PROXY_API_KEY = PROXY_KEY  # type: ignore[attr-defined]
    for fake in fakes.all():
        fake.reset()
    configure_backends(monkeypatch, fakes)
    yield Proxy(live_server_thread.url, PROXY_KEY, fakes)
    from usage_app.recorder import flush

    # let the usage writer finish before pytest-django empties the tables under it
    flush(timeout=10)
    secret_scan.scan_database()
    reset_caches()
