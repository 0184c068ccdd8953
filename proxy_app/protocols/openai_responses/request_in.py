"""A Responses API request as canonical: ``input`` items grouped into turns, tools, tool choice,
reasoning and text format, each validated (an error names its field). Request fields canonical has
no place for are kept in ``meta`` for an OpenAI backend and for the Response object's echo."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import WEB_SEARCH, as_int, as_number, parse_data_url, require_str, split_known
from proxy_app.protocols.openai_responses.extras import (
    LIST,
    META_BUILTIN_TOOLS,
    META_ECHO,
    META_INPUT_STRING,
    META_REASONING,
    META_TEXT,
    META_TOOL_CHOICE,
    NAME,
    STRING,
    X,
    own,
)
from proxy_app.protocols.openai_responses.namespaces import flat_name

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


def reasoning_item_to_canonical(item: dict[str, Any]) -> c.ThinkingPart:
    """A reasoning item, of a request's input or a response's output, as thinking: its summaries (or
    its reasoning text), with the whole item kept for OpenAI (id, encrypted_content)."""
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
    if not value:
        raise c.ProxyError("Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty "
                           "array instead.", param="input", code="empty_array")
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
                item_x[STRING] = True
            if role == "assistant":
                for part in parts:
                    if isinstance(part, c.TextPart):
                        part.extra = {X: {**own(part.extra), "item": item_x}}
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
                x[LIST] = True
            content = _tool_output_in(item.get("output"), where)
            turns.add(c.Message("tool", [c.ToolResultPart(call_id, content, extra={X: x} if x else None)]))
        elif kind == "reasoning":
            turns.assistant(reasoning_item_to_canonical(item))
        elif kind is None:
            raise c.ProxyError(f"'{where}.type' is required", param=f"{where}.type")
        elif not isinstance(kind, str) or not kind.replace("_", "").isalnum() or not kind[0].isalpha():
            raise c.ProxyError(f"Invalid value for '{where}.type': {kind!r} is not an input item type.",
                               param=f"{where}.type", code="invalid_value")
        else:  # web_search_call, computer_call(_output), item_reference, mcp_*, …: OpenAI-only
            turns.assistant(c.RawPart(NAME, item))
    return turns.messages


def _check_function(tool: dict[str, Any], where: str) -> None:
    """A function tool's description and parameters have the types every backend expects."""
    if not isinstance(tool.get("description"), str | None):
        raise c.ProxyError(f"'{where}.description' must be a string", param=f"{where}.description")
    if not isinstance(tool.get("parameters"), dict | None):
        raise c.ProxyError(f"'{where}.parameters' must be an object", param=f"{where}.parameters")


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
            # takes them as plain functions under reversible flat names (see ``namespaces``)
            if not isinstance(tool.get("tools") or [], list):
                raise c.ProxyError(f"'tools[{i}].tools' must be an array", param=f"tools[{i}].tools")
            members = [t for t in tool.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
            for j, member in enumerate(members):
                _check_function(member, f"tools[{i}].tools[{j}]")
                if isinstance(member.get("name"), str):
                    tools.append(c.Tool(flat_name(tool["name"], member["name"]), member.get("description"),
                                        member.get("parameters")))
            continue
        if tool.get("type") != "function":
            builtin.append(tool)
            continue
        if not isinstance(tool.get("name"), str):
            raise c.ProxyError(f"'tools[{i}].name' is required", param=f"tools[{i}].name")
        _check_function(tool, f"tools[{i}]")
        extra = {k: v for k, v in tool.items() if k not in ("type", "name", "description", "parameters")} or None
        tools.append(c.Tool(tool["name"], tool.get("description"), tool.get("parameters"), extra=extra))
    return (tools or None), builtin


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
        max_tokens=as_int(payload, "max_output_tokens", minimum=16),
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
