"""Which conversation a request belongs to: the session its command overrides live in.

Agentic clients say so themselves; the proxy takes the most specific id they send, and for
clients that send none, a fingerprint of the conversation's opening (agents resend the whole
history with every request, so its opening is the same for every request of one
conversation). The proxy key alone never decides: two terminals of one key are two sessions.

| client | id taken |
| --- | --- |
| any | ``X-Session-ID`` |
| Claude Code | ``x-claude-code-session-id``, else the ``session_id`` inside ``metadata.user_id`` |
| Codex CLI | ``thread-id`` (each sub-agent has its own), else ``session-id`` |
| Anthropic SDK | ``metadata.user_id`` when it is not Claude Code's JSON |
| OpenAI SDK / Responses | ``prompt_cache_key`` |
| Gemini CLI, others | ``conv-`` + a hash of the user's text up to the first they typed |
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from commands_app.client_text import typed_text
from proxy_app.core import canonical as c

MAX_ID_CHARS = 200
_HEADERS = ("x-session-id", "x-claude-code-session-id", "thread-id", "session-id")


def _from_anthropic_user(user_id: str) -> str:
    """Claude Code's ``metadata.user_id`` is JSON holding its session id; any other value is the id."""
    if user_id.startswith("{"):
        try:
            value = orjson.loads(user_id)
        except orjson.JSONDecodeError:
            return user_id
        if isinstance(value, dict) and isinstance(value.get("session_id"), str) and value["session_id"]:
            return value["session_id"]
    return user_id


def conversation_fingerprint(messages: list[c.Message]) -> str:
    """A stable id for the conversation ``messages`` open: its user text up to and including the
    first the user typed, which every later request of the conversation resends unchanged. The
    system prompt and message boundaries are left out: a client's side requests about the same
    conversation (Gemini CLI's model router) carry its opening under another system prompt, and
    split into other messages."""
    digest = hashlib.sha256()
    for message in messages:
        if message.role != "user":
            continue
        for part in message.parts:
            if isinstance(part, c.TextPart):
                digest.update(part.text.encode())
                digest.update(b"\0")
                if typed_text(part.text).strip():
                    return "conv-" + digest.hexdigest()[:24]
    return "conv-" + digest.hexdigest()[:24]


def session_id_for(headers: Any, chat: c.ChatRequest) -> str:
    """The session ``chat`` belongs to (see the module's table)."""
    for name in _HEADERS:
        value = headers.get(name)
        if value:
            return value[:MAX_ID_CHARS]
    anthropic_user = chat.meta.get("anthropic_user_id")
    if isinstance(anthropic_user, str) and anthropic_user:
        return _from_anthropic_user(anthropic_user)[:MAX_ID_CHARS]
    cache_key = chat.extra.get("prompt_cache_key")
    if isinstance(cache_key, str) and cache_key:
        return cache_key[:MAX_ID_CHARS]
    return conversation_fingerprint(chat.messages)
