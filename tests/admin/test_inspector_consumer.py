"""The inspector websocket: staff only, and start/delta/finish arrive in order with deltas coalesced."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache

from llmproxy_site.asgi import application
from proxy_app.core.canonical import Usage
from proxy_app.core.context import AttemptRecord, RequestContext, emit_live, finish_request, live_observers
from proxy_app.operations.inspector import BATCH_SECONDS, WATCH_KEY, broadcaster
from tests.admin.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_usage_rows(settings: object) -> None:
    """These contexts are made up: keep them out of the usage recorder."""
    settings.USAGE_RECORDING_ENABLED = False  # type: ignore[attr-defined]


def communicator(cookie: str | None = None, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin)]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/inspector/", headers=headers)


async def test_it_rejects_anonymous_connections() -> None:
    connected, _ = await communicator().connect()
    assert not connected
    assert broadcaster.subscribers == 0


async def test_it_rejects_users_who_are_not_staff(plain_user: AbstractUser) -> None:
    cookie = await sync_to_async(session_cookie)(plain_user)
    connected, _ = await communicator(cookie).connect()
    assert not connected


async def test_it_rejects_pages_from_another_origin(superuser: AbstractUser) -> None:
    cookie = await sync_to_async(session_cookie)(superuser)
    connected, _ = await communicator(cookie, origin=b"http://evil.example").connect()
    assert not connected


async def test_staff_receive_start_delta_finish_in_order(superuser: AbstractUser) -> None:
    cookie = await sync_to_async(session_cookie)(superuser)
    ws = communicator(cookie)
    connected, _ = await ws.connect()
    assert connected
    assert broadcaster.subscribers == 1
    assert (await ws.receive_json_from())["type"] == "hello"

    ctx = RequestContext(protocol="openai_chat", path="/v1/chat/completions", project="alpha", session_id="s-1",
                         requested_model="fast-route", principal_name="ci", stream=True)
    emit_live("start", ctx, {"targets": ["openai:gpt-4o", "openrouter:gpt-4"], "policy": "m"})
    for piece in ("Hel", "lo ", "wor", "ld"):
        emit_live("delta", ctx, {"text": piece, "thinking": False})
    emit_live("delta", ctx, {"text": "hmm", "thinking": True})
    ctx.backend, ctx.model, ctx.key_hint = "openrouter", "gpt-4", "sk-...0001"
    ctx.usage = Usage(input_tokens=12, output_tokens=4)
    ctx.attempts = [
        AttemptRecord("openai", "gpt-4o", "sk-...0001", "HTTP 500: boom", 500, 3.0),
        AttemptRecord("openrouter", "gpt-4", "sk-...0001", "ok", 200, 5.0),
    ]
    ctx.loop_halts, ctx.redactions = 1, 2
    finish_request(ctx)

    start = await ws.receive_json_from()
    delta = await ws.receive_json_from()
    finish = await ws.receive_json_from()
    assert start["type"] == "start"
    assert start["targets"] == ["openai:gpt-4o", "openrouter:gpt-4"]
    assert (start["client_model"], start["project"], start["session"]) == ("fast-route", "alpha", "s-1")
    assert delta == {"type": "delta", "id": start["id"], "text": "Hello world", "thinking": "hmm"}
    assert finish["type"] == "finish" and finish["id"] == start["id"]
    assert finish["status"] == 200
    assert (finish["input_tokens"], finish["output_tokens"]) == (12, 4)
    assert finish["failover"] is True
    assert [a["status"] for a in finish["attempts"]] == [500, 200]
    assert (finish["loop_halts"], finish["redactions"]) == (1, 2)
    assert await ws.receive_nothing(0.05)

    await ws.disconnect()
    assert broadcaster.subscribers == 0


async def test_deltas_are_batched_per_interval(superuser: AbstractUser) -> None:
    cookie = await sync_to_async(session_cookie)(superuser)
    ws = communicator(cookie)
    assert (await ws.connect())[0]
    await ws.receive_json_from()
    ctx = RequestContext(protocol="anthropic", path="/v1/messages", stream=True)
    emit_live("start", ctx, {"targets": ["anthropic:claude"], "policy": "k"})
    for i in range(50):
        emit_live("delta", ctx, {"text": f"{i} ", "thinking": False})
    assert (await ws.receive_json_from())["type"] == "start"
    first = await ws.receive_json_from(timeout=2)
    assert first["text"] == "".join(f"{i} " for i in range(50))  # one message for the whole burst
    await asyncio.sleep(BATCH_SECONDS / 2)
    emit_live("delta", ctx, {"text": "later", "thinking": False})
    assert (await ws.receive_json_from(timeout=2))["text"] == "later"
    await ws.disconnect()


async def test_a_request_seen_only_at_its_end_still_gets_a_start(superuser: AbstractUser) -> None:
    cookie = await sync_to_async(session_cookie)(superuser)
    ws = communicator(cookie)
    assert (await ws.connect())[0]
    await ws.receive_json_from()
    ctx = RequestContext(protocol="gemini", path="/v1beta/models/x:generateContent", requested_model="nope:x",
                         status=400, error_type="invalid_request", error_message="unknown backend nope")
    finish_request(ctx)
    kinds = [(await ws.receive_json_from())["type"] for _ in range(2)]
    assert kinds == ["start", "finish"]
    await ws.disconnect()


async def test_nothing_is_queued_while_nobody_watches() -> None:
    await cache.adelete(WATCH_KEY)  # with Redis, an inspector of an earlier test may still count as watching
    broadcaster._remote_watching, broadcaster._remote_checked = False, time.monotonic()
    ctx = RequestContext(protocol="openai_chat", path="/v1/chat/completions")
    emit_live("start", ctx, {"targets": []})
    finish_request(ctx)
    assert "inspector_id" not in ctx.extra


@pytest.mark.skipif(not settings.REDIS_URL, reason="the shared watch key is only used with Redis (REDIS_URL)")
async def test_with_redis_a_watcher_in_another_process_turns_broadcasting_on() -> None:
    assert broadcaster in live_observers  # observing from startup, for inspectors in other processes
    await cache.adelete(WATCH_KEY)
    broadcaster._remote_watching, broadcaster._remote_checked = False, 0.0
    assert not broadcaster.watching()
    await broadcaster._remote_task
    assert not broadcaster.watching()
    await cache.aset(WATCH_KEY, 1, 30)  # what an inspector's heartbeat in another process does
    broadcaster._remote_checked = 0.0
    broadcaster.watching()
    await broadcaster._remote_task
    assert broadcaster.watching()
    await cache.adelete(WATCH_KEY)
    broadcaster._remote_checked = 0.0
    broadcaster.watching()
    await broadcaster._remote_task
    assert not broadcaster.watching()
