"""OpenAI Responses API wire format (``/v1/responses``) <-> canonical model. Pure: dict in, dict out."""

from __future__ import annotations

import time
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols import openai_chat
from proxy_app.protocols.common import (
    WEB_SEARCH,
    as_int,
    as_number,
    new_id,
    parse_data_url,
    require_str,
    split_known,
    to_data_url,
)
from proxy_app.protocols.sse import sse_event

NAME = "openai_responses"

# Same-protocol extras live under this key of a part's ``extra`` (ids, encrypted reasoning, annotations),
# so no other protocol's extras can be mistaken for them when a response is rendered.
X = NAME

# Markers kept in same-protocol extras (never emitted): content given as a string, tool output as a list.
_STRING = "__string"
_LIST = "__list"

# ``ChatRequest.meta`` keys this module reads and writes.
META_ECHO = "openai_responses_echo"  # the request fields a Response object repeats back
META_BUILTIN_TOOLS = "openai_responses_builtin_tools"  # web_search & co: same-protocol only
META_TOOL_CHOICE = "openai_responses_tool_choice"  # a tool_choice canonical cannot express
META_REASONING = "openai_responses_reasoning"  # the raw ``reasoning`` object (summary, …)
META_TEXT = "openai_responses_text"  # the raw ``text`` object (verbosity, format description)
META_INPUT_STRING = "openai_responses_input_string"  # ``input`` was a plain string

STATEFUL_UNSUPPORTED = (
    "'{field}' refers to conversation state stored by OpenAI, which this proxy cannot honour: it "
    "translates every request through a stateless canonical form and may answer from any backend. "
    "Send the whole conversation in 'input' instead (and 'store': false)."
)

_KNOWN_REQUEST_FIELDS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens",
        "temperature", "top_p", "reasoning", "text", "stream", "metadata", "user",
    }
)
# Request fields a Response object echoes back when the client sent them.
_ECHO_FIELDS = (
    "instructions", "max_output_tokens", "max_tool_calls", "metadata", "parallel_tool_calls",
    "previous_response_id", "prompt_cache_key", "reasoning", "safety_identifier", "service_tier",
    "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
)
_RESPONSE_EXTRAS = frozenset({"service_tier", "system_fingerprint"})

INCOMPLETE_REASON_OUT: dict[str | None, str] = {"max_tokens": "max_output_tokens", "content_filter": "content_filter"}
INCOMPLETE_REASON_IN: dict[str | None, c.StopReason] = {
    "max_output_tokens": "max_tokens", "content_filter": "content_filter",
}

# ``Response.error.code`` values (a closed list in the SDK) for canonical error kinds.
_FAILURE_CODES = {"rate_limit": "rate_limit_exceeded", "invalid_request": "invalid_prompt"}
_FAILURE_KINDS = {"rate_limit_exceeded": "rate_limit", "invalid_prompt": "invalid_request", "server_error": "api_error"}

# Thinking budgets as effort levels: the level whose typical budget is nearest on a log scale
# (1024 / 8192 / 24576 tokens), as the chat translator does for ``reasoning_effort``.
_EFFORT_BUDGET_LIMITS = ((2896, "low"), (14189, "medium"))


def _x(extra: c.Extra) -> dict[str, Any]:
    """This protocol's own extras of a part (empty for parts from other protocols)."""
    value = (extra or {}).get(X)
    return value if isinstance(value, dict) else {}


def _with_x(values: dict[str, Any]) -> c.Extra:
    kept = {k: v for k, v in values.items() if v is not None}
    return {X: kept} if kept else None


# ---------------------------------------------------------------- request: wire -> canonical


def _image_in(item: dict[str, Any], where: str) -> c.Part:
    url = item.get("image_url")
    if not isinstance(url, str):
        if item.get("file_id") is not None:
            return c.RawPart(NAME, item)  # an uploaded OpenAI file: only OpenAI can resolve it
        raise c.ProxyError(f"'{where}.image_url' or '{where}.file_id' is required", param=f"{where}.image_url")
    detail = item.get("detail")
    inline = parse_data_url(url, f"{where}.image_url")
    if inline:
        return c.ImagePart(data=inline[1], media_type=inline[0], detail=detail)
    return c.ImagePart(url=url, detail=detail)


def _content_in(content: Any, where: str, field: str = "content") -> list[c.Part]:
    """Message content (a string or content parts) as canonical parts."""
    name = f"{where}.{field}" if where else field
    if isinstance(content, str):
        return [c.TextPart(content)]
    if not isinstance(content, list):
        raise c.ProxyError(f"'{name}' must be a string or an array of content parts", param=name)
    parts: list[c.Part] = []
    for i, item in enumerate(content):
        here = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise c.ProxyError(f"'{here}' must be an object", param=here)
        kind = item.get("type")
        if kind in ("input_text", "output_text"):
            extra = {k: v for k, v in item.items() if k not in ("type", "text")}
            parts.append(c.TextPart(require_str(item, "text", here), extra={X: extra} if extra else None))
        elif kind == "input_image":
            parts.append(_image_in(item, here))
        else:  # input_file, input_audio, refusal, …
            parts.append(c.RawPart(NAME, item))
    return parts


def _tool_output_in(output: Any, where: str) -> list[c.TextPart | c.ImagePart]:
    if output is None:
        return []
    if isinstance(output, str):
        return [c.TextPart(output)]
    parts = _content_in(output, where, "output")
    return [p for p in parts if isinstance(p, (c.TextPart, c.ImagePart))]


def _reasoning_item_in(item: dict[str, Any]) -> c.ThinkingPart:
    summary = item.get("summary") or []
    texts = [s.get("text", "") for s in summary if isinstance(s, dict)]
    text = "\n\n".join(texts)
    if not text and isinstance(item.get("content"), list):
        text = "".join(p.get("text", "") for p in item["content"] if isinstance(p, dict))
    kept = {k: v for k, v in item.items() if k != "type"}
    return c.ThinkingPart(text, extra={X: kept})


class _Turns:
    """Collects input items into canonical messages: consecutive assistant-side items
    (reasoning, output messages, function calls) form one assistant turn."""

    def __init__(self) -> None:
        self.messages: list[c.Message] = []
        self._assistant: c.Message | None = None

    def add(self, msg: c.Message) -> None:
        self._assistant = None
        self.messages.append(msg)

    def assistant(self, part: c.Part) -> None:
        if self._assistant is None:
            self._assistant = c.Message("assistant", [])
            self.messages.append(self._assistant)
        self._assistant.parts.append(part)


def _input_in(value: Any) -> list[c.Message]:
    if isinstance(value, str):
        return [c.Message("user", [c.TextPart(value)])]
    if not isinstance(value, list):
        raise c.ProxyError("'input' is required and must be a string or an array of input items", param="input")
    turns = _Turns()
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise c.ProxyError(f"'{where}' must be an object", param=where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            parts = _content_in(item.get("content"), where)
            # the item's own fields (type, id, status, …) and its content's string form, for re-encoding
            item_x = {k: v for k, v in item.items() if k not in ("role", "content")}
            if isinstance(item.get("content"), str):
                item_x[_STRING] = True
            if role == "assistant":
                for part in parts:
                    if isinstance(part, c.TextPart):
                        part.extra = {X: {**_x(part.extra), "item": item_x}}
                    turns.assistant(part)
            elif role in ("system", "developer", "user"):
                extra: dict[str, Any] = {X: item_x} if item_x else {}
                if role == "developer":
                    extra["role"] = "developer"
                turns.add(c.Message("user" if role == "user" else "system", parts, extra=extra or None))
            else:
                raise c.ProxyError(
                    f"'{where}.role' must be one of user, assistant, system, developer (got {role!r})",
                    param=f"{where}.role",
                )
        elif kind == "function_call":
            name = item.get("name")
            call_id = item.get("call_id")
            if not isinstance(name, str) or not isinstance(call_id, str):
                raise c.ProxyError(f"'{where}.call_id' and '{where}.name' are required", param=where)
            arguments = item.get("arguments")
            x = {k: v for k, v in item.items() if k not in ("type", "call_id", "name", "arguments", "namespace")}
            if isinstance(item.get("namespace"), str):
                name = flat_name(item["namespace"], name)
            turns.assistant(c.ToolCallPart(call_id, name, arguments if isinstance(arguments, str) else "{}",
                                           extra={X: x} if x else None))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise c.ProxyError(f"'{where}.call_id' is required", param=f"{where}.call_id")
            x = {k: v for k, v in item.items() if k not in ("type", "call_id", "output")}
            if isinstance(item.get("output"), list):
                x[_LIST] = True
            content = _tool_output_in(item.get("output"), where)
            turns.add(c.Message("tool", [c.ToolResultPart(call_id, content, extra={X: x} if x else None)]))
        elif kind == "reasoning":
            turns.assistant(_reasoning_item_in(item))
        elif kind is None:
            raise c.ProxyError(f"'{where}.type' is required", param=f"{where}.type")
        else:  # web_search_call, computer_call(_output), item_reference, mcp_*, …: OpenAI-only
            turns.assistant(c.RawPart(NAME, item))
    return turns.messages


def _tools_in(value: Any) -> tuple[list[c.Tool] | None, list[dict[str, Any]]]:
    if value is None:
        return None, []
    if not isinstance(value, list):
        raise c.ProxyError("'tools' must be an array", param="tools")
    tools: list[c.Tool] = []
    builtin: list[dict[str, Any]] = []
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise c.ProxyError(f"'tools[{i}]' must be an object", param=f"tools[{i}]")
        if tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
            # a group of client-run functions (Codex's multi_agent_v1, MCP servers): every backend
            # takes them as plain functions under reversible flat names (see ``namespaced``)
            members = [t for t in tool.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
            for member in members:
                if isinstance(member.get("name"), str):
                    tools.append(c.Tool(flat_name(tool["name"], member["name"]), member.get("description"),
                                        member.get("parameters")))
            continue
        if tool.get("type") != "function":
            builtin.append(tool)
            continue
        if not isinstance(tool.get("name"), str):
            raise c.ProxyError(f"'tools[{i}].name' is required", param=f"tools[{i}].name")
        extra = {k: v for k, v in tool.items() if k not in ("type", "name", "description", "parameters")} or None
        tools.append(c.Tool(tool["name"], tool.get("description"), tool.get("parameters"), extra=extra))
    return (tools or None), builtin


NAMESPACE_SEPARATOR = "__"


def flat_name(namespace: str, name: str) -> str:
    """A namespaced function's name for backends that know no namespaces."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


def namespaced(name: str, echo: dict[str, Any] | None) -> tuple[str, str | None]:
    """A call's ``(name, namespace)`` for the client: a flat name of one of the request's namespace
    tools is split back, as Codex resolves a call by both fields."""
    if NAMESPACE_SEPARATOR in name:
        for tool in (echo or {}).get("tools") or []:
            if isinstance(tool, dict) and tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
                prefix = tool["name"] + NAMESPACE_SEPARATOR
                if name.startswith(prefix):
                    return name[len(prefix):], tool["name"]
    return name, None


def _tool_choice_in(value: Any) -> tuple[c.ToolChoice | None, Any]:
    """The canonical tool choice, and the raw value when canonical cannot express it."""
    if value is None:
        return None, None
    if value in ("auto", "none", "required"):
        return c.ToolChoice(value), None
    if isinstance(value, dict):
        if value.get("type") == "function" and isinstance(value.get("name"), str):
            return c.ToolChoice("tool", value["name"]), None
        if value.get("type") == "allowed_tools" and value.get("mode") in ("auto", "required"):
            return c.ToolChoice(value["mode"]), value
        return None, value  # a built-in tool (web_search, file_search, mcp, custom, …)
    raise c.ProxyError("'tool_choice' must be auto, none, required or a tool choice object", param="tool_choice")


def _reasoning_in(value: Any) -> c.Reasoning | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise c.ProxyError("'reasoning' must be an object", param="reasoning")
    effort = value.get("effort")
    if effort is not None and not isinstance(effort, str):
        raise c.ProxyError("'reasoning.effort' must be a string", param="reasoning.effort")
    summary = value.get("summary") or value.get("generate_summary")
    if effort is None and summary is None:
        return None
    return c.Reasoning(effort=effort, include_thoughts=True if summary else None)


def _text_format_in(value: Any) -> c.ResponseFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise c.ProxyError("'text' must be an object", param="text")
    fmt = value.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise c.ProxyError("'text.format.type' must be text, json_object or json_schema", param="text.format.type")
    if fmt["type"] == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise c.ProxyError("'text.format.schema' must be an object", param="text.format.schema")
        return c.ResponseFormat("json_schema", schema, fmt.get("name"), fmt.get("strict"))
    return c.ResponseFormat(fmt["type"])


def request_echo(payload: dict[str, Any]) -> dict[str, Any]:
    """The request fields a Response object repeats back (``tools``, ``text``, ``reasoning``, …)."""
    return {k: payload[k] for k in _ECHO_FIELDS if payload.get(k) is not None}


def stateful_reference(req: c.ChatRequest) -> str | None:
    """The first request field that only an OpenAI Responses backend (holding stored state) can
    honour: ``previous_response_id``, ``conversation``, ``prompt``, ``background`` or an
    ``item_reference`` input item; None when the request is self-contained."""
    for key in ("previous_response_id", "conversation", "prompt"):
        if req.extra.get(key) is not None:
            return key
    if req.extra.get("background"):
        return "background"
    for msg in req.messages:
        for part in msg.parts:
            if isinstance(part, c.RawPart) and part.protocol == NAME and part.data.get("type") == "item_reference":
                return "item_reference"
    return None


def request_to_canonical(payload: dict[str, Any]) -> c.ChatRequest:
    """Parse a Responses API create request; raises ``ProxyError`` naming the bad field."""
    model = require_str(payload, "model")
    stateful = any(payload.get(k) is not None for k in ("previous_response_id", "conversation", "prompt"))
    raw_input = payload.get("input")
    messages = [] if raw_input is None and stateful else _input_in(raw_input)
    input_string = isinstance(raw_input, str)
    instructions = payload.get("instructions")
    if instructions is not None:
        if isinstance(instructions, str):
            parts: list[c.Part] = [c.TextPart(instructions)]
        else:
            parts = _content_in(instructions, "", "instructions")
        messages.insert(0, c.Message("system", parts, extra={"instructions": True}))
    tools, builtin = _tools_in(payload.get("tools"))
    tool_choice, raw_choice = _tool_choice_in(payload.get("tool_choice"))
    stream = bool(payload.get("stream"))
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        stream=stream,
        max_tokens=as_int(payload, "max_output_tokens"),
        temperature=as_number(payload, "temperature"),
        top_p=as_number(payload, "top_p"),
        tools=tools,
        tool_choice=tool_choice if tools else None,
        parallel_tool_calls=payload.get("parallel_tool_calls"),
        response_format=_text_format_in(payload.get("text")),
        reasoning=_reasoning_in(payload.get("reasoning")),
        include_usage=stream,  # a Responses stream always ends with the full response, usage included
        user=payload.get("user"),
        metadata=payload.get("metadata"),
        extra=split_known(payload, _KNOWN_REQUEST_FIELDS),
    )
    req.meta[META_ECHO] = request_echo(payload)
    if input_string:
        req.meta[META_INPUT_STRING] = True
    if builtin:
        req.meta[META_BUILTIN_TOOLS] = builtin
        if any(t.get("type") in ("web_search", "web_search_preview") for t in builtin):
            req.meta[WEB_SEARCH] = True
    if raw_choice is not None or (tool_choice is not None and not tools):
        req.meta[META_TOOL_CHOICE] = payload["tool_choice"]
    if isinstance(payload.get("reasoning"), dict):
        req.meta[META_REASONING] = payload["reasoning"]
    if isinstance(payload.get("text"), dict):
        req.meta[META_TEXT] = payload["text"]
    return req


# ---------------------------------------------------------------- request: canonical -> wire


def _image_out(part: c.ImagePart, same: bool) -> dict[str, Any]:
    image: dict[str, Any] = {"type": "input_image", "image_url": part.url or to_data_url(part.media_type, part.data)}
    if part.detail or not same:
        image["detail"] = part.detail or "auto"
    return image


def _content_out(parts: list[c.Part], same: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": "input_text", "text": p.text, **(_x(p.extra) if same else {})})
        elif isinstance(p, c.ImagePart):
            out.append(_image_out(p, same))
        elif isinstance(p, c.RawPart) and p.protocol == NAME and same:
            out.append(p.data)
    return out


def _message_out(role: str, msg: c.Message, same: bool) -> dict[str, Any]:
    x = _x(msg.extra) if same else {}
    content: str | list[dict[str, Any]] = _content_out(msg.parts, same)
    if x.get(_STRING) and len(msg.parts) == 1 and isinstance(msg.parts[0], c.TextPart):
        content = msg.parts[0].text
    item = {"role": role, "content": content, **{k: v for k, v in x.items() if k != _STRING}}
    if not same:
        item = {"type": "message", **item}
    return item


def _assistant_out(msg: c.Message, same: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    message: dict[str, Any] | None = None
    as_string = False

    def finish() -> None:
        if message is not None and as_string and len(message["content"]) == 1:
            message["content"] = message["content"][0]["text"]

    for part in msg.parts:
        if isinstance(part, c.TextPart):
            x = _x(part.extra) if same else {}
            item_x = x.get("item") or {}
            if message is None or (item_x.get("id") and message.get("id") != item_x.get("id")):
                finish()
                fields = {k: v for k, v in item_x.items() if k != _STRING}
                message = {"role": "assistant", "content": [], **fields} if same else {
                    "type": "message", "role": "assistant", "content": []}
                as_string = bool(item_x.get(_STRING))
                items.append(message)
            content: dict[str, Any] = {"type": "output_text", "text": part.text}
            if not same:
                content["annotations"] = []
            content.update({k: v for k, v in x.items() if k != "item"})
            message["content"].append(content)
            continue
        finish()
        message = None
        if isinstance(part, c.ThinkingPart):
            # reasoning replays only to OpenAI itself (by id or encrypted_content); other thinking is dropped
            if same and _x(part.extra):
                items.append(_reasoning_item_out(part))
        elif isinstance(part, c.ToolCallPart):
            call = {"type": "function_call", "call_id": part.id, "name": part.name, "arguments": part.arguments}
            if same:
                call.update(_x(part.extra))
            items.append(call)
        elif isinstance(part, c.RawPart) and part.protocol == NAME and same:
            items.append(part.data)
    finish()
    return items


def _reasoning_item_out(part: c.ThinkingPart) -> dict[str, Any]:
    x = _x(part.extra)
    item: dict[str, Any] = {"type": "reasoning", **x}
    summary = x.get("summary")
    joined = "\n\n".join(s.get("text", "") for s in summary if isinstance(s, dict)) if isinstance(summary, list) else None
    if joined != part.text and not (joined is None and x.get("content")):
        item["summary"] = [{"type": "summary_text", "text": part.text}] if part.text else []
    return item


def _tool_result_out(part: c.ToolResultPart, same: bool) -> dict[str, Any]:
    x = _x(part.extra) if same else {}
    texts = all(isinstance(p, c.TextPart) for p in part.content)
    output: str | list[dict[str, Any]]
    if texts and not x.get(_LIST):
        output = "".join(p.text for p in part.content if isinstance(p, c.TextPart))
        if part.is_error and not same:
            output = f"Error: {output}"  # the Responses API has no error flag on function output
    else:
        output = _content_out(list(part.content), same)
    result: dict[str, Any] = {"type": "function_call_output", "call_id": part.tool_call_id, "output": output}
    result.update({k: v for k, v in x.items() if k != _LIST})
    return result


def _input_out(req: c.ChatRequest, same: bool) -> tuple[str | list[dict[str, Any]], str | list[dict[str, Any]] | None]:
    items: list[dict[str, Any]] = []
    instructions: str | list[dict[str, Any]] | None = None
    messages = list(req.messages)
    first = messages[0] if messages else None
    if same and first is not None and first.role == "system" and first.extra and first.extra.get("instructions"):
        messages.pop(0)
        only_text = len(first.parts) == 1 and isinstance(first.parts[0], c.TextPart)
        instructions = first.text() if only_text else _content_out(first.parts, same)
    if (same and req.meta.get(META_INPUT_STRING) and len(messages) == 1 and messages[0].role == "user"
            and len(messages[0].parts) == 1 and isinstance(messages[0].parts[0], c.TextPart)):
        return messages[0].parts[0].text, instructions
    for msg in messages:
        if msg.role == "system":
            developer = same and msg.extra is not None and msg.extra.get("role") == "developer"
            items.append(_message_out("developer" if developer else "system", msg, same))
        elif msg.role == "user":
            items.append(_message_out("user", msg, same))
        elif msg.role == "assistant":
            items.extend(_assistant_out(msg, same))
        elif msg.role == "tool":
            items.extend(_tool_result_out(p, same) for p in msg.parts if isinstance(p, c.ToolResultPart))
    return items, instructions


def _effort_out(reasoning: c.Reasoning | None) -> str | None:
    if reasoning is None:
        return None
    if not reasoning.enabled:
        return "none"
    if reasoning.effort:
        return reasoning.effort
    if reasoning.budget_tokens is None:
        return None  # "show me the thoughts" alone does not choose how hard to think
    for limit, level in _EFFORT_BUDGET_LIMITS:
        if reasoning.budget_tokens < limit:
            return level
    return "high"


def _text_out(req: c.ChatRequest, same: bool) -> dict[str, Any] | None:
    raw = req.meta.get(META_TEXT) if same else None
    text: dict[str, Any] = {k: v for k, v in raw.items() if k != "format"} if isinstance(raw, dict) else {}
    rf = req.response_format
    if rf is not None:
        fmt: dict[str, Any] = {"type": rf.type}
        if rf.type == "json_schema":
            fmt.update({"name": rf.name or "response", "schema": rf.schema or {}})
            if rf.strict is not None:
                fmt["strict"] = rf.strict
            raw_fmt = raw.get("format") if isinstance(raw, dict) else None
            if isinstance(raw_fmt, dict) and raw_fmt.get("description") is not None:
                fmt["description"] = raw_fmt["description"]
        text["format"] = fmt
    return text or None


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the Responses API request for ``req`` (``req.model`` is the upstream model name)."""
    same = req.source_protocol == NAME
    items, instructions = _input_out(req, same)
    out: dict[str, Any] = {"model": req.model, "input": items}
    if instructions is not None:
        out["instructions"] = instructions
    if req.stream:
        out["stream"] = True
    if req.max_tokens is not None:
        out["max_output_tokens"] = req.max_tokens
    for key in ("temperature", "top_p", "user", "parallel_tool_calls"):
        value = getattr(req, key)
        if value is not None:
            out[key] = value
    tools: list[dict[str, Any]] = []
    for tool in req.tools or []:
        wire: dict[str, Any] = {"type": "function", "name": tool.name}
        if tool.description is not None:
            wire["description"] = tool.description
        if same:
            if tool.parameters is not None:
                wire["parameters"] = tool.parameters
            wire.update(tool.extra or {})
        else:
            wire["parameters"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
            wire["strict"] = False  # Responses function tools default to strict schemas; canonical ones are not
        tools.append(wire)
    if same:
        tools.extend(req.meta.get(META_BUILTIN_TOOLS) or [])
    if tools or req.tools is not None:
        out["tools"] = tools
    raw_choice = req.meta.get(META_TOOL_CHOICE) if same else None
    if raw_choice is not None:
        out["tool_choice"] = raw_choice
    elif req.tool_choice is not None:
        tc = req.tool_choice
        out["tool_choice"] = {"type": "function", "name": tc.name} if tc.mode == "tool" else tc.mode
    if text := _text_out(req, same):
        out["text"] = text
    raw_reasoning = req.meta.get(META_REASONING) if same else None
    if isinstance(raw_reasoning, dict):
        out["reasoning"] = dict(raw_reasoning)
        if req.reasoning is not None and req.reasoning.effort:
            out["reasoning"]["effort"] = req.reasoning.effort  # a guard may have normalised it
    elif (effort := _effort_out(req.reasoning)) is not None:
        out["reasoning"] = {"effort": effort}
        if req.reasoning is not None and req.reasoning.include_thoughts and effort != "none":
            out["reasoning"]["summary"] = "auto"
    elif req.reasoning is not None and req.reasoning.include_thoughts:
        out["reasoning"] = {"summary": "auto"}
    if same:
        if req.metadata is not None:
            out["metadata"] = req.metadata
        out.update(req.extra)
    return out


# ---------------------------------------------------------------- usage


def usage_from_canonical(usage: c.Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": usage.cache_creation_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _usage_in(usage: Any) -> c.Usage:
    if not isinstance(usage, dict):
        return c.Usage()
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return c.Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=int(input_details.get("cached_tokens") or 0),
        reasoning_tokens=int(output_details.get("reasoning_tokens") or 0),
        cache_creation_tokens=int(input_details.get("cache_write_tokens") or 0),
    )


# ---------------------------------------------------------------- response


def _stop_reason_in(payload: dict[str, Any], parts: list[c.Part]) -> c.StopReason:
    if payload.get("status") == "incomplete":
        reason = (payload.get("incomplete_details") or {}).get("reason")
        return INCOMPLETE_REASON_IN.get(reason, "max_tokens")
    if any(isinstance(p, c.ToolCallPart) for p in parts):
        return "tool_use"
    return "end_turn"


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    parts: list[c.Part] = []
    for item in payload.get("output") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            item_x = {k: item[k] for k in ("id", "phase") if k in item}
            for content in item.get("content") or []:
                if not isinstance(content, dict):
                    continue
                if content.get("type") == "output_text":
                    x = {"item": item_x}
                    if content.get("annotations"):
                        x["annotations"] = content["annotations"]
                    parts.append(c.TextPart(content.get("text") or "", extra={X: x}))
                elif content.get("type") == "refusal":
                    parts.append(c.TextPart(content.get("refusal") or "", extra={X: {"item": item_x, "refusal": True}}))
        elif kind == "function_call":
            parts.append(c.ToolCallPart(item.get("call_id") or new_id("call_"), item.get("name") or "",
                                        item.get("arguments") or "", extra=_with_x({"id": item.get("id")})))
        elif kind == "reasoning":
            parts.append(_reasoning_item_in(item))
        else:
            parts.append(c.RawPart(NAME, item))
    return c.ChatResponse(
        id=payload.get("id") or new_id("resp_"),
        model=payload.get("model") or "",
        parts=parts,
        stop_reason=_stop_reason_in(payload, parts),
        usage=_usage_in(payload.get("usage")),
        created=int(payload["created_at"]) if isinstance(payload.get("created_at"), (int, float)) else None,
        extra={k: v for k, v in payload.items() if k in _RESPONSE_EXTRAS},
    )


def _response_id(upstream_id: str | None) -> str:
    if not upstream_id:
        return new_id("resp_")
    return upstream_id if upstream_id.startswith("resp_") else f"resp_{upstream_id}"


def response_object(
    *, id: str, model: str, created_at: int, status: str, output: list[dict[str, Any]],
    usage: c.Usage | None, echo: dict[str, Any] | None, stop_reason: c.StopReason | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete ``response`` object, with the request fields OpenAI echoes back."""
    echo = echo or {}
    incomplete = {"reason": INCOMPLETE_REASON_OUT[stop_reason]} if status == "incomplete" and stop_reason else None
    body: dict[str, Any] = {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": echo.get("instructions"),
        "max_output_tokens": echo.get("max_output_tokens"),
        "max_tool_calls": echo.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": echo.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None, **(echo.get("reasoning") or {})},
        "service_tier": echo.get("service_tier", "default"),
        "store": False,  # nothing is stored: a later previous_response_id cannot refer to this response
        "temperature": echo.get("temperature", 1.0),
        "text": echo.get("text") or {"format": {"type": "text"}},
        "tool_choice": echo.get("tool_choice", "auto"),
        "tools": echo.get("tools", []),
        "top_p": echo.get("top_p", 1.0),
        "truncation": echo.get("truncation", "disabled"),
        "usage": usage_from_canonical(usage) if usage is not None else None,
        "user": echo.get("user"),
        "metadata": echo.get("metadata") or {},
    }
    for key in ("prompt_cache_key", "safety_identifier", "top_logprobs"):
        if key in echo:
            body[key] = echo[key]
    return body


def _status_for(stop_reason: c.StopReason | None) -> str:
    return "incomplete" if stop_reason in INCOMPLETE_REASON_OUT else "completed"


def _function_call_item(item_id: str, status: str, arguments: str, call_id: str, name: str,
                        echo: dict[str, Any] | None) -> dict[str, Any]:
    name, namespace = namespaced(name, echo)
    item = {"id": item_id, "type": "function_call", "status": status, "arguments": arguments, "call_id": call_id,
            "name": name}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def _output_items(parts: list[c.Part], item_status: str, echo: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    message: dict[str, Any] | None = None
    for part in parts:
        if isinstance(part, c.TextPart):
            x = _x(part.extra)
            item_id = (x.get("item") or {}).get("id")
            if message is None or (item_id and message["id"] != item_id):
                message = {"id": item_id or new_id("msg_"), "type": "message", "status": item_status,
                           "role": "assistant", "content": []}
                items.append(message)
            if x.get("refusal"):
                message["content"].append({"type": "refusal", "refusal": part.text})
            else:
                message["content"].append({"type": "output_text", "text": part.text,
                                           "annotations": x.get("annotations", []), "logprobs": []})
            continue
        message = None
        if isinstance(part, c.ThinkingPart):
            x = _x(part.extra)
            if not part.text and not x.get("encrypted_content"):
                continue  # redacted or signature-only thinking has nothing a Responses client can use
            item: dict[str, Any] = {"id": x.get("id") or new_id("rs_"), "type": "reasoning",
                                    "summary": [{"type": "summary_text", "text": part.text}] if part.text else []}
            if x.get("encrypted_content"):
                item["encrypted_content"] = x["encrypted_content"]
            items.append(item)
        elif isinstance(part, c.ToolCallPart):
            items.append(_function_call_item(_x(part.extra).get("id") or new_id("fc_"), "completed", part.arguments,
                                             part.id, part.name, echo))
        elif isinstance(part, c.RawPart) and part.protocol == NAME:
            items.append(part.data)
    return items


def response_from_canonical(resp: c.ChatResponse, *, model: str, echo: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Responses API ``response`` object; ``echo`` holds the request fields to repeat (see ``request_echo``)."""
    status = _status_for(resp.stop_reason)
    body = response_object(
        id=_response_id(resp.id), model=model, created_at=resp.created or int(time.time()), status=status,
        output=_output_items(resp.parts, "incomplete" if status == "incomplete" else "completed", echo),
        usage=resp.usage, echo=echo, stop_reason=resp.stop_reason,
    )
    body.update({k: v for k, v in resp.extra.items() if k in _RESPONSE_EXTRAS and k != "system_fingerprint"})
    return body


# ---------------------------------------------------------------- streaming: wire -> canonical


class StreamDecoder:
    """Turns Responses API stream events (``response.*``) into canonical stream events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._tools: dict[str, int] = {}  # item id (or output index) -> canonical tool index
        self._tool_args: dict[int, bool] = {}  # canonical tool index -> saw argument deltas

    def _tool_index(self, data: dict[str, Any]) -> int | None:
        key = data.get("item_id") or str(data.get("output_index"))
        return self._tools.get(key, self._tools.get(str(data.get("output_index"))))

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        kind = data.get("type") or event
        events: list[c.StreamEvent] = []
        if kind == "error":
            err = data.get("error") if isinstance(data.get("error"), dict) else data
            return [c.StreamError(_failure_to_canonical(err))]
        if kind == "response.failed":
            err = (data.get("response") or {}).get("error") or {"message": "the upstream response failed"}
            return [c.StreamError(_failure_to_canonical(err))]
        if not self._started and kind in ("response.created", "response.in_progress", "response.queued"):
            self._started = True
            response = data.get("response") or {}
            return [c.StreamStart(response.get("id") or new_id("resp_"), response.get("model") or "")]
        if not self._started:
            self._started = True
            events.append(c.StreamStart(new_id("resp_"), ""))
        if kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") == "function_call":
                index = len(self._tool_args)
                self._tools[str(data.get("output_index"))] = index
                if item.get("id"):
                    self._tools[item["id"]] = index
                self._tool_args[index] = False
                events.append(c.ToolCallStart(index, item.get("call_id") or new_id("call_"), item.get("name") or "",
                                              extra=_with_x({"id": item.get("id")})))
                if item.get("arguments"):
                    self._tool_args[index] = True
                    events.append(c.ToolCallDelta(index, item["arguments"]))
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            if data.get("delta"):
                events.append(c.TextDelta(data["delta"]))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if data.get("delta"):
                events.append(c.ThinkingDelta(data["delta"]))
        elif kind == "response.reasoning_summary_part.added" and data.get("summary_index", 0) > 0:
            events.append(c.ThinkingDelta("\n\n"))
        elif kind == "response.function_call_arguments.delta":
            index = self._tool_index(data)
            if index is not None and data.get("delta"):
                self._tool_args[index] = True
                events.append(c.ToolCallDelta(index, data["delta"]))
        elif kind == "response.function_call_arguments.done":
            index = self._tool_index(data)
            if index is not None and not self._tool_args.get(index) and data.get("arguments"):
                self._tool_args[index] = True
                events.append(c.ToolCallDelta(index, data["arguments"]))
        elif kind in ("response.completed", "response.incomplete"):
            response = data.get("response") or {}
            self._usage = _usage_in(response.get("usage"))
            if response.get("status") == "incomplete" or kind == "response.incomplete":
                reason = (response.get("incomplete_details") or {}).get("reason")
                self._stop = INCOMPLETE_REASON_IN.get(reason, "max_tokens")
            else:
                self._stop = "tool_use" if self._tools else "end_turn"
        return events

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or ("tool_use" if self._tools else "end_turn"), self._usage)]


# ---------------------------------------------------------------- streaming: canonical -> wire


class StreamEncoder:
    """Renders canonical stream events as the Responses API's named SSE events, each with a
    ``sequence_number``: response.created, response.in_progress, output items with their
    content parts and deltas, and response.completed (response.incomplete when cut short)."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool = True, echo: dict[str, Any] | None = None) -> None:
        self.model = model
        self.include_usage = include_usage  # the final response always carries usage in this protocol
        self.echo = echo
        self.id = new_id("resp_")
        self.created_at = int(time.time())
        self._seq = 0
        self._started = False
        self._output: list[dict[str, Any]] = []  # items as they will appear in the final response
        self._open: list[int] = []  # output indexes of items not yet done
        self._text: dict[int, str] = {}  # output index -> accumulated text (message or reasoning summary)
        self._tools: dict[int, int] = {}  # canonical tool index -> output index
        self._finished = False

    # -- framing -------------------------------------------------------------

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        body = {"type": kind, "sequence_number": self._seq, **payload}
        self._seq += 1
        return sse_event(kind, body)

    def _snapshot(self, status: str, *, usage: c.Usage | None = None, stop_reason: c.StopReason | None = None,
                  error: dict[str, Any] | None = None) -> dict[str, Any]:
        output = list(self._output) if status != "in_progress" else []
        return response_object(id=self.id, model=self.model, created_at=self.created_at, status=status,
                               output=output, usage=usage, echo=self.echo, stop_reason=stop_reason, error=error)

    def _start(self, event: c.StreamStart | None = None) -> bytes:
        self._started = True
        if event is not None and event.id:
            self.id = _response_id(event.id)
        snapshot = self._snapshot("in_progress")
        return (self._event("response.created", {"response": snapshot})
                + self._event("response.in_progress", {"response": snapshot}))

    # -- items ---------------------------------------------------------------

    def _add(self, item: dict[str, Any]) -> tuple[int, bytes]:
        index = len(self._output)
        self._output.append(item)
        self._open.append(index)
        return index, self._event("response.output_item.added", {"output_index": index, "item": _copy(item)})

    def _current(self, kind: str) -> int | None:
        if self._open and self._output[self._open[-1]]["type"] == kind:
            return self._open[-1]
        return None

    def _close(self, index: int, status: str = "completed") -> bytes:
        item = self._output[index]
        item_id = item["id"]
        out = b""
        if item["type"] == "message":
            text = self._text.get(index, "")
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            out += self._event("response.output_text.done", {
                "item_id": item_id, "output_index": index, "content_index": 0, "text": text, "logprobs": []})
            out += self._event("response.content_part.done", {
                "item_id": item_id, "output_index": index, "content_index": 0, "part": part})
            item["content"] = [part]
        elif item["type"] == "reasoning":
            text = self._text.get(index, "")
            part = {"type": "summary_text", "text": text}
            out += self._event("response.reasoning_summary_text.done", {
                "item_id": item_id, "output_index": index, "summary_index": 0, "text": text})
            out += self._event("response.reasoning_summary_part.done", {
                "item_id": item_id, "output_index": index, "summary_index": 0, "part": part})
            item["summary"] = [part]
        elif item["type"] == "function_call":
            out += self._event("response.function_call_arguments.done", {
                "item_id": item_id, "output_index": index, "arguments": item["arguments"]})
        if "status" in item:
            item["status"] = status
        self._open.remove(index)
        return out + self._event("response.output_item.done", {"output_index": index, "item": _copy(item)})

    def _close_all(self, status: str = "completed") -> bytes:
        return b"".join(self._close(index, status) for index in list(self._open))

    def _open_message(self) -> tuple[int, bytes]:
        out = self._close_all()
        item = {"id": new_id("msg_"), "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        index, added = self._add(item)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        out += added + self._event("response.content_part.added", {
            "item_id": item["id"], "output_index": index, "content_index": 0, "part": part})
        return index, out

    def _open_reasoning(self) -> tuple[int, bytes]:
        out = self._close_all()
        item = {"id": new_id("rs_"), "type": "reasoning", "summary": []}
        index, added = self._add(item)
        out += added + self._event("response.reasoning_summary_part.added", {
            "item_id": item["id"], "output_index": index, "summary_index": 0,
            "part": {"type": "summary_text", "text": ""}})
        return index, out

    # -- events --------------------------------------------------------------

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._finished:
            return b""
        if isinstance(event, c.StreamStart):
            return b"" if self._started else self._start(event)
        out = b"" if self._started else self._start()
        if isinstance(event, c.TextDelta):
            if not event.text:
                return out
            index = self._current("message")
            if index is None:
                index, opened = self._open_message()
                out += opened
            self._text[index] = self._text.get(index, "") + event.text
            return out + self._event("response.output_text.delta", {
                "item_id": self._output[index]["id"], "output_index": index, "content_index": 0,
                "delta": event.text, "logprobs": []})
        if isinstance(event, c.ThinkingDelta):
            if not event.text and not event.signature:
                return out  # redacted thinking has no Responses form
            index = self._current("reasoning")
            if event.signature:  # reasoning state handed to the client (the proxy seals it: reasoning_seal)
                if index is None:
                    index, opened = self._open_reasoning()
                    out += opened
                self._output[index]["encrypted_content"] = event.signature
                if not event.text:
                    return out
            if index is None:
                index, opened = self._open_reasoning()
                out += opened
            self._text[index] = self._text.get(index, "") + event.text
            return out + self._event("response.reasoning_summary_text.delta", {
                "item_id": self._output[index]["id"], "output_index": index, "summary_index": 0,
                "delta": event.text})
        if isinstance(event, c.ToolCallStart):
            # parallel calls may interleave their argument deltas: keep earlier calls open
            out += b"".join(self._close(i) for i in list(self._open) if self._output[i]["type"] != "function_call")
            item = _function_call_item(new_id("fc_"), "in_progress", "", event.id, event.name, self.echo)
            index, added = self._add(item)
            self._tools[event.index] = index
            return out + added
        if isinstance(event, c.ToolCallDelta):
            index = self._tools.get(event.index)
            if index is None or index not in self._open or not event.arguments:
                return out
            self._output[index]["arguments"] += event.arguments
            return out + self._event("response.function_call_arguments.delta", {
                "item_id": self._output[index]["id"], "output_index": index, "delta": event.arguments})
        if isinstance(event, c.StreamEnd):
            self._finished = True
            status = _status_for(event.stop_reason)
            out += self._close_all("incomplete" if status == "incomplete" else "completed")
            snapshot = self._snapshot(status, usage=event.usage, stop_reason=event.stop_reason)
            kind = "response.incomplete" if status == "incomplete" else "response.completed"
            return out + self._event(kind, {"response": snapshot})
        if isinstance(event, c.StreamError):
            self._finished = True
            err = event.error
            code = _FAILURE_CODES.get(err.kind, "server_error")
            out += self._event("error", {"code": err.code or code, "message": err.message, "param": err.param})
            snapshot = self._snapshot("failed", error={"code": code, "message": err.message})
            return out + self._event("response.failed", {"response": snapshot})
        return out


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in item.items()}


# ---------------------------------------------------------------- errors


def error_body(err: c.ProxyError) -> dict[str, Any]:
    """OpenAI's error envelope, the same for the Responses API as for chat completions."""
    return openai_chat.error_body(err)


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    return openai_chat.error_to_canonical(status, body)


def _failure_to_canonical(err: Any) -> c.ProxyError:
    if not isinstance(err, dict):
        return c.ProxyError(str(err), kind="bad_gateway")
    code = err.get("code")
    kind = _FAILURE_KINDS.get(code, "bad_gateway") if isinstance(code, str) else "bad_gateway"
    return c.ProxyError(str(err.get("message") or "the upstream response failed"), kind=kind,
                        code=code if isinstance(code, str) else None)
