"""Reasoning state kept across protocols: a provider's signed thinking, given back to it on replay.

Anthropic (with thinking on) refuses a tool loop whose assistant turn does not start with the
thinking block it signed; Gemini 3 refuses a replayed function call without the thought
signature it issued. A client of another protocol has no slot for either (OpenAI Chat), or
drops what it cannot read (Codex replays reasoning items with ``encrypted_content: null``,
Gemini CLI drops thought parts). So when an answer holds tool calls and signed reasoning from a
provider of another protocol than the client's, the reasoning is kept here, keyed by the
conversation and the call (name and arguments, which every client replays verbatim, unlike call
ids, which Gemini clients may not have); when the client sends that call back in its history,
the thinking is put back in front of it with its origin, and the origin protocol's encoder
replays it (``ThinkingPart.origin``).

Shared across processes through the Django cache (Redis when ``REDIS_URL`` is set), expiring
after ``REASONING_STATE_TTL_SECONDS``. Entries are written off the request's path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from proxy_app.chat import reasoning_seal
from proxy_app.core import canonical as c
from proxy_app.guards.tool_loop import canonical_arguments
from proxy_app.protocols import openai_responses

logger = logging.getLogger("llmproxy.reasoning")

_PENDING: set[asyncio.Future[Any]] = set()


def _key(session_key: str, call: c.ToolCallPart) -> str:
    digest = hashlib.sha256(f"{session_key}\0{call.name}\0{canonical_arguments(call.arguments)}".encode())
    return "llmproxy:reasoning:" + digest.hexdigest()


def _signed(part: c.ThinkingPart) -> bool:
    return bool(part.signature or part.redacted_data)


def _entry(text: str, signature: str | None, redacted_data: str | None, origin: str) -> dict[str, Any]:
    """One piece of reasoning state, as kept in the cache and sealed for clients."""
    return {"text": text, "signature": signature, "redacted_data": redacted_data, "origin": origin}


def _part(entry: dict[str, Any]) -> c.ThinkingPart:
    return c.ThinkingPart(entry.get("text") or "", signature=entry.get("signature"),
                          redacted_data=entry.get("redacted_data"), origin=entry.get("origin"))


def _call_signature(part: c.Part) -> str | None:
    """The thought signature Gemini put on a function call part."""
    signature = part.extra.get("thoughtSignature") if isinstance(part, c.ToolCallPart) and part.extra else None
    return signature if isinstance(signature, str) else None


def _state_of(parts: Iterable[c.Part], origin: str) -> list[dict[str, Any]]:
    """The signed reasoning in ``parts`` (and a Gemini call's own signature), as cache values."""
    state: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, c.ThinkingPart) and _signed(part):
            state.append(_entry(part.text, part.signature, part.redacted_data, origin))
        elif (signature := _call_signature(part)) is not None:
            state.append(_entry("", signature, None, origin))
    return state


def remember(session_key: str, parts: list[c.Part], *, backend_protocol: str, client_protocol: str) -> None:
    """Keep the signed reasoning of an answer's tool calls for the client's next request (in the
    background); nothing to do when the client speaks the provider's own protocol."""
    if backend_protocol == client_protocol:
        return
    calls = [p for p in parts if isinstance(p, c.ToolCallPart)]
    state = _state_of(parts, backend_protocol) if calls else []
    if not state:
        return
    values = {_key(session_key, call): state for call in calls}
    task = asyncio.ensure_future(cache.aset_many(values, settings.REASONING_STATE_TTL_SECONDS))
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


def wants_sealed(chat: c.ChatRequest) -> bool:
    """A Responses client that keeps reasoning itself (``include: ["reasoning.encrypted_content"]``)."""
    include = chat.extra.get("include")
    return (chat.source_protocol == openai_responses.NAME and isinstance(include, list)
            and "reasoning.encrypted_content" in include)


def sealed_parts(parts: list[c.Part], backend_protocol: str) -> list[c.Part]:
    """An answer's parts for a Responses client, its signed reasoning (and a Gemini call's
    signature) sealed into the reasoning items' ``encrypted_content``."""
    out: list[c.Part] = []
    for part in parts:
        state = _state_of([part], backend_protocol)
        if state:
            text = part.text if isinstance(part, c.ThinkingPart) else ""
            out.append(c.ThinkingPart(text, extra={openai_responses.X: {"encrypted_content": reasoning_seal.seal(state)}}))
        if not (state and isinstance(part, c.ThinkingPart)):
            out.append(part)  # the call itself, or a part with no reasoning state
    return out


def sealed_event(event: c.ThinkingDelta, text: str, backend_protocol: str) -> c.ThinkingDelta:
    """A stream's signature (or redacted thinking) event for a Responses client: the signature
    becomes the sealed state of the thinking ``text`` it signed."""
    entry = _entry(text, event.signature, event.redacted_data, backend_protocol)
    return c.ThinkingDelta(event.text, signature=reasoning_seal.seal([entry]))


def _unsealed(message: c.Message) -> bool:
    """Replace the message's sealed reasoning items by the state they carry; True when any did."""
    parts: list[c.Part] = []
    opened = False
    for part in message.parts:
        blob = (part.extra or {}).get(openai_responses.X, {}).get("encrypted_content") \
            if isinstance(part, c.ThinkingPart) else None
        state = reasoning_seal.unseal(blob)
        if state is None:
            parts.append(part)
            continue
        opened = True
        parts.extend(_part(entry) for entry in state)
    if opened:
        thinking = [p for p in parts if isinstance(p, c.ThinkingPart) and p.origin]
        message.parts = [*thinking, *(p for p in parts if not (isinstance(p, c.ThinkingPart) and p.origin))]
    return opened


async def restore(chat: c.ChatRequest, session_key: str) -> int:
    """Put kept reasoning back in front of the replayed calls of ``chat``'s assistant turns that lost
    it: from the client's own sealed copy, else from the store; returns how many turns got theirs back."""
    wanting: dict[int, str] = {}
    unsealed = 0
    for index, message in enumerate(chat.messages):
        if message.role != "assistant":
            continue
        call = next((p for p in message.parts if isinstance(p, c.ToolCallPart)), None)
        if call is None:
            continue
        if chat.source_protocol == openai_responses.NAME and _unsealed(message):
            unsealed += 1
        if any(isinstance(p, c.ThinkingPart) and p.origin for p in message.parts):
            continue
        wanting[index] = _key(session_key, call)
    if not wanting:
        return unsealed
    if _PENDING:
        await asyncio.gather(*list(_PENDING), return_exceptions=True)  # a write still under way
    found = await cache.aget_many(list(wanting.values()))
    restored = unsealed
    for index, key in wanting.items():
        state = found.get(key)
        if not state:
            continue
        message = chat.messages[index]
        thinking = [_part(entry) for entry in state]
        # the client's unsigned copy of the same thinking (Codex's summary) gives way to the signed one
        kept = [p for p in message.parts if not isinstance(p, c.ThinkingPart)]
        message.parts = [*thinking, *kept]
        restored += 1
    if restored:
        logger.debug("restored the reasoning of %d assistant turn(s)", restored)
    return restored


class StreamedReasoning:
    """Collects a stream's signed reasoning and tool calls, for ``remember`` at its end."""

    def __init__(self) -> None:
        self.thinking: list[c.ThinkingPart] = []
        self.calls: dict[int, c.ToolCallPart] = {}

    def feed(self, event: c.StreamEvent) -> None:
        if isinstance(event, c.ThinkingDelta):
            current = self.thinking[-1] if self.thinking else None
            if current is None or _signed(current) or event.redacted_data is not None:
                current = c.ThinkingPart("")
                self.thinking.append(current)
            current.text += event.text
            current.signature = event.signature or current.signature
            current.redacted_data = event.redacted_data or current.redacted_data
        elif isinstance(event, c.ToolCallStart):
            self.calls[event.index] = c.ToolCallPart(event.id, event.name, "", extra=event.extra)
        elif isinstance(event, c.ToolCallDelta) and event.index in self.calls:
            self.calls[event.index].arguments += event.arguments

    def parts(self) -> list[c.Part]:
        return [*self.thinking, *self.calls.values()]
