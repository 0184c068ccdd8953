"""Fake OpenAI-compatible provider: Chat Completions JSON and SSE, byte-for-byte in OpenAI's shapes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from .scenario import NeutralRequest, ToolCall, human_text, plan_reply
from .server import FakeProvider, read_json, stream_frames

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4"]

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
               404: "invalid_request_error", 429: "requests", 500: "server_error", 503: "server_error"}


def error_body(status: int, message: str) -> dict[str, Any]:
    code = {401: "invalid_api_key", 429: "rate_limit_exceeded", 404: "model_not_found"}.get(status)
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": None, "code": code}}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return args if isinstance(args, dict) else {}


def neutral_view(body: dict[str, Any]) -> NeutralRequest:
    view = NeutralRequest(prompt_chars=len(json.dumps(body.get("messages", []))))
    messages = body.get("messages") or []
    for msg in messages:
        if msg.get("role") in ("system", "developer"):
            content = msg.get("content")
            view.system_text += content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                view.last_user_text = content
            else:
                view.last_user_text = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
                view.has_image = any(p.get("type") == "image_url" for p in content)
            break
    human_at = -1
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user" and (text := human_text(_content_text(messages[i].get("content")))):
            view.human_text, human_at = text, i
            break
    for i, msg in enumerate(messages):
        if msg.get("role") == "assistant":
            for call in msg.get("tool_calls") or []:
                function = call.get("function") or {}
                view.tool_calls.append(ToolCall(function.get("name", ""), _arguments(function.get("arguments"))))
                view.turn_start_calls += i < human_at
        elif msg.get("role") == "tool":
            view.tool_results.append(_content_text(msg.get("content")))
            view.turn_start_results += i < human_at
    if messages and messages[-1].get("role") == "tool":
        view.tool_result = str(messages[-1].get("content"))
    functions = [t["function"] for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    view.tool_names = [f["name"] for f in functions]
    view.tool_schemas = {f["name"]: f.get("parameters") or {} for f in functions}
    response_format = body.get("response_format") or {}
    fmt = response_format.get("type")
    view.wants_json = fmt in ("json_object", "json_schema")
    if fmt == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        view.json_schema = schema if isinstance(schema, dict) else {}
    view.wants_thinking = bool(body.get("reasoning_effort"))
    return view


def validate_tool_messages(messages: list[Any]) -> str | None:
    """The tool-call pairing the real API enforces (Chat Completions reference, ``messages``: a ``tool``
    message answers a ``tool_call_id`` of the assistant message before it, and an assistant message's
    ``tool_calls`` are each answered by tool messages before the conversation goes on)."""
    open_ids: list[str] = []  # the latest assistant message's calls not yet answered
    in_tool_block = False  # after an assistant message with tool_calls, before any other message
    for msg in messages:
        role = msg.get("role") if isinstance(msg, dict) else None
        if role == "tool":
            if not in_tool_block:
                return ("Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                        "with 'tool_calls'.")
            call_id = msg.get("tool_call_id")
            if call_id not in open_ids:
                return f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of previous message."
            open_ids.remove(call_id)
            continue
        if open_ids:
            return ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                    f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(open_ids)}")
        in_tool_block = role == "assistant" and bool(msg.get("tool_calls"))
        open_ids = [c.get("id") for c in msg.get("tool_calls") or []] if in_tool_block else []
    return None


def _usage(reply: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def setup_routes(app: web.Application, fake: FakeProvider) -> None:
    async def chat(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else None
        body = await read_json(request)
        entry = fake.record(request, body, key)
        failure = fake.scripted_failure(key)
        if failure and not (failure.in_stream and isinstance(body, dict) and body.get("stream")):
            headers = {"retry-after": str(int(failure.retry_after))} if failure.retry_after is not None else {}
            return web.json_response(error_body(failure.status, f"scripted failure {failure.status}"),
                                     status=failure.status, headers=headers)
        if not isinstance(body, dict) or "model" not in body or "messages" not in body:
            return web.json_response(error_body(400, "you must provide a model parameter"), status=400)
        if isinstance(body["messages"], list) and (problem := validate_tool_messages(body["messages"])):
            return web.json_response(error_body(400, problem), status=400)
        reply = plan_reply(neutral_view(body))
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.error_status:
            return web.json_response(error_body(reply.error_status, f"The fake upstream failed with {reply.error_status}"),
                                     status=reply.error_status)
        created = int(time.time())
        cid = "chatcmpl-fake123"
        call_id = f"call_fake{reply.call_index}"  # unique in the conversation, as real call ids are
        model = body["model"]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None,
                                       "annotations": []}
            if reply.thinking:
                message["reasoning_content"] = reply.thinking
            finish = "stop"
            if reply.tool_name:
                message["tool_calls"] = [{"id": call_id, "type": "function",
                                          "function": {"name": reply.tool_name, "arguments": json.dumps(reply.tool_args)}}]
                finish = "tool_calls"
            completion = {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": _usage(reply), "service_tier": "default", "system_fingerprint": "fp_fake",
            }
            if reply.no_usage:
                del completion["usage"]
            return web.json_response(completion)

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            obj: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                   "service_tier": "default", "system_fingerprint": "fp_fake",
                                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                obj["usage"] = None
            return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

        frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
        if reply.thinking:
            frames.append(chunk({"reasoning_content": reply.thinking}))
        for piece in reply.text_chunks():
            frames.append(chunk({"content": piece}))
        finish = "stop"
        if reply.tool_name:
            args = json.dumps(reply.tool_args)
            frames.append(chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                                 "function": {"name": reply.tool_name, "arguments": ""}}]}))
            for i in range(0, len(args), 7):
                frames.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + 7]}}]}))
            finish = "tool_calls"
        frames.append(chunk({}, finish))
        if include_usage and not reply.no_usage:
            usage_obj = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                         "service_tier": "default", "system_fingerprint": "fp_fake", "choices": [],
                         "usage": _usage(reply)}
            frames.append(b"data: " + json.dumps(usage_obj, separators=(",", ":")).encode() + b"\n\n")
        frames.append(b"data: [DONE]\n\n")
        if failure:  # in_stream: OpenAI's mid-stream error, after the opening
            error = json.dumps(error_body(failure.status, f"scripted failure {failure.status}"), separators=(",", ":"))
            frames = [frames[0], b"data: " + error.encode() + b"\n\n"]
        gap = 0.02 if (reply.slow or reply.loop) else 0.0
        return await stream_frames(request, entry, frames, gap=gap, cut_after=3 if reply.cut else None,
                                   linger=reply.linger)

    async def models(request: web.Request) -> web.Response:
        fake.record(request, None, request.headers.get("Authorization", "")[7:] or None)
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in MODELS]})

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)


def make_fake() -> FakeProvider:
    return FakeProvider("openai", setup_routes)
