"""Automatic prompt-cache breakpoints for clients that cannot mark Anthropic's ``cache_control``.

Anthropic caches a prompt prefix only up to a block marked ``cache_control``; an OpenAI or Gemini client
has no way to mark one, so without these each turn of its conversation is billed in full. Breakpoints go
where an agent's prompt stops changing: the last tool definition and the last system block (the same for
the whole conversation) and the end of the last turn before the newest user message (the same from this
turn on, so the next turn reads it from the cache). A request that already carries breakpoints keeps
exactly its own: the client (or a block only Anthropic understands) chose them.
"""

from __future__ import annotations

from typing import Any

# ``ChatRequest.meta`` flag the backend connector sets from ``ANTHROPIC_AUTO_CACHE``: add breakpoints
# to a request from another protocol's client.
AUTO_CACHE = "anthropic_auto_cache"
MAX_BREAKPOINTS = 4  # the API refuses a request with more blocks marked cache_control
EPHEMERAL = {"type": "ephemeral"}
# Thinking blocks cannot carry cache_control (they are cached as part of the prefix), nor can empty text.
_UNMARKABLE = ("thinking", "redacted_thinking")


def count_breakpoints(body: dict[str, Any]) -> int:
    """The blocks of ``body`` marked ``cache_control`` (tools, system and message blocks, tool results' own)."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, list):
        blocks += system
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks += content
            blocks += [inner for b in content if isinstance(b, dict) and isinstance(b.get("content"), list)
                       for inner in b["content"]]
    return sum(1 for block in blocks if isinstance(block, dict) and "cache_control" in block)


def _markable(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") in _UNMARKABLE:
        return False
    return block.get("type") != "text" or bool(block.get("text"))


def _marked(blocks: list[Any]) -> list[Any] | None:
    """``blocks`` with the last markable one marked (a copy), or None when none can be."""
    for i in range(len(blocks) - 1, -1, -1):
        if _markable(blocks[i]):
            return [*blocks[:i], {**blocks[i], "cache_control": dict(EPHEMERAL)}, *blocks[i + 1:]]
    return None


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def _mark_last_stable_turn(messages: list[Any]) -> list[Any]:
    """Mark the last user/assistant message before the newest user message."""
    newest_user = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), 0)
    for i in range(newest_user - 1, -1, -1):
        if messages[i].get("role") not in ("user", "assistant"):
            continue  # a mid-conversation system message
        content = _marked(_as_blocks(messages[i].get("content")))
        if content is not None:
            return [*messages[:i], {**messages[i], "content": content}, *messages[i + 1:]]
        return messages
    return messages


def add_cache_breakpoints(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (an Anthropic Messages request) with breakpoints on its tools, system prompt and last
    stable turn: three at most, and none when the request already has its own. ``body`` is not changed."""
    if count_breakpoints(body):
        return body
    out = dict(body)
    tools = _marked(list(body.get("tools") or []))
    if tools is not None:
        out["tools"] = tools
    system = _marked(_as_blocks(body.get("system")))
    if system is not None:
        out["system"] = system
    messages = body.get("messages")
    if isinstance(messages, list):
        out["messages"] = _mark_last_stable_turn(messages)
    return out
