"""Fake OpenAI-compatible provider: Chat Completions JSON and SSE, byte-for-byte in OpenAI's shapes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from .scenario import NeutralRequest, plan_reply
from .server import FakeProvider, read_json, stream_frames

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4"]

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
               404: "invalid_request_error", 429: "requests", 500: "server_error", 503: "server_error"}


def error_body(status: int, message: str) -> dict[str, Any]:
    code = {401: "invalid_api_key", 429: "rate_limit_exceeded", 404: "model_not_found"}.get(status)
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": None, "code": code}}


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
    if messages and messages[-1].get("role") == "tool":
        view.tool_result = str(messages[-1].get("content"))
    view.tool_names = [t["function"]["name"] for t in body.get("tools") or []]
    fmt = (body.get("response_format") or {}).get("type")
    view.wants_json = fmt in ("json_object", "json_schema")
    view.wants_thinking = bool(body.get("reasoning_effort"))
    return view


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
        reply = plan_reply(neutral_view(body))
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.error_status:
            return web.json_response(error_body(reply.error_status, f"The fake upstream failed with {reply.error_status}"),
                                     status=reply.error_status)
        created = int(time.time())
        cid = "chatcmpl-fake123"
        model = body["model"]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None,
                                       "annotations": []}
            if reply.thinking:
                message["reasoning_content"] = reply.thinking
            finish = "stop"
            if reply.tool_name:
                message["tool_calls"] = [{"id": "call_fake1", "type": "function",
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
            frames.append(chunk({"tool_calls": [{"index": 0, "id": "call_fake1", "type": "function",
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
