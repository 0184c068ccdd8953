"""Fake Anthropic Messages API: ``POST /v1/messages`` (JSON and named SSE events) and ``GET /v1/models``.

Written by hand from Anthropic's API reference (never with the proxy's translators):

* auth by ``x-api-key`` (or ``Authorization: Bearer``, as anthropic SDK 2.x sends it); ``anthropic-version`` is required (400 without it);
* JSON ``message`` objects whose ``usage.input_tokens`` excludes cached tokens
  (``cache_read_input_tokens`` / ``cache_creation_input_tokens`` are separate);
* the stream ``message_start`` › ``ping`` › (``content_block_start`` › ``content_block_delta``… ›
  ``content_block_stop``)… › ``message_delta`` › ``message_stop``, with ``thinking_delta`` and
  ``signature_delta`` for thinking blocks and ``input_json_delta`` for tool_use blocks;
* errors ``{"type":"error","error":{"type":…,"message":…},"request_id":…}``, ``retry-after`` on 429;
* as strict as the real API where a proxy could go wrong (``validate``): tool_use/tool_result pairing,
  thinking blocks with signatures the fake issued (``signatures.py``) in the current tool loop,
  thinking's parameter limits, non-empty text blocks, mid-conversation ``system`` messages, at most four
  blocks marked ``cache_control``;
* prompt caching per API key and model (``PromptCache``): the prefix up to each ``cache_control``
  breakpoint is remembered, and a later request whose prefix matches one (at a breakpoint or up to 20
  blocks before it, as the API looks back) reports it as ``cache_read_input_tokens``, the rest of its
  prefix up to the last breakpoint as ``cache_creation_input_tokens``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from aiohttp import web

from .scenario import NeutralRequest, Reply, ToolCall, human_text, plan_reply
from .server import FakeProvider, read_json, stream_frames
from .signatures import sign, signed_payload

MODELS = [
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
]
MESSAGE_ID = "msg_01FakeXyZ9aBcDeFgHiJkLmN"
TOOL_USE_ID = "toolu_01FakeA1b2C3d4E5f6G7h8"  # the first call's id; later calls in a conversation get their own
THINKING_SIGNATURE_KIND = "anthropic-thinking"


def thinking_signature(thinking: str) -> str:
    """The ``signature`` the fake issues for a thinking block with this text."""
    return sign(THINKING_SIGNATURE_KIND, thinking)


SIGNATURE = thinking_signature("Let me think step by step about this request.")  # the fake's usual thinking


def tool_use_id(call_index: int) -> str:
    return TOOL_USE_ID if call_index == 1 else f"toolu_01FakeCall{call_index:010d}"


def message_id(body: dict[str, Any]) -> str:
    """Each answer of a conversation its own id, as the API gives (Claude Code merges consecutive
    assistant entries of one id into one message): the first the usual one."""
    turn = sum(1 for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "assistant")
    return MESSAGE_ID if turn == 0 else f"msg_01FakeTurn{turn:012d}"


REQUEST_ID = "req_011CFakeRequestId0123456789"

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
    504: "timeout_error", 529: "overloaded_error",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message},
            "request_id": REQUEST_ID}


def error_response(status: int, message: str, retry_after: float | None = None) -> web.Response:
    headers = {"request-id": REQUEST_ID}
    if retry_after is None and status == 429:
        retry_after = 1
    if retry_after is not None:
        headers["retry-after"] = str(int(retry_after))
    if status == 529:
        headers["x-should-retry"] = "true"
    return web.json_response(error_body(status, message), status=status, headers=headers)


# ---------------------------------------------------------------- request view


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _human_text(msg: dict[str, Any]) -> str:
    """The text a human typed in ``msg``: none in a message of tool results (Claude Code adds reminders there)."""
    content = msg.get("content")
    if isinstance(content, str):
        return human_text(content)
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return ""
    return human_text("\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")) \
        if isinstance(content, list) else ""


def neutral_view(body: dict[str, Any]) -> NeutralRequest:
    messages = body.get("messages") or []
    system = body.get("system")
    view = NeutralRequest(prompt_chars=len(json.dumps(messages)) + (len(json.dumps(system)) if system else 0))
    view.system_text = _block_text(system) if system is not None else ""
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            view.last_user_text = _block_text(content)
            if isinstance(content, list):
                view.has_image = any(isinstance(b, dict) and b.get("type") == "image" for b in content)
            break
    if messages and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), list):
        results = [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            view.tool_result = _block_text(results[-1].get("content"))
    human_at = -1
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user" and (text := _human_text(messages[i])):
            view.human_text, human_at = text, i
            break
    for i, msg in enumerate(messages):
        blocks = [b for b in msg.get("content") or [] if isinstance(b, dict)] if isinstance(msg.get("content"), list) else []
        for block in blocks:
            if block.get("type") == "tool_use" and msg.get("role") == "assistant":
                view.tool_calls.append(ToolCall(block.get("name", ""), block.get("input") or {}))
                view.turn_start_calls += i < human_at
            elif block.get("type") == "tool_result" and msg.get("role") == "user":
                view.tool_results.append(_block_text(block.get("content")))
                view.turn_start_results += i < human_at
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    view.tool_names = [t["name"] for t in tools]
    view.tool_schemas = {t["name"]: t.get("input_schema") or {} for t in tools}
    config = body.get("output_config") or {}
    fmt = config.get("format") or body.get("output_format")
    view.wants_json = bool(fmt)
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        view.json_schema = fmt.get("schema") if isinstance(fmt.get("schema"), dict) else {}
    view.wants_thinking = thinking_enabled(body)
    return view


def thinking_enabled(body: dict[str, Any]) -> bool:
    return (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")


def thinking_omitted(body: dict[str, Any]) -> bool:
    """``thinking.display: "omitted"``: thinking blocks come back with empty text, signature intact."""
    return (body.get("thinking") or {}).get("display") == "omitted"


def _validate_text_blocks(blocks: list[Any], where: str) -> str | None:
    # Messages API: a text block must carry text ("text content blocks must be non-empty"; whitespace alone
    # is refused as well, "text content blocks must contain non-whitespace text").
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if not isinstance(text, str) or text == "":
                return f"{where}: text content blocks must be non-empty"
            if not text.strip():
                return f"{where}: text content blocks must contain non-whitespace text"
    return None


def _validate_thinking_history(messages: list[Any]) -> str | None:
    """Extended thinking docs, "Preserving thinking blocks" / "Extended thinking with tool use": during a
    tool loop (the assistant turns after the last user turn of plain text) each assistant message that
    uses a tool starts with its thinking block, passed back unmodified with its signature."""
    loop_start = 0
    for i, msg in enumerate(messages):
        content = msg.get("content")
        if msg.get("role") == "user" and not (isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content)):
            loop_start = i + 1
    for i in range(loop_start, len(messages)):
        msg = messages[i]
        content = msg.get("content")
        if msg.get("role") != "assistant" or not isinstance(content, list):
            continue
        if any(b.get("type") == "tool_use" for b in content):
            first = content[0].get("type")
            if first not in ("thinking", "redacted_thinking"):
                return (f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
                        f"`{first}`. When `thinking` is enabled, a final `assistant` message must start with a "
                        "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
                        "recommend you include thinking blocks from previous turns. To avoid this requirement, "
                        "disable `thinking`. Please consult our documentation at "
                        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking")
    return None


def _validate_signatures(messages: list[Any]) -> str | None:
    """Extended thinking docs, "Thinking encryption": the ``signature`` verifies the thinking block; a
    block whose text or signature was changed (or made up) is refused."""
    for i, msg in enumerate(messages):
        content = msg.get("content")
        if msg.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if block.get("type") == "thinking":
                if not isinstance(block.get("signature"), str):
                    return f"messages.{i}.content.{j}.thinking.signature: Field required"
                issued_for = signed_payload(THINKING_SIGNATURE_KIND, block["signature"])
                if issued_for is None or block.get("thinking") not in (issued_for, ""):
                    return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
            elif block.get("type") == "redacted_thinking" and not block.get("data"):
                return f"messages.{i}.content.{j}.redacted_thinking.data: Field required"
    return None


# ---------------------------------------------------------------- prompt caching

MAX_CACHE_BREAKPOINTS = 4
CACHE_LOOKBACK = 20  # prompt caching docs: a breakpoint also finds a cached prefix up to 20 blocks before it


def cache_units(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The prompt in the order the API caches it (tools, system, messages), one unit per block: its JSON
    without ``cache_control`` (which does not change the prefix) and whether it is a breakpoint."""
    blocks: list[tuple[Any, dict[str, Any]]] = [("tool", t) for t in body.get("tools") or [] if isinstance(t, dict)]
    system = body.get("system")
    system_blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system or []
    blocks += [("system", b) for b in system_blocks if isinstance(b, dict)]
    for i, msg in enumerate(body.get("messages") or []):
        content = msg.get("content")
        content = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        blocks += [((i, msg.get("role")), b) for b in content if isinstance(b, dict)]
    return [(json.dumps([where, {k: v for k, v in b.items() if k != "cache_control"}], sort_keys=True),
             "cache_control" in b) for where, b in blocks]


def count_cache_breakpoints(body: dict[str, Any]) -> int:
    nested = [inner for msg in body.get("messages") or [] if isinstance(msg.get("content"), list)
              for b in msg["content"] if isinstance(b, dict) and isinstance(b.get("content"), list)
              for inner in b["content"] if isinstance(inner, dict) and "cache_control" in inner]
    return sum(marked for _, marked in cache_units(body)) + len(nested)


class PromptCache:
    """The prefixes cached per (API key, model): a digest of the prefix's units -> its token count."""

    def __init__(self) -> None:
        self.prefixes: set[tuple[str, str, str]] = set()

    def usage(self, key: str, body: dict[str, Any]) -> tuple[int, int]:
        """(cache_read_input_tokens, cache_creation_input_tokens) for ``body``; remembers its breakpoints."""
        units = cache_units(body)
        digests: list[str] = []
        sizes: list[int] = []
        running = hashlib.sha256()
        chars = 0
        for text, _ in units:
            running.update(text.encode())
            digests.append(running.hexdigest())
            chars += len(text)
            sizes.append(chars // 4)  # one token per 4 characters, as the fake counts everywhere
        ends = [i for i, (_, marked) in enumerate(units) if marked]
        if not ends:
            return 0, 0
        model = str(body.get("model"))
        read = 0
        for end in ends:
            for i in range(end, max(end - CACHE_LOOKBACK, -1), -1):
                if (key, model, digests[i]) in self.prefixes:
                    read = max(read, sizes[i])
                    break
        for end in ends:
            self.prefixes.add((key, model, digests[end]))
        return read, max(sizes[ends[-1]] - read, 0)


def validate(body: Any) -> str | None:
    """What the real API rejects with 400 invalid_request_error (the parts the proxy could get wrong)."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            return f"{field}: Field required"
    # Unknown top-level fields are let through (Claude Code sends new ones such as context_management,
    # output_config, thinking.display, and the proxy's lossless pass-through is tested with made-up ones).
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: must be a positive integer"
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    system = body.get("system")
    if isinstance(system, list) and (problem := _validate_text_blocks(system, "system")):
        return problem
    used_ids: set[str] = set()
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant", "system"):
            return f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'"
        content = msg.get("content")
        if not isinstance(content, (str, list)):
            return f"messages.{i}.content: Input should be a valid string or list"
        if msg["role"] == "system":
            # Mid-conversation system messages (as Claude Code sends them, with their own extra keys and
            # block types) are accepted where the harness may add them: right after a user turn.
            before = next((m.get("role") for m in reversed(messages[:i]) if m.get("role") != "system"), None)
            if before != "user":
                return (f"messages.{i}: a `system` message must directly follow a `user` message"
                        if i else "messages.0: the first message must use the `user` role")
            continue
        if content == "" and i != len(messages) - 1:
            # Messages API reference: only a final assistant message (a prefill) may be empty
            return f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    return f"messages.{i}.content.{j}.type: Field required"
                if block["type"] == "tool_result" and msg["role"] != "user":
                    return f"messages.{i}.content.{j}: tool_result blocks are only allowed in user messages"
                if block["type"] == "tool_use" and (msg["role"] != "assistant" or not isinstance(block.get("input"), dict)):
                    return f"messages.{i}.content.{j}: tool_use blocks need an input object in an assistant message"
                if block["type"] == "tool_use":
                    # Tool use docs: every tool_use id is unique in the conversation
                    if block.get("id") in used_ids:
                        return f"messages.{i}.content.{j}: `tool_use` ids must be unique"
                    used_ids.add(block.get("id"))
                if block["type"] == "image":
                    source = block.get("source") or {}
                    if source.get("type") == "base64" and not (source.get("media_type") and source.get("data")):
                        return f"messages.{i}.content.{j}.source: media_type and data are required"
            if problem := _validate_text_blocks(content, f"messages.{i}.content"):
                return problem
            kinds = [b["type"] for b in content]
            last_result = max((k for k, kind in enumerate(kinds) if kind == "tool_result"), default=0)
            if any(kind != "tool_result" for kind in kinds[:last_result]):
                # Tool use docs, "Handling tool use and tool result content blocks": tool_result blocks come
                # first in the user message; text may only follow them
                return (f"messages.{i}: `tool_result` blocks must come first in the content array, before any "
                        "other content")
        if msg["role"] == "assistant" and isinstance(content, list):
            ids = {b.get("id") for b in content if b.get("type") == "tool_use"}
            if ids:
                # Tool use docs: each tool_use is answered by a tool_result in the very next (user) message
                after = messages[i + 1] if i + 1 < len(messages) else None
                after_content = after.get("content") if isinstance(after, dict) else None
                answered = {b.get("tool_use_id") for b in after_content if isinstance(b, dict)
                            and b.get("type") == "tool_result"} if isinstance(after_content, list) else set()
                if after is not None and not ids <= answered:
                    return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                            f"after: {', '.join(sorted(ids - answered))}. Each `tool_use` block must have a "
                            "corresponding `tool_result` block in the next message.")
        if msg["role"] == "user" and isinstance(content, list):
            result_ids = [b.get("tool_use_id") for b in content if b.get("type") == "tool_result"]
            if result_ids:
                # Tool use docs: a tool_result answers a tool_use of the message right before it
                before = messages[i - 1] if i else {}
                before_content = before.get("content") if before.get("role") == "assistant" else None
                offered = {b.get("id") for b in before_content if isinstance(b, dict) and b.get("type") == "tool_use"} \
                    if isinstance(before_content, list) else set()
                stray = [r for r in result_ids if r not in offered]
                if stray:
                    return (f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{', '.join(map(str, stray))}. Each `tool_result` block must have a corresponding "
                            "`tool_use` block in the previous message.")
    if (marked := count_cache_breakpoints(body)) > MAX_CACHE_BREAKPOINTS:
        return f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {marked}."
    for i, tool in enumerate(body.get("tools") or []):
        if "input_schema" in tool and (tool["input_schema"] or {}).get("type") != "object":
            return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
    if problem := _validate_signatures(messages):
        return problem
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if budget >= body["max_tokens"]:
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
    if thinking_enabled(body):
        # Extended thinking docs, "Feature compatibility": thinking isn't compatible with temperature or
        # top_k modifications (top_p only between 0.95 and 1) nor with forced tool use
        if body.get("temperature") not in (None, 1, 1.0):
            return "`temperature` may only be set to 1 when thinking is enabled"
        if body.get("top_k") is not None:
            return "`top_k` is not supported when thinking is enabled"
        top_p = body.get("top_p")
        if top_p is not None and not 0.95 <= top_p <= 1:
            return "`top_p` must be between 0.95 and 1 when thinking is enabled"
        if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
            return "Thinking may not be enabled when tool_choice forces tool use."
        if problem := _validate_thinking_history(messages):
            return problem
    return None


# ---------------------------------------------------------------- answers


def usage(reply: Reply, cache: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """``cache``: the (read, created) prompt-cache tokens, within the reply's input tokens (which the tests
    expect as they are); a scripted ``[[cached]]`` reply reads at least 3."""
    total = reply.input_tokens
    read = min(max(cache[0], reply.cached_tokens), total)
    created = min(cache[1], total - read)
    return {
        "input_tokens": total - read - created,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "output_tokens": reply.output_tokens,
        "service_tier": "standard",
    }


def content_blocks(reply: Reply, *, omit_thinking: bool = False) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking:
        blocks.append({"type": "thinking", "thinking": "" if omit_thinking else reply.thinking,
                       "signature": thinking_signature(reply.thinking)})
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool_name:
        blocks.append({"type": "tool_use", "id": tool_use_id(reply.call_index), "name": reply.tool_name,
                       "input": reply.tool_args})
    return blocks


def _event(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def stream_events(reply: Reply, model: str, *, omit_thinking: bool = False,
                  cache: tuple[int, int] = (0, 0), answer_id: str = MESSAGE_ID) -> list[bytes]:
    start_usage = {**usage(reply, cache), "output_tokens": 1}
    frames = [_event({"type": "message_start", "message": {
        "id": answer_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    index = 0
    if reply.thinking:
        frames.append(_event({"type": "content_block_start", "index": index,
                              "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
        frames.append(_event({"type": "ping"}))
        for piece in [] if omit_thinking else [reply.thinking[:20], reply.thinking[20:]]:
            frames.append(_event({"type": "content_block_delta", "index": index,
                                  "delta": {"type": "thinking_delta", "thinking": piece}}))
        frames.append(_event({"type": "content_block_delta", "index": index,
                              "delta": {"type": "signature_delta", "signature": thinking_signature(reply.thinking)}}))
        frames.append(_event({"type": "content_block_stop", "index": index}))
        index += 1
    chunks = reply.text_chunks()
    if chunks:
        frames.append(_event({"type": "content_block_start", "index": index,
                              "content_block": {"type": "text", "text": ""}}))
        if index == 0:
            frames.append(_event({"type": "ping"}))
        for piece in chunks:
            frames.append(_event({"type": "content_block_delta", "index": index,
                                  "delta": {"type": "text_delta", "text": piece}}))
        frames.append(_event({"type": "content_block_stop", "index": index}))
        index += 1
    if reply.tool_name:
        frames.append(_event({"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": tool_use_id(reply.call_index), "name": reply.tool_name, "input": {}}}))
        if index == 0:
            frames.append(_event({"type": "ping"}))
        args = json.dumps(reply.tool_args)
        frames.append(_event({"type": "content_block_delta", "index": index,
                              "delta": {"type": "input_json_delta", "partial_json": ""}}))
        for i in range(0, len(args), 9):
            frames.append(_event({"type": "content_block_delta", "index": index,
                                  "delta": {"type": "input_json_delta", "partial_json": args[i:i + 9]}}))
        frames.append(_event({"type": "content_block_stop", "index": index}))
    frames.append(_event({"type": "message_delta",
                          "delta": {"stop_reason": "tool_use" if reply.tool_name else "end_turn", "stop_sequence": None},
                          "usage": {"output_tokens": reply.output_tokens}}))
    frames.append(_event({"type": "message_stop"}))
    return frames


def api_key(request: web.Request) -> str | None:
    """``x-api-key``; newer SDKs send the same key as ``Authorization: Bearer``, which the API also takes."""
    if key := request.headers.get("x-api-key"):
        return key
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


def setup_routes(app: web.Application, fake: FakeProvider) -> None:
    prompt_cache = PromptCache()
    fake.on_reset.append(prompt_cache.prefixes.clear)

    async def messages(request: web.Request) -> web.StreamResponse:
        key = api_key(request)
        body = await read_json(request)
        entry = fake.record(request, body, key)
        if not key:
            return error_response(401, "x-api-key header is required")
        failure = fake.scripted_failure(key)
        if failure and not (failure.in_stream and isinstance(body, dict) and body.get("stream")):
            return error_response(failure.status, f"scripted failure {failure.status}", failure.retry_after)
        if not request.headers.get("anthropic-version"):
            return error_response(400, "anthropic-version: header is required")
        if problem := validate(body):
            return error_response(400, problem)
        reply = plan_reply(neutral_view(body))
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.error_status:
            return error_response(reply.error_status, f"The fake upstream failed with {reply.error_status}")
        model = body["model"]
        cache = prompt_cache.usage(key, body)
        entry.cache_read = usage(reply, cache)["cache_read_input_tokens"]
        if not body.get("stream"):
            return web.json_response({
                "id": message_id(body), "type": "message", "role": "assistant", "model": model,
                "content": content_blocks(reply, omit_thinking=thinking_omitted(body)),
                "stop_reason": "tool_use" if reply.tool_name else "end_turn", "stop_sequence": None,
                "usage": usage(reply, cache),
            }, headers={"request-id": REQUEST_ID})
        frames = stream_events(reply, model, omit_thinking=thinking_omitted(body), cache=cache,
                               answer_id=message_id(body))
        if failure:  # in_stream: Anthropic's error event after message_start, as when it is overloaded
            frames = [frames[0], _event({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
        gap = 0.02 if (reply.slow or reply.loop) else 0.0
        return await stream_frames(request, entry, frames, gap=gap,
                                   cut_after=4 if reply.cut else None)

    async def models(request: web.Request) -> web.Response:
        fake.record(request, None, api_key(request))
        data = [{"type": "model", "id": mid, "display_name": name, "created_at": created}
                for mid, name, created in MODELS]
        return web.json_response({"data": data, "has_more": False, "first_id": data[0]["id"],
                                  "last_id": data[-1]["id"]})

    async def count_tokens(request: web.Request) -> web.Response:
        body = await read_json(request)
        fake.record(request, body, api_key(request))
        if not isinstance(body, dict) or "messages" not in body or "model" not in body:
            return error_response(400, "messages: Field required")
        if "max_tokens" in body:
            return error_response(400, "max_tokens: Extra inputs are not permitted")
        # deterministic stand-in for the real tokenizer: one token per 4 characters of the messages
        return web.json_response({"input_tokens": len(json.dumps(body["messages"])) // 4})

    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", models)


def make_fake() -> FakeProvider:
    return FakeProvider("anthropic", setup_routes)
