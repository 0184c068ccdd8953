"""Live traffic inspector: live request events -> channel layer group "inspector" -> staff websockets.

Costs nothing while nobody watches. With the in-memory channel layer (one process) the live
observer is registered only when the first inspector connects, and it returns at once while the
process-level subscriber count is zero. With Redis (``REDIS_URL``) a request may be served by a
process other than the one holding the websocket, so every process registers the observer at
startup (``install_for_shared_layer``) and broadcasts only while a short-lived "someone is
watching" cache key exists: connected inspectors refresh it every ``WATCH_REFRESH_SECONDS``, and
each process re-reads it at most every ``WATCH_CHECK_SECONDS`` without blocking the event loop
(so the first few seconds after an inspector opens in another process may be missed).
Several worker processes without Redis (``runproxy --server uvicorn --workers N``) each have
their own in-memory layer: an inspector then sees only the traffic of the worker it reached.

Deltas are coalesced per request for ``BATCH_SECONDS`` so a fast stream costs about ten layer
messages a second, and all messages of a process go through one queue drained by one task, which
keeps start < delta < finish in order. Secrets never leave: no headers are sent, backend keys
only as the masked hints the pipeline already keeps, and text passes the shape-based redactor.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.urls import path

from proxy_app.core.context import RequestContext, on_live_event
from proxy_app.guards.redaction import SecretRedactor
from usage_app.pricing import cost_for

logger = logging.getLogger("llmproxy.inspector")

GROUP = "inspector"
BATCH_SECONDS = 0.1
BATCH_MAX_CHARS = 16_384  # flush early when a burst is this large
QUEUE_MAX = 10_000  # per process; beyond it events are dropped (and counted), never awaited
ERROR_TEXT_MAX = 500
WATCH_KEY = "llmproxy:inspector:watching"
WATCH_TTL_SECONDS = 30
WATCH_REFRESH_SECONDS = 10
WATCH_CHECK_SECONDS = 5.0
ID_KEY = "inspector_id"
CLOSE_FORBIDDEN = 4403

_redactor = SecretRedactor()


def _clean(text: str, limit: int | None = None) -> str:
    text = _redactor.redact(text)[0] if text else ""
    return text if limit is None else text[:limit]


# ---------------------------------------------------------------- payloads


def start_payload(rid: str, ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "start",
        "id": rid,
        "at": ctx.started_wall,
        "protocol": ctx.protocol,
        "path": ctx.path,
        "client_model": ctx.requested_model,
        "targets": list(data.get("targets") or []),
        "policy": data.get("policy", ""),
        "session": ctx.session_id,
        "project": ctx.project,
        "principal": ctx.principal_name,
        "user": ctx.user,
        "stream": ctx.stream,
    }


def finish_payload(rid: str, ctx: RequestContext) -> dict[str, Any]:
    attempts = [
        {"backend": a.backend, "model": a.model, "key_hint": a.key_hint, "outcome": _clean(a.outcome, 200),
         "status": a.status, "latency_ms": round(a.latency_ms, 1)}
        for a in ctx.attempts
    ]
    usage = ctx.usage
    ttft = ctx.ttft_ms
    return {
        "type": "finish",
        "id": rid,
        "status": ctx.status,
        "error_type": ctx.error_type,
        "error_message": _clean(ctx.error_message, ERROR_TEXT_MAX),
        "backend": ctx.backend,
        "model": ctx.model,
        "key_hint": ctx.key_hint,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_usd": None,  # filled in by the sender, off the request path
        "latency_ms": round(ctx.latency_ms, 1),
        "ttft_ms": None if ttft is None else round(ttft, 1),
        "attempts": attempts,
        "failover": len(attempts) > 1 or any(a["outcome"] != "ok" for a in attempts),
        "loop_halts": ctx.loop_halts,
        "redactions": ctx.redactions,
        "compacted_tokens": ctx.compacted_tokens,
        "answered_by_proxy": ctx.answered_by_proxy,
        "client_disconnected": ctx.client_disconnected,
    }


def _cost(payload: dict[str, Any]) -> float | None:
    if not payload["backend"] or not payload["model"]:
        return None
    cost = cost_for(backend=payload["backend"], model=payload["model"], input_tokens=payload["input_tokens"],
                    output_tokens=payload["output_tokens"], cached_tokens=payload["cached_tokens"],
                    reasoning_tokens=payload["reasoning_tokens"])
    return None if cost is None else float(cost)


# ---------------------------------------------------------------- broadcaster


@dataclass
class _Buffer:
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    size: int = 0
    timer: asyncio.TimerHandle | None = None


class _LoopSender:
    """The queue, the delta buffers and the draining task of one event loop."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_MAX)
        self.buffers: dict[str, _Buffer] = {}
        self.task: asyncio.Task[None] | None = None

    def put(self, payload: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.broadcaster.dropped += 1
            if self.broadcaster.dropped == 1 or self.broadcaster.dropped % 1000 == 0:
                logger.warning("inspector queue full: %d event(s) dropped", self.broadcaster.dropped)
            return
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    def add_delta(self, rid: str, text: str, thinking: bool) -> None:
        buf = self.buffers.get(rid)
        if buf is None:
            buf = self.buffers[rid] = _Buffer()
            buf.timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self.flush, rid)
        (buf.thinking if thinking else buf.text).append(text)
        buf.size += len(text)
        if buf.size >= BATCH_MAX_CHARS:
            self.flush(rid)

    def flush(self, rid: str) -> None:
        buf = self.buffers.pop(rid, None)
        if buf is None:
            return
        if buf.timer is not None:
            buf.timer.cancel()
        self.put({"type": "delta", "id": rid, "text": _clean("".join(buf.text)),
                  "thinking": _clean("".join(buf.thinking))})

    async def _drain(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        while True:
            payload = await self.queue.get()
            try:
                if payload["type"] == "finish":
                    payload["cost_usd"] = await sync_to_async(_cost, thread_sensitive=False)(payload)
            except Exception:
                logger.debug("inspector: no cost for %s", payload.get("id"), exc_info=True)
            try:
                await layer.group_send(GROUP, {"type": "inspector.event", "event": payload})
            except Exception:
                logger.warning("inspector: could not broadcast a %s event", payload.get("type"), exc_info=True)


class Broadcaster:
    """The live observer: turns request events into inspector messages while someone watches."""

    def __init__(self) -> None:
        self.subscribers = 0
        self.dropped = 0
        self._senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSender] = weakref.WeakKeyDictionary()
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid():x}-"
        self._remote_watching = False
        self._remote_checked = 0.0
        self._remote_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ who is watching

    def watching(self) -> bool:
        if self.subscribers > 0:
            return True
        if not settings.REDIS_URL:
            return False
        if time.monotonic() - self._remote_checked > WATCH_CHECK_SECONDS and (
            self._remote_task is None or self._remote_task.done()
        ):
            self._remote_checked = time.monotonic()
            self._remote_task = asyncio.get_running_loop().create_task(self._check_remote())
        return self._remote_watching

    async def _check_remote(self) -> None:
        try:
            self._remote_watching = bool(await cache.aget(WATCH_KEY))
        except Exception:
            logger.debug("inspector: watch key unreadable", exc_info=True)
            self._remote_watching = False

    # ------------------------------------------------------------ observer

    def __call__(self, kind: str, ctx: RequestContext, data: dict[str, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a finish outside any event loop (sync code): nothing to stream to
            return
        if not self.watching():
            return
        sender = self._senders.get(loop)
        if sender is None:
            sender = self._senders[loop] = _LoopSender(self)
        rid = ctx.extra.get(ID_KEY)
        if rid is None:
            # First sight of this request (it started before anyone watched, or failed before routing):
            # the page always gets a start before anything else.
            rid = ctx.extra[ID_KEY] = f"{self._prefix}{next(self._ids)}"
            sender.put(start_payload(rid, ctx, data if kind == "start" else {}))
        elif kind == "start":
            return
        if kind == "delta":
            if data.get("text"):
                sender.add_delta(rid, data["text"], bool(data.get("thinking")))
        elif kind == "finish":
            sender.flush(rid)
            sender.put(finish_payload(rid, ctx))

    # ------------------------------------------------------------ subscribers

    def subscribe(self) -> None:
        on_live_event(self)
        self.subscribers += 1

    def unsubscribe(self) -> None:
        self.subscribers = max(self.subscribers - 1, 0)


broadcaster = Broadcaster()


def install_for_shared_layer() -> None:
    """With Redis, inspectors may sit in another process: observe from startup (see module docstring)."""
    if settings.REDIS_URL:
        on_live_event(broadcaster)


# ---------------------------------------------------------------- websocket


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Same origin as the page (or a CSRF-trusted origin); clients sending no Origin are not browsers."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if origin is None:
        return True
    origin_text = origin.decode("latin1")
    if origin_text in settings.CSRF_TRUSTED_ORIGINS:
        return True
    host = headers.get(b"host", b"").decode("latin1")
    return bool(host) and urlparse(origin_text).netloc == host


class InspectorConsumer(AsyncJsonWebsocketConsumer):
    """``ws/inspector/``: staff only; relays the "inspector" group to the page."""

    subscribed = False
    heartbeat: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user is not None and user.is_active and user.is_staff) or not origin_allowed(self.scope):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        broadcaster.subscribe()
        self.subscribed = True
        await self.accept()
        if settings.REDIS_URL:
            self.heartbeat = asyncio.get_running_loop().create_task(self._keep_watch_key())
        await self.send_json({"type": "hello", "batch_ms": int(BATCH_SECONDS * 1000)})

    async def _keep_watch_key(self) -> None:
        while True:
            try:
                await cache.aset(WATCH_KEY, 1, WATCH_TTL_SECONDS)
            except Exception:
                logger.debug("inspector: cannot set the watch key", exc_info=True)
            await asyncio.sleep(WATCH_REFRESH_SECONDS)

    async def disconnect(self, code: int) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        if self.subscribed:
            self.subscribed = False
            broadcaster.unsubscribe()
            await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def inspector_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])


websocket_urlpatterns = [path("ws/inspector/", InspectorConsumer.as_asgi())]
