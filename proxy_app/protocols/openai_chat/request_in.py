"""A client's chat completion request as canonical, validated field by field: an error names the
field (``messages[2].tool_call_id``), and fields the translator does not model are kept for an
OpenAI backend."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import (
    as_int,
    as_number,
    new_id,
    parse_data_url,
    require_list,
    require_str,
    split_known,
)
from proxy_app.protocols.openai_chat.extras import JSON_SCHEMA_DESCRIPTION, MAX_TOKENS_FIELD, NAME, NO_CONTENT

_KNOWN_REQUEST_FIELDS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "stop", "seed", "tools", "tool_choice", "parallel_tool_calls",
        "response_format", "reasoning_effort", "user", "metadata", "top_k",
    }
)


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
        calls = msg.get("tool_calls") or []
        if not isinstance(calls, list):
            raise c.ProxyError(f"'{where}.tool_calls' must be an array", param=f"{where}.tool_calls")
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise c.ProxyError(
                    f"'{where}.tool_calls[{j}].function.name' is required", param=f"{where}.tool_calls[{j}]"
                )
            args = fn.get("arguments")
            if args is not None and not isinstance(args, str):
                field = f"{where}.tool_calls[{j}].function.arguments"
                raise c.ProxyError(f"Invalid type for '{field}': expected a string, but got {type(args).__name__} "
                                   "instead.", param=field, code="invalid_type")
            parts.append(c.ToolCallPart(str(call.get("id") or new_id("call_")), fn["name"], args or "{}"))
        # an audio reference or a refusal of an earlier answer: OpenAI's own, kept for OpenAI only
        kept: dict[str, Any] = {k: msg[k] for k in ("audio", "refusal") if msg.get(k) is not None}
        if "content" not in msg:
            kept[NO_CONTENT] = True
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


def _tools_to_canonical(payload: dict[str, Any]) -> list[c.Tool] | None:
    if payload.get("tools") is None:
        return None
    tools = []
    for i, tool in enumerate(require_list(payload, "tools", allow_empty=True)):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise c.ProxyError(f"'tools[{i}].function.name' is required", param=f"tools[{i}].function.name")
        if not isinstance(fn.get("description"), str | None):
            raise c.ProxyError(f"'tools[{i}].function.description' must be a string",
                               param=f"tools[{i}].function.description")
        if not isinstance(fn.get("parameters"), dict | None):
            raise c.ProxyError(f"'tools[{i}].function.parameters' must be an object",
                               param=f"tools[{i}].function.parameters")
        extra = {k: v for k, v in fn.items() if k not in ("name", "description", "parameters")} or None
        tools.append(c.Tool(fn["name"], fn.get("description"), fn.get("parameters"), extra=extra))
    return tools


def _tool_choice_to_canonical(value: Any) -> c.ToolChoice | None:
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


def _response_format_to_canonical(value: Any) -> c.ResponseFormat | None:
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


def _stop_to_canonical(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise c.ProxyError("'stop' must be a string or an array of strings", param="stop")
    return stop


def _effort(value: Any) -> str:
    if not isinstance(value, str):
        raise c.ProxyError(f"Invalid type for 'reasoning_effort': expected a string, but got {type(value).__name__} "
                           "instead.", param="reasoning_effort", code="invalid_type")
    return value


def request_to_canonical(payload: dict[str, Any]) -> c.ChatRequest:
    """Parse an OpenAI chat completion request; raises ``ProxyError`` naming the bad field."""
    model = require_str(payload, "model")
    messages = [_message_to_canonical(m, i) for i, m in enumerate(require_list(payload, "messages"))]
    tools = _tools_to_canonical(payload)
    stop = _stop_to_canonical(payload.get("stop"))
    stream_options = payload.get("stream_options") or {}
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        stream=bool(payload.get("stream")),
        max_tokens=as_int(payload, "max_completion_tokens", minimum=1) or as_int(payload, "max_tokens", minimum=1),
        temperature=as_number(payload, "temperature"),
        top_p=as_number(payload, "top_p"),
        top_k=as_int(payload, "top_k"),
        stop=stop,
        seed=as_int(payload, "seed"),
        tools=tools,
        tool_choice=_tool_choice_to_canonical(payload.get("tool_choice")),
        parallel_tool_calls=payload.get("parallel_tool_calls"),
        response_format=_response_format_to_canonical(payload.get("response_format")),
        reasoning=c.Reasoning(effort=_effort(payload.get("reasoning_effort"))) if payload.get("reasoning_effort") else None,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        user=payload.get("user"),
        metadata=payload.get("metadata"),
        extra=split_known(payload, _KNOWN_REQUEST_FIELDS),
    )
    if "max_completion_tokens" in payload:
        req.meta[MAX_TOKENS_FIELD] = "max_completion_tokens"
    spec = (payload.get("response_format") or {}).get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("description"), str):
        req.meta[JSON_SCHEMA_DESCRIPTION] = spec["description"]
    return req
