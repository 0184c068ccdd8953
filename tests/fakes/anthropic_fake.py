"""Fake Anthropic Messages API: ``POST /v1/messages`` (JSON and named SSE events) and ``GET /v1/models``.

Written by hand from Anthropic's API reference (never with the proxy's translators):

* auth by ``x-api-key`` (or ``Authorization: Bearer``, as anthropic SDK 2.x sends it); ``anthropic-version`` is required (400 without it);
* JSON ``message`` objects whose ``usage.input_tokens`` excludes cached tokens
  (``cache_read_input_tokens`` / ``cache_creation_input_tokens`` are separate);
* the stream ``message_start`` › ``ping`` › (``content_block_start`` › ``content_block_delta``… ›
  ``content_block_stop``)… › ``message_delta`` › ``message_stop``, with ``thinking_delta`` and
  ``signature_delta`` for thinking blocks and ``input_json_delta`` for tool_use blocks;
* errors ``{"type":"error","error":{"type":…,"message":…},"request_id":…}``, ``retry-after`` on 429.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .scenario import NeutralRequest, Reply, plan_reply
from .server import FakeProvider, read_json, stream_frames

MODELS = [
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
]
MESSAGE_ID = "msg_01FakeXyZ9aBcDeFgHiJkLmN"
TOOL_USE_ID = "toolu_01FakeA1b2C3d4E5f6G7h8"
SIGNATURE = "EqQBCkgIARABGAIiQFakeSignatureForThinkingBlock0123456789abcdefEgwFakeSig"
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
    view.tool_names = [t["name"] for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    config = body.get("output_config") or {}
    view.wants_json = bool(config.get("format") or body.get("output_format"))
    view.wants_thinking = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    return view


def validate(body: Any) -> str | None:
    """What the real API rejects with 400 invalid_request_error (the parts the proxy could get wrong)."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            return f"{field}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: must be a positive integer"
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = msg.get("content")
        if not isinstance(content, (str, list)):
            return f"messages.{i}.content: Input should be a valid string or list"
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    return f"messages.{i}.content.{j}.type: Field required"
                if block["type"] == "tool_result" and msg["role"] != "user":
                    return f"messages.{i}.content.{j}: tool_result blocks are only allowed in user messages"
                if block["type"] == "tool_use" and (msg["role"] != "assistant" or not isinstance(block.get("input"), dict)):
                    return f"messages.{i}.content.{j}: tool_use blocks need an input object in an assistant message"
                if block["type"] == "image":
                    source = block.get("source") or {}
                    if source.get("type") == "base64" and not (source.get("media_type") and source.get("data")):
                        return f"messages.{i}.content.{j}.source: media_type and data are required"
        if msg["role"] == "assistant" and isinstance(content, list):
            ids = {b.get("id") for b in content if b.get("type") == "tool_use"}
            if ids:
                after = messages[i + 1] if i + 1 < len(messages) else None
                after_content = after.get("content") if isinstance(after, dict) else None
                answered = {b.get("tool_use_id") for b in after_content if b.get("type") == "tool_result"} \
                    if isinstance(after_content, list) else set()
                if after is not None and not ids <= answered:
                    return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                            f"after: {', '.join(sorted(ids - answered))}")
    for i, tool in enumerate(body.get("tools") or []):
        if "input_schema" in tool and (tool["input_schema"] or {}).get("type") != "object":
            return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if budget >= body["max_tokens"]:
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
        if body.get("temperature") not in (None, 1, 1.0):
            return "`temperature` may only be set to 1 when thinking is enabled"
    return None


# ---------------------------------------------------------------- answers


def usage(reply: Reply) -> dict[str, Any]:
    return {
        "input_tokens": reply.input_tokens - reply.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": reply.cached_tokens,
        "output_tokens": reply.output_tokens,
        "service_tier": "standard",
    }


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.thinking:
        blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": SIGNATURE})
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool_name:
        blocks.append({"type": "tool_use", "id": TOOL_USE_ID, "name": reply.tool_name, "input": reply.tool_args})
    return blocks


def _event(payload: dict[str, Any]) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def stream_events(reply: Reply, model: str) -> list[bytes]:
    start_usage = {**usage(reply), "output_tokens": 1}
    frames = [_event({"type": "message_start", "message": {
        "id": MESSAGE_ID, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    index = 0
    if reply.thinking:
        frames.append(_event({"type": "content_block_start", "index": index,
                              "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
        frames.append(_event({"type": "ping"}))
        for piece in [reply.thinking[:20], reply.thinking[20:]]:
            frames.append(_event({"type": "content_block_delta", "index": index,
                                  "delta": {"type": "thinking_delta", "thinking": piece}}))
        frames.append(_event({"type": "content_block_delta", "index": index,
                              "delta": {"type": "signature_delta", "signature": SIGNATURE}}))
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
            "type": "tool_use", "id": TOOL_USE_ID, "name": reply.tool_name, "input": {}}}))
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
        if not body.get("stream"):
            return web.json_response({
                "id": MESSAGE_ID, "type": "message", "role": "assistant", "model": model,
                "content": content_blocks(reply),
                "stop_reason": "tool_use" if reply.tool_name else "end_turn", "stop_sequence": None,
                "usage": usage(reply),
            }, headers={"request-id": REQUEST_ID})
        frames = stream_events(reply, model)
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
