"""A fake LLM provider on a loopback port: an aiohttp app in its own thread with a request log.

Provider modules (``openai_fake``, ``anthropic_fake``, ``gemini_fake``) add routes that speak
their real wire formats by hand; none of them uses the proxy's own translators. What to answer
is decided by ``scenario.plan_reply`` from magic words in the newest user text, and tests can
script failures per API key with ``FakeProvider.fail_key``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    key: str | None
    at: float = field(default_factory=time.time)
    stream_completed: bool | None = None  # False when the client went away mid-stream
    peer: Any = None  # the client's (host, port): the same for requests on one kept-alive connection
    transport: Any = field(default=None, repr=False)  # the connection's transport: is_closing() once the client closed it
    cache_read: int = 0  # prompt-cache tokens the fake reported as read (the Anthropic fake caches prefixes)


@dataclass
class KeyFailure:
    status: int
    retry_after: float | None = None
    times: int | None = None  # None = always
    in_stream: bool = False  # a stream fails after its opening (HTTP 200, then the provider's error event)


class FakeProvider:
    def __init__(self, name: str, setup_routes: Callable[[web.Application, FakeProvider], None]) -> None:
        self.name = name
        self.requests: list[RecordedRequest] = []
        self.key_failures: dict[str, KeyFailure] = {}
        self.on_reset: list[Callable[[], None]] = []  # provider state the provider modules keep (a prompt cache)
        self.lock = threading.Lock()
        self._setup_routes = setup_routes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> FakeProvider:
        async def build() -> web.Application:
            app = web.Application(client_max_size=64 * 1024 * 1024)
            self._setup_routes(app, self)
            return app

        self.port, self._loop, self._runner = serve_in_thread(build, f"fake-{self.name}")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            stop_in_thread(self._loop, self._runner)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget what the tests before saw and scripted (each test starts with a provider that knows nothing)."""
        with self.lock:
            self.requests.clear()
            self.key_failures.clear()
            for forget in self.on_reset:
                forget()

    # -- test controls -------------------------------------------------------

    def fail_key(self, key: str, status: int, *, retry_after: float | None = None, times: int | None = None,
                 in_stream: bool = False) -> None:
        """Script ``key``'s next calls (all, or ``times``) to fail with ``status``; with ``in_stream``, a
        streamed call fails as a provider's stream can: a 200, the opening event, then an error event."""
        self.key_failures[key] = KeyFailure(status, retry_after, times, in_stream)

    def chat_requests(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    # -- helpers for provider modules -----------------------------------------

    def record(self, request: web.Request, body: Any, key: str | None) -> RecordedRequest:
        entry = RecordedRequest(
            request.method, request.path, dict(request.query), {k.lower(): v for k, v in request.headers.items()}, body, key,
            peer=request.transport.get_extra_info("peername") if request.transport else None,
            transport=request.transport,
        )
        with self.lock:
            self.requests.append(entry)
        return entry

    def scripted_failure(self, key: str | None) -> KeyFailure | None:
        with self.lock:
            failure = self.key_failures.get(key or "")
            if failure is None:
                return None
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.key_failures[key or ""]
            return failure


def serve_in_thread(build: Callable[[], Awaitable[web.Application]], name: str
                    ) -> tuple[int, asyncio.AbstractEventLoop, web.AppRunner]:
    """Serve the app ``build`` makes on a free loopback port from an event loop in a daemon thread;
    its port, loop and runner (``runner.cleanup()`` on the loop stops it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runners: list[web.AppRunner] = []

    async def main() -> None:
        runner = web.AppRunner(await build(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        ready.set()

    def run() -> None:
        loop.run_until_complete(main())
        loop.run_forever()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not ready.wait(10):
        raise RuntimeError(f"{name} did not start")
    return port, loop, runners[0]


def stop_in_thread(loop: asyncio.AbstractEventLoop, runner: web.AppRunner) -> None:
    """Stop what ``serve_in_thread`` serves: its app cleaned up, then its loop (the thread ends)."""
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except Exception:
        return None


async def stream_frames(
    request: web.Request,
    entry: RecordedRequest,
    frames: list[bytes],
    *,
    content_type: str = "text/event-stream",
    gap: float = 0.0,
    cut_after: int | None = None,
    linger: float = 0.0,
) -> web.StreamResponse:
    """Send ``frames`` as a chunked response; record whether the client stayed to the end."""
    response = web.StreamResponse(headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
    await response.prepare(request)
    try:
        for i, frame in enumerate(frames):
            if cut_after is not None and i == cut_after:
                # drop the connection without finishing the chunked body: a mid-stream failure
                request.transport.close()
                return response
            await response.write(frame)
            if gap:
                await asyncio.sleep(gap)
        await asyncio.sleep(linger)
        await response.write_eof()
        entry.stream_completed = True
    except (ConnectionResetError, asyncio.CancelledError):
        entry.stream_completed = False  # the client (the proxy) went away mid-stream
    return response
