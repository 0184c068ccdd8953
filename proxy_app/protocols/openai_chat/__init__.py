"""OpenAI Chat Completions wire format <-> canonical model. Pure: dict in, dict out."""

from __future__ import annotations

import time
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import (
    WEB_SEARCH,
    as_int,
    as_number,
    new_id,
    parse_data_url,
    require_list,
    require_str,
    split_known,
    to_data_url,
    web_search_note,
)
from proxy_app.protocols.sse import sse_data

NAME = "openai_chat"

_KNOWN_REQUEST_FIELDS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "stop", "seed", "tools", "tool_choice", "parallel_tool_calls",
        "response_format", "reasoning_effort", "user", "metadata", "top_k",
    }
)

_OPENAI_RESPONSE_EXTRAS = frozenset({"system_fingerprint", "service_tier"})
# ``TextPart.extra`` key: the text is the model's refusal (``message.refusal``), not its content.
REFUSAL = "refusal"
# Marker (a same-protocol ``Message.extra`` key, never sent) on an assistant message sent without ``content``.
_NO_CONTENT = "__openai_no_content__"
# ``ChatRequest.meta`` key: ``response_format.json_schema.description``, which OpenAI alone reads.
JSON_SCHEMA_DESCRIPTION = "openai_json_schema_description"

FINISH_REASON_OUT: dict[str | None, str | None] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "loop_detected": "stop",
    "error": "stop",
    None: None,
}
FINISH_REASON_IN: dict[str | None, c.StopReason | None] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    None: None,
}

ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "api_error": "server_error",
    "bad_gateway": "server_error",
    "unavailable": "server_error",
    "timeout": "timeout_error",
    "overloaded": "server_error",
}


# ---------------------------------------------------------------- request


def _content_to_parts(content: Any, where: str) -> list[c.Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [c.TextPart(content)]
    if not isinstance(content, list):
        raise c.ProxyError(f"'{where}.content' must be a string or an array of content parts", param=f"{where}.content")
    parts: list[c.Part] = []
    for i, item in enumerate(content):
        if not isinstance(item, dict):
            raise c.ProxyError(f"'{where}.content[{i}]' must be an object", param=f"{where}.content[{i}]")
        kind = item.get("type")
        if kind == "text":
            parts.append(c.TextPart(require_str(item, "text", f"{where}.content[{i}]")))
        elif kind == "image_url":
            image = item.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise c.ProxyError(
                    f"'{where}.content[{i}].image_url.url' is required", param=f"{where}.content[{i}].image_url.url"
                )
            detail = image.get("detail") if isinstance(image, dict) else None
            inline = parse_data_url(url, f"{where}.content[{i}].image_url.url")
            if inline:
                parts.append(c.ImagePart(data=inline[1], media_type=inline[0], detail=detail))
            else:
                parts.append(c.ImagePart(url=url, detail=detail))
        else:
            parts.append(c.RawPart(NAME, item))
    return parts


def _message_to_canonical(msg: Any, i: int) -> c.Message:
    where = f"messages[{i}]"
    if not isinstance(msg, dict):
        raise c.ProxyError(f"'{where}' must be an object", param=where)
    role = msg.get("role")
    name = msg.get("name")
    if role in ("system", "developer"):
        return c.Message(
            "system",
            _content_to_parts(msg.get("content"), where),
            name=name,
            extra={"role": role} if role == "developer" else None,
        )
    if role == "user":
        return c.Message("user", _content_to_parts(msg.get("content"), where), name=name)
    if role == "assistant":
        parts: list[c.Part] = []
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append(c.ThinkingPart(reasoning))
        parts.extend(_content_to_parts(msg.get("content"), where))
        for j, call in enumerate(msg.get("tool_calls") or []):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise c.ProxyError(
                    f"'{where}.tool_calls[{j}].function.name' is required", param=f"{where}.tool_calls[{j}]"
                )
            args = fn.get("arguments")
            parts.append(c.ToolCallPart(str(call.get("id") or new_id("call_")), fn["name"], args or "{}"))
        # an audio reference or a refusal of an earlier answer: OpenAI's own, kept for OpenAI only
        kept: dict[str, Any] = {k: msg[k] for k in ("audio", "refusal") if msg.get(k) is not None}
        if "content" not in msg:
            kept[_NO_CONTENT] = True
        return c.Message("assistant", parts, name=name, extra=kept or None)
    if role == "tool":
        call_id = msg.get("tool_call_id")
        if not isinstance(call_id, str):
            raise c.ProxyError(f"'{where}.tool_call_id' is required for tool messages", param=f"{where}.tool_call_id")
        content = [p for p in _content_to_parts(msg.get("content"), where) if isinstance(p, (c.TextPart, c.ImagePart))]
        return c.Message("tool", [c.ToolResultPart(call_id, content, name=name)])
    raise c.ProxyError(
        f"'{where}.role' must be one of system, developer, user, assistant, tool (got {role!r})", param=f"{where}.role"
    )


def _tool_choice_in(value: Any) -> c.ToolChoice | None:
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return c.ToolChoice(value)
    if isinstance(value, dict) and isinstance(value.get("function"), dict):
        name = value["function"].get("name")
        if not isinstance(name, str) or not name:
            raise c.ProxyError("'tool_choice.function.name' is required", param="tool_choice.function.name")
        return c.ToolChoice("tool", name)
    raise c.ProxyError("'tool_choice' must be auto, none, required or a function choice", param="tool_choice")


def _response_format_in(value: Any) -> c.ResponseFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise c.ProxyError("'response_format.type' must be text, json_object or json_schema", param="response_format")
    if value["type"] == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise c.ProxyError("'response_format.json_schema' must be an object", param="response_format.json_schema")
        return c.ResponseFormat("json_schema", spec.get("schema"), spec.get("name"), spec.get("strict"))
    return c.ResponseFormat(value["type"])


def request_to_canonical(payload: dict[str, Any]) -> c.ChatRequest:
    """Parse an OpenAI chat completion request; raises ``ProxyError`` naming the bad field."""
    model = require_str(payload, "model")
    messages = [_message_to_canonical(m, i) for i, m in enumerate(require_list(payload, "messages"))]
    tools = None
    if payload.get("tools") is not None:
        tools = []
        for i, tool in enumerate(require_list(payload, "tools", allow_empty=True)):
            fn = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise c.ProxyError(f"'tools[{i}].function.name' is required", param=f"tools[{i}].function.name")
            extra = {k: v for k, v in fn.items() if k not in ("name", "description", "parameters")} or None
            tools.append(c.Tool(fn["name"], fn.get("description"), fn.get("parameters"), extra=extra))
    stop = payload.get("stop")
    if stop is not None and not isinstance(stop, str) and (
            not isinstance(stop, list) or not all(isinstance(item, str) for item in stop)):
        raise c.ProxyError("'stop' must be a string or an array of strings", param="stop")
    stream_options = payload.get("stream_options") or {}
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        stream=bool(payload.get("stream")),
        max_tokens=as_int(payload, "max_completion_tokens") or as_int(payload, "max_tokens"),
        temperature=as_number(payload, "temperature"),
        top_p=as_number(payload, "top_p"),
        top_k=as_int(payload, "top_k"),
        stop=[stop] if isinstance(stop, str) else stop,
        seed=as_int(payload, "seed"),
        tools=tools,
        tool_choice=_tool_choice_in(payload.get("tool_choice")),
        parallel_tool_calls=payload.get("parallel_tool_calls"),
        response_format=_response_format_in(payload.get("response_format")),
        reasoning=c.Reasoning(effort=payload["reasoning_effort"]) if payload.get("reasoning_effort") else None,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        user=payload.get("user"),
        metadata=payload.get("metadata"),
        extra=split_known(payload, _KNOWN_REQUEST_FIELDS),
    )
    if "max_completion_tokens" in payload:
        req.meta["openai_max_tokens_field"] = "max_completion_tokens"
    spec = (payload.get("response_format") or {}).get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("description"), str):
        req.meta[JSON_SCHEMA_DESCRIPTION] = spec["description"]
    return req


def _parts_to_content(parts: list[c.Part]) -> str | list[dict[str, Any]] | None:
    if not parts:
        return None
    if all(isinstance(p, c.TextPart) for p in parts) and len(parts) == 1:
        return parts[0].text  # type: ignore[union-attr]
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, c.ImagePart):
            url = p.url or to_data_url(p.media_type, p.data)
            image: dict[str, Any] = {"url": url}
            if p.detail:
                image["detail"] = p.detail
            out.append({"type": "image_url", "image_url": image})
        elif isinstance(p, c.RawPart) and p.protocol == NAME:
            out.append(p.data)
    return out


def _message_from_canonical(msg: c.Message, same_protocol: bool) -> list[dict[str, Any]]:
    if msg.role == "tool":
        out = []
        images: list[c.Part] = []
        for part in msg.parts:
            if isinstance(part, c.ToolResultPart):
                # a tool message takes text only: images (an Anthropic client's screenshot) follow the
                # results in a user message, as OpenAI's vision guide shows images
                texts: list[c.Part] = [p for p in part.content if not isinstance(p, c.ImagePart)]
                images += [p for p in part.content if isinstance(p, c.ImagePart)]
                content = _parts_to_content(texts)
                out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": content or ""})
        if images:
            out.append({"role": "user", "content": _parts_to_content(images)})
        return out
    if msg.role == "system" and not same_protocol and not msg.text():
        return []  # e.g. an Anthropic system turn that only carried per-turn settings
    wire: dict[str, Any] = {"role": msg.role}
    if msg.role == "system" and same_protocol and msg.extra and msg.extra.get("role") == "developer":
        wire["role"] = "developer"
    content_parts = [p for p in msg.parts if isinstance(p, (c.TextPart, c.ImagePart, c.RawPart))]
    wire["content"] = _parts_to_content(content_parts)
    if msg.role == "assistant":
        calls = [p for p in msg.parts if isinstance(p, c.ToolCallPart)]
        if calls:
            wire["tool_calls"] = [
                {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}} for p in calls
            ]
        thinking = "".join(p.text for p in msg.parts if isinstance(p, c.ThinkingPart))
        if thinking:
            wire["reasoning_content"] = thinking
    elif wire["content"] is None:
        wire["content"] = ""
    if msg.name:
        wire["name"] = msg.name
    if same_protocol and msg.role == "assistant" and msg.extra:
        wire.update({k: v for k, v in msg.extra.items() if k in ("audio", "refusal")})
        if msg.extra.get(_NO_CONTENT) and wire["content"] is None:
            del wire["content"]
    return [wire]


# Thinking budgets (Anthropic ``budget_tokens``, Gemini ``thinkingBudget``) as OpenAI effort levels:
# the level whose typical budget is nearest on a log scale (1024 / 8192 / 24576 tokens).
_EFFORT_BUDGET_LIMITS = ((2896, "low"), (14189, "medium"))


def _reasoning_effort_out(reasoning: c.Reasoning | None) -> str | None:
    """``reasoning_effort`` for a canonical reasoning request; budgets-only requests map to a level."""
    if reasoning is None or not reasoning.enabled:
        return None
    if reasoning.effort:
        return reasoning.effort
    if reasoning.budget_tokens is None:
        # no size given (Codex's summary:"auto", Gemini's includeThoughts): showing thoughts is not
        # choosing an effort, so the model's own default stands
        return None
    for limit, level in _EFFORT_BUDGET_LIMITS:
        if reasoning.budget_tokens < limit:
            return level
    return "high"


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the OpenAI wire request for ``req`` (``req.model`` is the upstream model name)."""
    same = req.source_protocol == NAME
    out: dict[str, Any] = {"model": req.model, "messages": []}
    messages = web_search_note(req.messages) if req.meta.get(WEB_SEARCH) and not same else req.messages
    for msg in messages:
        out["messages"].extend(_message_from_canonical(msg, same))
    if req.stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    if req.max_tokens is not None:
        field = req.meta.get("openai_max_tokens_field", "max_tokens") if same else "max_tokens"
        out[field] = req.max_tokens
    for key in ("temperature", "top_p", "seed", "user", "parallel_tool_calls"):
        value = getattr(req, key)
        if value is not None:
            out[key] = value
    if same and req.top_k is not None:
        out["top_k"] = req.top_k
    if req.stop:
        out["stop"] = req.stop
    if req.tools is not None:
        out["tools"] = []
        for tool in req.tools:
            fn: dict[str, Any] = {"name": tool.name}
            if tool.description is not None:
                fn["description"] = tool.description
            if tool.parameters is not None:
                fn["parameters"] = tool.parameters
            if same and tool.extra:
                fn.update(tool.extra)
            out["tools"].append({"type": "function", "function": fn})
    if req.tool_choice is not None:
        tc = req.tool_choice
        out["tool_choice"] = {"type": "function", "function": {"name": tc.name}} if tc.mode == "tool" else tc.mode
    if req.response_format is not None:
        rf = req.response_format
        if rf.type == "json_schema":
            spec: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
            if rf.strict is not None:
                spec["strict"] = rf.strict
            if same and isinstance(req.meta.get(JSON_SCHEMA_DESCRIPTION), str):
                spec = {"name": spec.pop("name"), "description": req.meta[JSON_SCHEMA_DESCRIPTION], **spec}
            out["response_format"] = {"type": "json_schema", "json_schema": spec}
        else:
            out["response_format"] = {"type": rf.type}
    effort = _reasoning_effort_out(req.reasoning)
    if effort is not None:
        out["reasoning_effort"] = effort
    if same:
        if req.metadata is not None:
            out["metadata"] = req.metadata
        out.update(req.extra)
    elif req.source_protocol == "openai_responses":
        # the Responses fields Chat Completions takes as they are (Codex's cache identity, its no-store)
        out.update({k: req.extra[k] for k in _SHARED_WITH_RESPONSES if k in req.extra})
    return out


# Request fields that mean the same in OpenAI's Responses and Chat Completions APIs.
_SHARED_WITH_RESPONSES = ("prompt_cache_key", "store", "safety_identifier", "service_tier")


# ---------------------------------------------------------------- response


def _usage_in(usage: Any) -> c.Usage:
    if not isinstance(usage, dict):
        return c.Usage()
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return c.Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


def usage_from_canonical(usage: c.Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    choices = payload.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    parts: list[c.Part] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        parts.append(c.ThinkingPart(reasoning))
    if isinstance(message.get("content"), str) and message["content"]:
        parts.append(c.TextPart(message["content"]))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append(c.TextPart(message["refusal"], extra={REFUSAL: True}))  # text for other protocols' clients
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        parts.append(c.ToolCallPart(call.get("id") or new_id("call_"), fn.get("name", ""), fn.get("arguments") or ""))
    extra = {k: v for k, v in payload.items() if k in _OPENAI_RESPONSE_EXTRAS}
    return c.ChatResponse(
        id=payload.get("id") or new_id("chatcmpl-"),
        model=payload.get("model") or "",
        parts=parts,
        stop_reason=FINISH_REASON_IN.get(choice.get("finish_reason"), "end_turn"),
        usage=_usage_in(payload.get("usage")),
        created=payload.get("created"),
        extra=extra,
    )


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> dict[str, Any]:
    texts = [p for p in resp.parts if isinstance(p, c.TextPart)]
    refusal = "".join(p.text for p in texts if p.extra and p.extra.get(REFUSAL)) or None
    content = "".join(p.text for p in texts if not (p.extra and p.extra.get(REFUSAL))) or None
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    thinking = "".join(p.text for p in resp.parts if isinstance(p, c.ThinkingPart))
    if thinking:
        message["reasoning_content"] = thinking
    calls = [p for p in resp.parts if isinstance(p, c.ToolCallPart)]
    if calls:
        message["tool_calls"] = [
            {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": p.arguments}} for p in calls
        ]
    out: dict[str, Any] = {
        "id": resp.id if resp.id.startswith("chatcmpl") else f"chatcmpl-{resp.id}",
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": FINISH_REASON_OUT[resp.stop_reason]}
        ],
        "usage": usage_from_canonical(resp.usage),
    }
    # only OpenAI's own response fields: another protocol's extras must not leak into this shape
    out.update({k: v for k, v in resp.extra.items() if k in _OPENAI_RESPONSE_EXTRAS})
    return out


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """Turns OpenAI ``chat.completion.chunk`` objects into canonical stream events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._tool_ids: dict[int, str] = {}

    def feed(self, chunk: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        events: list[c.StreamEvent] = []
        if "error" in chunk and "choices" not in chunk:
            err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            return [c.StreamError(c.ProxyError(str(err.get("message")), kind="bad_gateway"))]
        if not self._started:
            self._started = True
            events.append(c.StreamStart(chunk.get("id") or new_id("chatcmpl-"), chunk.get("model") or ""))
        if chunk.get("usage"):
            self._usage = _usage_in(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events.append(c.ThinkingDelta(reasoning))
            if isinstance(delta.get("content"), str) and delta["content"]:
                events.append(c.TextDelta(delta["content"]))
            if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                events.append(c.TextDelta(delta["refusal"]))  # a stream has no refusal event: the client reads it
            for call in delta.get("tool_calls") or []:
                index = int(call.get("index", len(self._tool_ids)))
                fn = call.get("function") or {}
                if index not in self._tool_ids:
                    self._tool_ids[index] = call.get("id") or new_id("call_")
                    events.append(c.ToolCallStart(index, self._tool_ids[index], fn.get("name") or ""))
                if fn.get("arguments"):
                    events.append(c.ToolCallDelta(index, fn["arguments"]))
            if choice.get("finish_reason"):
                self._stop = FINISH_REASON_IN.get(choice["finish_reason"], "end_turn")
        return events

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or "end_turn", self._usage)]


class StreamEncoder:
    """Renders canonical stream events as OpenAI SSE chunks (``data: {...}`` ... ``data: [DONE]``)."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = new_id("chatcmpl-")
        self.created = int(time.time())

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return sse_data(chunk)

    def encode(self, event: c.StreamEvent) -> bytes:
        if isinstance(event, c.TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, c.ToolCallDelta):
            return self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": event.arguments}}]})
        if isinstance(event, c.ThinkingDelta):
            return self._chunk({"reasoning_content": event.text}) if event.text else b""
        if isinstance(event, c.ToolCallStart):
            call = {"index": event.index, "id": event.id, "type": "function",
                    "function": {"name": event.name, "arguments": ""}}
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, c.StreamStart):
            if event.id:
                self.id = event.id if event.id.startswith("chatcmpl") else f"chatcmpl-{event.id}"
            return self._chunk({"role": "assistant", "content": "", "refusal": None})
        if isinstance(event, c.StreamEnd):
            out = self._chunk({}, FINISH_REASON_OUT[event.stop_reason] or "stop")
            if self.include_usage:
                out += sse_data(
                    {
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": usage_from_canonical(event.usage),
                    }
                )
            return out + b"data: [DONE]\n\n"
        if isinstance(event, c.StreamError):
            return sse_data(error_body(event.error))
        return b""


# ---------------------------------------------------------------- errors


def error_body(err: c.ProxyError) -> dict[str, Any]:
    return {
        "error": {
            "message": err.message,
            "type": ERROR_TYPES.get(err.kind, "invalid_request_error"),
            "param": err.param,
            "code": err.code,
        }
    }


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream OpenAI-style error body (or anything else) into a ``ProxyError``."""
    message = None
    code = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            code = err.get("code")
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    return c.ProxyError(str(message), kind=c.error_kind_for_status(status), status=status,
                        code=code if isinstance(code, str) else None)
