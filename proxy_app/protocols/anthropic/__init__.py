"""Anthropic Messages API wire format <-> canonical model. Pure: dict in, dict out."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols.common import (
    WEB_SEARCH,
    as_int,
    as_number,
    new_id,
    pseudonymous_user,
    require_list,
    require_str,
    split_known,
)
from proxy_app.protocols.sse import sse_event

NAME = "anthropic"

logger = logging.getLogger("llmproxy.translation")

_KNOWN_REQUEST_FIELDS = frozenset(
    {
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
        "stream", "tools", "tool_choice", "thinking", "metadata", "output_config", "output_format",
    }
)

STOP_REASON_OUT: dict[str | None, str | None] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "content_filter": "refusal",
    "loop_detected": "end_turn",
    "error": "end_turn",
    None: None,
}
STOP_REASON_IN: dict[str | None, c.StopReason | None] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "end_turn",  # no canonical equivalent: the turn did end, for now
    "refusal": "content_filter",
    "model_context_window_exceeded": "max_tokens",
    None: None,
}

ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "request_too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "api_error": "api_error",
    "bad_gateway": "api_error",
    "unavailable": "api_error",
    "timeout": "api_error",
    "overloaded": "overloaded_error",
}
# Anthropic error ``type`` -> canonical kind (what ``error_to_canonical`` and the stream decoder read).
ERROR_KINDS_IN = {
    "invalid_request_error": "invalid_request",
    "authentication_error": "authentication",
    "billing_error": "permission",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "request_too_large",
    "rate_limit_error": "rate_limit",
    "api_error": "api_error",
    "timeout_error": "timeout",
    "overloaded_error": "overloaded",
}

# Anthropic's server-side web search, for clients that offer their own provider's (Codex).
WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}

# Thinking budgets used when a request only names an effort level.
EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024

# Marker (kept in a same-protocol ``extra``, never emitted) recording that content arrived as a
# one-element block list rather than the string shorthand, so re-encoding keeps the list form.
_BLOCKS = "__anthropic_blocks__"
# Marker on a user message that shared its Anthropic message with the tool results before it.
_JOINED = "__anthropic_joined__"
# Marker on a system message that came inside ``messages`` (a mid-conversation system message).
_IN_MESSAGES = "__anthropic_in_messages__"
_MARKERS = (_BLOCKS, _JOINED, _IN_MESSAGES)

# Claude Code's attribution block (first system block): a client identifier, kept for Anthropic only.
ATTRIBUTION_PREFIX = "x-anthropic-billing-header:"

# Part ``extra`` keys safe to emit in responses (ChatResponse does not record its protocol).
_RESPONSE_BLOCK_FIELDS = ("citations",)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _extra(block: dict[str, Any], known: tuple[str, ...]) -> c.Extra:
    return {k: v for k, v in block.items() if k not in known} or None


def _wire_extra(extra: c.Extra) -> dict[str, Any]:
    return {k: v for k, v in (extra or {}).items() if k not in _MARKERS}


# ---------------------------------------------------------------- request


def _image_in(block: dict[str, Any], where: str) -> c.ImagePart | c.RawPart:
    source = block.get("source")
    if not isinstance(source, dict):
        raise c.ProxyError(f"'{where}.source' must be an object", param=f"{where}.source")
    extra = _extra(block, ("type", "source"))
    kind = source.get("type")
    if kind == "base64":
        data = source.get("data")
        if not isinstance(data, str):
            raise c.ProxyError(f"'{where}.source.data' is required", param=f"{where}.source.data")
        media_type = source.get("media_type")
        if not isinstance(media_type, str):
            raise c.ProxyError(f"'{where}.source.media_type' is required", param=f"{where}.source.media_type")
        return c.ImagePart(data=data, media_type=media_type, extra=extra)
    if kind == "url":
        url = source.get("url")
        if not isinstance(url, str):
            raise c.ProxyError(f"'{where}.source.url' is required", param=f"{where}.source.url")
        return c.ImagePart(url=url, extra=extra)
    if isinstance(kind, str):  # e.g. {"type": "file", "file_id": ...}: only Anthropic can resolve it
        return c.RawPart(NAME, block)
    raise c.ProxyError(f"'{where}.source.type' must be base64, url or file", param=f"{where}.source.type")


def _block_in(block: Any, where: str) -> c.Part:
    """One content block of a user/assistant message (tool_result is handled by the caller)."""
    if not isinstance(block, dict):
        raise c.ProxyError(f"'{where}' must be an object", param=where)
    kind = block.get("type")
    if kind == "text":
        return c.TextPart(require_str(block, "text", where), extra=_extra(block, ("type", "text")))
    if kind == "image":
        return _image_in(block, where)
    if kind == "tool_use":
        call_id = require_str(block, "id", where)
        name = require_str(block, "name", where)
        args = block.get("input", {})
        if not isinstance(args, dict):
            raise c.ProxyError(f"'{where}.input' must be an object", param=f"{where}.input")
        return c.ToolCallPart(call_id, name, _dumps(args), extra=_extra(block, ("type", "id", "name", "input")))
    if kind == "thinking":
        signature = block.get("signature")
        return c.ThinkingPart(
            require_str(block, "thinking", where),
            signature=signature,
            extra=_extra(block, ("type", "thinking", "signature")),
            origin=NAME if signature else None,
        )
    if kind == "redacted_thinking":
        return c.ThinkingPart("", redacted_data=require_str(block, "data", where), extra=_extra(block, ("type", "data")),
                              origin=NAME)
    if not isinstance(kind, str):
        raise c.ProxyError(f"'{where}.type' is required", param=f"{where}.type")
    return c.RawPart(NAME, block)  # document, search_result, server tool blocks, …


def _tool_result_in(block: dict[str, Any], where: str) -> c.ToolResultPart:
    call_id = require_str(block, "tool_use_id", where)
    content = block.get("content")
    parts: list[c.TextPart | c.ImagePart] = []
    extra = _extra(block, ("type", "tool_use_id", "content", "is_error")) or {}
    if "is_error" in block and not block["is_error"]:
        extra["is_error"] = block["is_error"]  # an explicit false, kept for lossless re-encoding
    if isinstance(content, str):
        parts.append(c.TextPart(content))
    elif isinstance(content, list):
        for j, item in enumerate(content):
            part = _block_in(item, f"{where}.content[{j}]")
            if isinstance(part, (c.TextPart, c.ImagePart)):
                parts.append(part)
            else:  # documents, search results: keep the original list for Anthropic only
                extra["content"] = content
        if len(content) == 1 and len(parts) == 1 and isinstance(parts[0], c.TextPart) and not parts[0].extra:
            extra[_BLOCKS] = True
    elif content is not None:
        raise c.ProxyError(f"'{where}.content' must be a string or an array", param=f"{where}.content")
    return c.ToolResultPart(call_id, parts, is_error=bool(block.get("is_error")), extra=extra or None)


def _content_in(content: Any, where: str) -> tuple[list[c.Part], list[c.ToolResultPart], bool]:
    """Parts, tool results, and whether a lone text block came as a list."""
    if isinstance(content, str):
        return [c.TextPart(content)], [], False
    if not isinstance(content, list):
        raise c.ProxyError(f"'{where}.content' must be a string or an array of content blocks",
                           param=f"{where}.content")
    parts: list[c.Part] = []
    results: list[c.ToolResultPart] = []
    for j, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "tool_result":
            results.append(_tool_result_in(block, f"{where}.content[{j}]"))
        else:
            parts.append(_block_in(block, f"{where}.content[{j}]"))
    lone = len(parts) == 1 and isinstance(parts[0], c.TextPart) and not parts[0].extra
    return parts, results, lone


def _messages_in(messages: list[Any]) -> list[c.Message]:
    out: list[c.Message] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise c.ProxyError(f"'{where}' must be an object", param=where)
        role = msg.get("role")
        if role not in ("user", "assistant", "system"):
            raise c.ProxyError(f"'{where}.role' must be user, assistant or system (got {role!r})",
                               param=f"{where}.role")
        parts, results, lone = _content_in(msg.get("content"), where)
        extra = _extra(msg, ("role", "content")) or {}
        if role == "system":
            # A mid-conversation system message (Claude Code sends them, with per-turn ``output_config``,
            # ``clear_at`` and tool_addition blocks): kept in place; other encoders see its text only.
            if results:
                raise c.ProxyError(f"'{where}' tool_result blocks belong in user messages", param=f"{where}.content")
            extra[_IN_MESSAGES] = True
            if lone and isinstance(msg["content"], list):
                extra[_BLOCKS] = True
            out.append(c.Message("system", parts, extra=extra))
            continue
        if role == "assistant":
            if results:
                raise c.ProxyError(f"'{where}' tool_result blocks belong in user messages", param=f"{where}.content")
            if lone and isinstance(msg["content"], list):
                extra[_BLOCKS] = True
            out.append(c.Message("assistant", parts, extra=extra or None))
            continue
        if results:
            out.append(c.Message("tool", list(results)))
            if not parts:
                continue
            extra[_JOINED] = True
        if lone and isinstance(msg["content"], list):
            extra[_BLOCKS] = True
        out.append(c.Message("user", parts, extra=extra or None))
    return out


def _system_in(system: Any) -> list[c.Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [c.Message("system", [c.TextPart(system)])]
    if not isinstance(system, list):
        raise c.ProxyError("'system' must be a string or an array of text blocks", param="system")
    parts: list[c.Part] = []
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise c.ProxyError(f"'system[{i}]' must be a text block", param=f"system[{i}]")
        parts.append(_block_in(block, f"system[{i}]"))
    lone = len(parts) == 1 and not parts[0].extra  # type: ignore[union-attr]
    return [c.Message("system", parts, extra={_BLOCKS: True} if lone else None)]


def _tools_in(payload: dict[str, Any]) -> list[c.Tool] | None:
    if payload.get("tools") is None:
        return None
    tools = []
    for i, tool in enumerate(require_list(payload, "tools", allow_empty=True)):
        if not isinstance(tool, dict):
            raise c.ProxyError(f"'tools[{i}]' must be an object", param=f"tools[{i}]")
        name = require_str(tool, "name", f"tools[{i}]")
        schema = tool.get("input_schema")
        if schema is None and tool.get("type") in (None, "custom"):
            raise c.ProxyError(f"'tools[{i}].input_schema' is required", param=f"tools[{i}].input_schema")
        if schema is not None and not isinstance(schema, dict):
            raise c.ProxyError(f"'tools[{i}].input_schema' must be an object", param=f"tools[{i}].input_schema")
        if schema is None:  # server tool (web_search_20250305, bash_20250124, …): Anthropic-only
            tools.append(c.Tool(name, extra=_extra(tool, ("name",))))
            continue
        description = tool.get("description")
        tools.append(c.Tool(name, description, schema, extra=_extra(tool, ("name", "description", "input_schema"))))
    return tools


def _tool_choice_in(value: Any) -> tuple[c.ToolChoice | None, bool | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise c.ProxyError("'tool_choice' must be an object", param="tool_choice")
    kind = value.get("type")
    disable = value.get("disable_parallel_tool_use")
    parallel = None if disable is None else not disable
    if kind == "auto":
        return c.ToolChoice("auto"), parallel
    if kind == "any":
        return c.ToolChoice("required"), parallel
    if kind == "none":
        return c.ToolChoice("none"), parallel
    if kind == "tool":
        return c.ToolChoice("tool", require_str(value, "name", "tool_choice")), parallel
    raise c.ProxyError("'tool_choice.type' must be auto, any, tool or none", param="tool_choice.type")


def _reasoning_in(
    payload: dict[str, Any], output_config: dict[str, Any], req_meta: dict[str, Any]
) -> c.Reasoning | None:
    thinking = payload.get("thinking")
    effort = output_config.get("effort")
    reasoning = None
    if thinking is not None:
        if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
            raise c.ProxyError("'thinking.type' is required", param="thinking.type")
        req_meta["anthropic_thinking"] = thinking
        if thinking["type"] == "enabled":
            budget = as_int(thinking, "budget_tokens")
            if budget is None:
                raise c.ProxyError("'thinking.budget_tokens' is required when thinking is enabled",
                                   param="thinking.budget_tokens")
            reasoning = c.Reasoning(budget_tokens=budget)
        elif thinking["type"] == "disabled":
            reasoning = c.Reasoning(enabled=False)
        else:  # adaptive (and whatever comes next): the model picks its own budget
            reasoning = c.Reasoning()
    if isinstance(effort, str):
        req_meta["anthropic_effort"] = True
        reasoning = reasoning or c.Reasoning()
        reasoning.effort = effort
    return reasoning


def _response_format_in(
    payload: dict[str, Any], output_config: dict[str, Any], meta: dict[str, Any]
) -> c.ResponseFormat | None:
    value, field = output_config.get("format"), "output_config.format"
    if value is None and payload.get("output_format") is not None:
        value, field = payload["output_format"], "output_format"  # the structured-outputs beta spelling
        meta["anthropic_format_field"] = "output_format"
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") != "json_schema" or not isinstance(value.get("schema"), dict):
        raise c.ProxyError(f"'{field}' must be {{type: json_schema, schema: {{...}}}}", param=field)
    return c.ResponseFormat("json_schema", value["schema"])


def _attribution_out_of(system: list[c.Message], meta: dict[str, Any]) -> None:
    """Move Claude Code's attribution block out of the system prompt into ``meta``: only an
    Anthropic upstream gets it back (for any other provider it is a client identifier)."""
    if not system:
        return
    parts = system[0].parts
    for i, part in enumerate(parts):
        if isinstance(part, c.TextPart) and part.text.startswith(ATTRIBUTION_PREFIX):
            meta["anthropic_attribution"] = (i, {"type": "text", "text": part.text, **(part.extra or {})})
            del parts[i]
            return


def request_to_canonical(payload: dict[str, Any]) -> c.ChatRequest:
    """Parse an Anthropic Messages request; raises ``ProxyError`` naming the bad field."""
    model = require_str(payload, "model")
    meta: dict[str, Any] = {}
    messages = _system_in(payload.get("system"))
    _attribution_out_of(messages, meta)
    if messages and not messages[0].parts:
        messages = []
    messages.extend(_messages_in(require_list(payload, "messages")))
    max_tokens = as_int(payload, "max_tokens")
    if max_tokens is None:
        raise c.ProxyError("'max_tokens' is required", param="max_tokens")
    stop = payload.get("stop_sequences")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise c.ProxyError("'stop_sequences' must be an array of strings", param="stop_sequences")
    output_config = payload.get("output_config") or {}
    if not isinstance(output_config, dict):
        raise c.ProxyError("'output_config' must be an object", param="output_config")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise c.ProxyError("'metadata' must be an object", param="metadata")
    metadata = dict(metadata) if metadata is not None else None
    user = metadata.pop("user_id", None) if metadata is not None else None
    if isinstance(user, str):
        # Claude Code's user_id is JSON with device and session ids: Anthropic gets it back as it
        # came, any other provider only a stable pseudonym (OpenAI's advice for its ``user`` field).
        meta["anthropic_user_id"] = user
        user = pseudonymous_user(user)
    tool_choice, parallel = _tool_choice_in(payload.get("tool_choice"))
    extra = split_known(payload, _KNOWN_REQUEST_FIELDS)
    config_rest = {k: v for k, v in output_config.items() if k not in ("format", "effort")}
    if config_rest:
        extra["output_config"] = config_rest
    if "stream" in payload:
        meta["anthropic_stream_field"] = True
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        stream=bool(payload.get("stream")),
        max_tokens=max_tokens,
        temperature=as_number(payload, "temperature"),
        top_p=as_number(payload, "top_p"),
        top_k=as_int(payload, "top_k"),
        stop=stop,
        tools=_tools_in(payload),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        response_format=_response_format_in(payload, output_config, meta),
        reasoning=_reasoning_in(payload, output_config, meta),
        include_usage=bool(payload.get("stream")),  # Anthropic streams always carry usage
        user=user if isinstance(user, str) else None,
        metadata=metadata or None,
        extra=extra,
        meta=meta,
    )
    return req


def _tool_input(arguments: str, where: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise c.ProxyError(f"'{where}.input' must be a JSON object (tool call arguments were {arguments[:80]!r})",
                           param=f"{where}.input")
    return value


def _image_out(part: c.ImagePart) -> dict[str, Any]:
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data or ""},
    }


def _part_out(part: c.Part, same: bool, where: str) -> dict[str, Any] | None:
    block: dict[str, Any]
    if isinstance(part, c.TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, c.ImagePart):
        block = _image_out(part)
    elif isinstance(part, c.ToolCallPart):
        block = {"type": "tool_use", "id": part.id, "name": part.name, "input": _tool_input(part.arguments, where)}
    elif isinstance(part, c.ThinkingPart):
        # Only Anthropic-issued signatures verify; thinking from other providers cannot be replayed.
        if not same and part.origin != NAME:
            return None
        if part.redacted_data is not None:
            block = {"type": "redacted_thinking", "data": part.redacted_data}
        elif part.signature is not None:
            block = {"type": "thinking", "thinking": part.text, "signature": part.signature}
        else:
            return None
    elif isinstance(part, c.RawPart):
        return part.data if part.protocol == NAME else None
    else:
        return None
    if same:
        block.update(_wire_extra(part.extra))
    return block


def _tool_result_out(part: c.ToolResultPart, same: bool, where: str) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.tool_call_id}
    blocks = _extend_blocks([], list(part.content), same, f"{where}.content")
    keep_list = same and bool(part.extra and part.extra.get(_BLOCKS))
    if len(part.content) == 1 and isinstance(part.content[0], c.TextPart) and not keep_list and (
        not same or not part.content[0].extra
    ):
        block["content"] = part.content[0].text
    elif blocks:
        block["content"] = blocks
    if part.is_error:
        block["is_error"] = True
    if same:
        block.update(_wire_extra(part.extra))
    return block


def _extend_blocks(blocks: list[dict[str, Any]], parts: list[c.Part], same: bool, where: str) -> list[dict[str, Any]]:
    """Append the wire blocks for ``parts``; errors name the index the block would have had on the wire."""
    for part in parts:
        block = _part_out(part, same, f"{where}[{len(blocks)}]")
        if block is not None:
            blocks.append(block)
    return blocks


def _content_out(blocks: list[dict[str, Any]], lone_as_list: bool) -> str | list[dict[str, Any]]:
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"} and blocks[0]["type"] == "text" and not lone_as_list:
        return blocks[0]["text"]
    return blocks


def _messages_out(req: c.ChatRequest, same: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """Wire ``messages``, the hoisted system blocks, and whether the system prompt was a lone block list."""
    system: list[dict[str, Any]] = []
    system_as_list = False
    out: list[dict[str, Any]] = []
    results_open = False  # the last wire message is a user message holding tool results
    for msg in req.messages:
        flags = msg.extra or {}
        lone_as_list = same and bool(flags.get(_BLOCKS))
        if msg.role == "system":
            # In place when it came inside ``messages`` (same protocol) or, from another protocol, when
            # it follows a user turn (where the API takes one); otherwise part of the system prompt.
            in_place = bool(flags.get(_IN_MESSAGES)) if same else bool(out) and out[-1]["role"] == "user"
            if not in_place:
                _extend_blocks(system, msg.parts, same, "system")
                system_as_list = system_as_list or lone_as_list
                continue
            blocks = _extend_blocks([], msg.parts, same, f"messages[{len(out)}].content")
            if blocks or same:
                wire_system: dict[str, Any] = {"role": "system", "content": _content_out(blocks, lone_as_list)}
                if same:
                    wire_system.update(_wire_extra(msg.extra))
                out.append(wire_system)
                results_open = False
            continue
        if msg.role == "tool":
            if not results_open:
                out.append({"role": "user", "content": []})
                results_open = True
            content = out[-1]["content"]
            for part in msg.parts:
                if isinstance(part, c.ToolResultPart):
                    where = f"messages[{len(out) - 1}].content[{len(content)}]"
                    content.append(_tool_result_out(part, same, where))
            continue
        if msg.role == "user" and results_open and (not same or flags.get(_JOINED)):
            # Anthropic wants the tool results first, then the user's own blocks, in one message.
            _extend_blocks(out[-1]["content"], msg.parts, same, f"messages[{len(out) - 1}].content")
            if same:
                out[-1].update(_wire_extra(msg.extra))
            results_open = False
            continue
        results_open = False
        blocks = _extend_blocks([], msg.parts, same, f"messages[{len(out)}].content")
        wire: dict[str, Any] = {"role": msg.role, "content": _content_out(blocks, lone_as_list)}
        if same:
            wire.update(_wire_extra(msg.extra))
        out.append(wire)
    attribution = req.meta.get("anthropic_attribution")
    if attribution is not None:
        index, block = attribution
        system.insert(min(index, len(system)), dict(block))
    return out, system, system_as_list


def _thinking_out(req: c.ChatRequest, same: bool) -> dict[str, Any] | None:
    r = req.reasoning
    if r is None:
        return None
    raw = req.meta.get("anthropic_thinking") if same else None
    raw = raw if isinstance(raw, dict) else None
    if not r.enabled:
        return dict(raw) if raw and raw.get("type") == "disabled" else {"type": "disabled"}
    if r.budget_tokens is None:
        if raw is not None and raw.get("type") not in ("enabled", "disabled"):
            return dict(raw)  # adaptive thinking
        if same and raw is None:
            return None  # only an output_config.effort was given
        if r.effort in (None, "none"):
            return None  # no effort or budget (e.g. only a wish to see thoughts): thinking stays off
    budget = r.budget_tokens if r.budget_tokens is not None else EFFORT_BUDGETS.get(r.effort or "", 8192)
    out: dict[str, Any] = {"type": "enabled", "budget_tokens": budget}
    if raw is not None and raw.get("type") == "enabled":
        out.update({k: v for k, v in raw.items() if k not in ("type", "budget_tokens")})
    return out


def _fit_thinking(out: dict[str, Any], req: c.ChatRequest, same: bool) -> None:
    """Set ``max_tokens`` and keep the thinking budget below it (Anthropic rejects budget >= max_tokens)."""
    thinking = out.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) and thinking.get("type") == "enabled" else None
    if budget is not None and not same and budget < MIN_THINKING_BUDGET:
        budget = thinking["budget_tokens"] = MIN_THINKING_BUDGET  # type: ignore[index]
    if req.max_tokens is not None:
        out["max_tokens"] = req.max_tokens
        if budget is not None and budget >= req.max_tokens and not same:
            if req.max_tokens - 1 >= MIN_THINKING_BUDGET:
                thinking["budget_tokens"] = req.max_tokens - 1  # type: ignore[index]
            else:
                del out["thinking"]  # no room to think within the client's limit
        return
    out["max_tokens"] = DEFAULT_MAX_TOKENS if budget is None else max(DEFAULT_MAX_TOKENS, budget + DEFAULT_MAX_TOKENS)


def _fit_sampling_to_thinking(out: dict[str, Any]) -> None:
    """With thinking on, Anthropic refuses ``top_k``, a ``temperature`` other than 1 and a ``top_p``
    below 0.95 (extended-thinking docs, "Feature compatibility"): another protocol's client (Gemini
    CLI sends topK 64) gets them dropped, with a debug line, rather than a 400."""
    dropped = [k for k in ("top_k",) if k in out]
    if out.get("temperature") not in (None, 1, 1.0):
        dropped.append("temperature")
    if out.get("top_p") is not None and out["top_p"] < 0.95:
        dropped.append("top_p")
    for key in dropped:
        del out[key]
    if dropped:
        logger.debug("dropped %s: Anthropic takes no such sampling settings with thinking on", ", ".join(dropped))


def _tool_out(tool: c.Tool, same: bool) -> dict[str, Any]:
    extra = (tool.extra or {}) if same else {}
    if tool.parameters is None and "type" in extra and extra["type"] != "custom":
        return {"name": tool.name, **extra}  # server tool
    wire: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        wire["description"] = tool.description
    wire["input_schema"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    wire.update(extra)
    return wire


def _tool_choice_out(req: c.ChatRequest) -> dict[str, Any] | None:
    tc = req.tool_choice
    parallel = req.parallel_tool_calls
    if tc is None:
        if parallel is False and req.tools:
            return {"type": "auto", "disable_parallel_tool_use": True}
        return None
    if tc.mode == "none":
        return {"type": "none"}
    out: dict[str, Any] = {"type": {"auto": "auto", "required": "any", "tool": "tool"}[tc.mode]}
    if tc.mode == "tool":
        out["name"] = tc.name or ""
    if parallel is not None:
        out["disable_parallel_tool_use"] = not parallel
    return out


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the Anthropic wire request for ``req`` (``req.model`` is the upstream model name)."""
    same = req.source_protocol == NAME
    messages, system, system_as_list = _messages_out(req, same)
    out: dict[str, Any] = {"model": req.model, "messages": messages}
    if system:
        out["system"] = _content_out(system, system_as_list)
    thinking = _thinking_out(req, same)
    if thinking is not None:
        out["thinking"] = thinking
    _fit_thinking(out, req, same)
    if req.stream or (same and req.meta.get("anthropic_stream_field")):
        out["stream"] = req.stream
    for key in ("temperature", "top_p", "top_k"):
        value = getattr(req, key)
        if value is not None:
            out[key] = value
    if not same and isinstance(out.get("thinking"), dict) and out["thinking"].get("type") != "disabled":
        _fit_sampling_to_thinking(out)
    if req.stop:
        out["stop_sequences"] = list(req.stop)
    if req.tools is not None:
        out["tools"] = [_tool_out(tool, same) for tool in req.tools]
    if not same and req.meta.get(WEB_SEARCH):
        out.setdefault("tools", []).append(dict(WEB_SEARCH_TOOL))
    tool_choice = _tool_choice_out(req)
    if tool_choice is not None:
        out["tool_choice"] = tool_choice
    metadata: dict[str, Any] = dict(req.metadata or {}) if same else {}
    user = req.meta.get("anthropic_user_id", req.user) if same else req.user
    if user is not None:
        metadata["user_id"] = user
    if metadata:
        out["metadata"] = metadata
    output_config: dict[str, Any] = dict(req.extra.get("output_config") or {}) if same else {}
    if same and req.meta.get("anthropic_effort") and req.reasoning is not None and req.reasoning.effort:
        output_config["effort"] = req.reasoning.effort
    rf = req.response_format
    if rf is not None and rf.type == "json_schema":
        fmt = {"type": "json_schema", "schema": rf.schema or {}}
        if same and req.meta.get("anthropic_format_field") == "output_format":
            out["output_format"] = fmt
        else:
            output_config["format"] = fmt
    if output_config:
        out["output_config"] = output_config
    if same:
        out.update({k: v for k, v in req.extra.items() if k != "output_config"})
    return out


# ---------------------------------------------------------------- response


def _usage_in(usage: Any, base: c.Usage | None = None) -> c.Usage:
    """Anthropic usage -> canonical; ``base`` supplies input counts a stream delta leaves out."""
    out = c.Usage()
    if base is not None:
        out.input_tokens, out.cached_tokens = base.input_tokens, base.cached_tokens
        out.cache_creation_tokens, out.output_tokens = base.cache_creation_tokens, base.output_tokens
        out.reasoning_tokens = base.reasoning_tokens
    if not isinstance(usage, dict):
        return out
    if any(usage.get(k) is not None for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")):
        uncached = usage.get("input_tokens")
        read = usage.get("cache_read_input_tokens")
        created = usage.get("cache_creation_input_tokens")
        old_uncached = out.input_tokens - out.cached_tokens - out.cache_creation_tokens
        read = int(read) if read is not None else out.cached_tokens
        created = int(created) if created is not None else out.cache_creation_tokens
        uncached = int(uncached) if uncached is not None else old_uncached
        out.input_tokens = uncached + read + created
        out.cached_tokens, out.cache_creation_tokens = read, created
    if usage.get("output_tokens") is not None:
        out.output_tokens = int(usage["output_tokens"])
    details = usage.get("output_tokens_details")
    if isinstance(details, dict) and details.get("thinking_tokens") is not None:
        out.reasoning_tokens = int(details["thinking_tokens"])
    return out


def usage_from_canonical(usage: c.Usage) -> dict[str, Any]:
    return {
        "input_tokens": max(usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens, 0),
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    parts: list[c.Part] = []
    for j, block in enumerate(payload.get("content") or []):
        if isinstance(block, dict) and block.get("type") in ("text", "tool_use", "thinking", "redacted_thinking"):
            try:
                parts.append(_block_in(block, f"content[{j}]"))
            except c.ProxyError as exc:  # a malformed upstream answer is the upstream's fault
                raise c.ProxyError(f"upstream response: {exc.message}", kind="bad_gateway", param=exc.param) from exc
        elif isinstance(block, dict):
            parts.append(c.RawPart(NAME, block))
    stop_reason = payload.get("stop_reason")
    return c.ChatResponse(
        id=payload.get("id") or new_id("msg_"),
        model=payload.get("model") or "",
        parts=parts,
        stop_reason=STOP_REASON_IN.get(stop_reason, "end_turn"),
        usage=_usage_in(payload.get("usage")),
        stop_sequence=payload.get("stop_sequence"),
    )


def _tool_input_lenient(arguments: str) -> dict[str, Any]:
    """Tool input for a response: never fail on what a model emitted; keep malformed text visible."""
    try:
        return _tool_input(arguments, "content")
    except c.ProxyError:
        return {"_raw_arguments": arguments}


def _response_block(part: c.Part) -> dict[str, Any] | None:
    block: dict[str, Any]
    if isinstance(part, c.TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, c.ToolCallPart):
        block = {"type": "tool_use", "id": part.id, "name": part.name, "input": _tool_input_lenient(part.arguments)}
    elif isinstance(part, c.ThinkingPart):
        if part.redacted_data is not None:
            return {"type": "redacted_thinking", "data": part.redacted_data}
        block = {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    elif isinstance(part, c.RawPart):
        return part.data if part.protocol == NAME else None
    else:
        return None
    block.update({k: v for k, v in (part.extra or {}).items() if k in _RESPONSE_BLOCK_FIELDS})
    return block


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> dict[str, Any]:
    return {
        "id": resp.id if resp.id.startswith("msg_") else f"msg_{resp.id}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [b for p in resp.parts if (b := _response_block(p)) is not None],
        "stop_reason": STOP_REASON_OUT.get(resp.stop_reason) or "end_turn",
        "stop_sequence": resp.stop_sequence,
        "usage": usage_from_canonical(resp.usage),
    }


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """Turns Anthropic stream events (``message_start`` … ``message_stop``) into canonical events."""

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._stop_sequence: str | None = None
        self._usage = c.Usage()
        self._blocks: dict[int, str] = {}  # wire block index -> block type
        self._tool_index: dict[int, int] = {}  # wire block index -> canonical tool-call index

    def _start(self, message: dict[str, Any]) -> list[c.StreamEvent]:
        self._started = True
        self._usage = _usage_in(message.get("usage"))
        usage = self._usage if isinstance(message.get("usage"), dict) else None
        return [c.StreamStart(message.get("id") or new_id("msg_"), message.get("model") or "", usage)]

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        kind = data.get("type") or event
        events: list[c.StreamEvent] = []
        if kind == "error":
            err = data.get("error") if isinstance(data.get("error"), dict) else {}
            return [c.StreamError(c.ProxyError(
                str(err.get("message") or "upstream stream error"),
                kind=ERROR_KINDS_IN.get(str(err.get("type")), "bad_gateway"),
            ))]
        if kind == "message_start":
            message = data.get("message")
            return self._start(message if isinstance(message, dict) else {})
        if not self._started and kind in ("content_block_start", "content_block_delta", "message_delta"):
            events.extend(self._start({}))
        if kind == "content_block_start":
            index = int(data.get("index", len(self._blocks)))
            block = data.get("content_block") or {}
            block_type = block.get("type")
            self._blocks[index] = block_type
            if block_type == "text" and block.get("text"):
                events.append(c.TextDelta(block["text"]))
            elif block_type == "thinking":
                if block.get("thinking"):
                    events.append(c.ThinkingDelta(block["thinking"]))
                if block.get("signature"):
                    events.append(c.ThinkingDelta(signature=block["signature"]))
            elif block_type == "redacted_thinking":
                events.append(c.ThinkingDelta(redacted_data=block.get("data") or ""))
            elif block_type == "tool_use":
                tool_index = len(self._tool_index)
                self._tool_index[index] = tool_index
                events.append(c.ToolCallStart(tool_index, block.get("id") or new_id("toolu_"), block.get("name") or ""))
                if block.get("input"):
                    events.append(c.ToolCallDelta(tool_index, _dumps(block["input"])))
            # server_tool_use / *_tool_result blocks run upstream and have no canonical stream form
        elif kind == "content_block_delta":
            index = int(data.get("index", 0))
            delta = data.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta" and delta.get("text"):
                events.append(c.TextDelta(delta["text"]))
            elif delta_type == "thinking_delta" and delta.get("thinking"):
                events.append(c.ThinkingDelta(delta["thinking"]))
            elif delta_type == "signature_delta" and delta.get("signature"):
                events.append(c.ThinkingDelta(signature=delta["signature"]))
            elif delta_type == "input_json_delta" and index in self._tool_index and delta.get("partial_json"):
                events.append(c.ToolCallDelta(self._tool_index[index], delta["partial_json"]))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self._stop = STOP_REASON_IN.get(delta["stop_reason"], "end_turn")
            if delta.get("stop_sequence") is not None:
                self._stop_sequence = delta["stop_sequence"]
            self._usage = _usage_in(data.get("usage"), self._usage)
        return events

    def finish(self) -> list[c.StreamEvent]:
        return [c.StreamEnd(self._stop or "end_turn", self._usage, self._stop_sequence)]


class StreamEncoder:
    """Renders canonical stream events as Anthropic named SSE events, tracking open content blocks."""

    content_type = "text/event-stream"

    def __init__(self, *, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage  # Anthropic always reports usage; kept for the common surface
        self.id = new_id("msg_")
        self._started = False
        self._ended = False
        self._next_index = 0
        self._open: str | None = None  # type of the open block: text | thinking | tool_use
        self._open_index = 0
        self._open_tool: int | None = None
        self._signature: str | None = None
        self._tool_blocks: dict[int, int] = {}  # canonical tool index -> wire block index

    def _event(self, payload: dict[str, Any]) -> bytes:
        return sse_event(payload["type"], payload)

    def _message_start(self, event: c.StreamStart | None) -> bytes:
        self._started = True
        if event is not None and event.id:
            self.id = event.id if event.id.startswith("msg_") else f"msg_{event.id}"
        usage = usage_from_canonical(event.usage if event is not None and event.usage else c.Usage())
        message = {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage,
        }
        return self._event({"type": "message_start", "message": message}) + self._event({"type": "ping"})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == "thinking" and self._signature is not None:
            out += self._delta({"type": "signature_delta", "signature": self._signature})
        self._signature = None
        out += self._event({"type": "content_block_stop", "index": self._open_index})
        self._open = None
        self._open_tool = None
        return out

    def _open_block(self, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._open = block["type"]
        self._open_index = self._next_index
        self._next_index += 1
        return out + self._event({"type": "content_block_start", "index": self._open_index, "content_block": block})

    def _delta(self, delta: dict[str, Any], index: int | None = None) -> bytes:
        index = self._open_index if index is None else index
        return self._event({"type": "content_block_delta", "index": index, "delta": delta})

    def _tool_start(self, index: int, call_id: str, name: str) -> bytes:
        out = self._open_block({"type": "tool_use", "id": call_id, "name": name, "input": {}})
        self._open_tool = index
        self._tool_blocks[index] = self._open_index
        return out

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._ended:
            return b""
        out = b""
        if not self._started:
            out = self._message_start(event if isinstance(event, c.StreamStart) else None)
            if isinstance(event, c.StreamStart):
                return out
        if isinstance(event, c.TextDelta):
            if not event.text:
                return out
            if self._open != "text":
                out += self._open_block({"type": "text", "text": ""})
            return out + self._delta({"type": "text_delta", "text": event.text})
        if isinstance(event, c.ThinkingDelta):
            if event.redacted_data is not None:
                out += self._open_block({"type": "redacted_thinking", "data": event.redacted_data})
                return out + self._close()
            if (event.text or event.signature is not None) and self._open != "thinking":
                out += self._open_block({"type": "thinking", "thinking": "", "signature": ""})
            if event.text:
                out += self._delta({"type": "thinking_delta", "thinking": event.text})
            if event.signature is not None:
                self._signature = (self._signature or "") + event.signature
            return out
        if isinstance(event, c.ToolCallStart):
            return out + self._tool_start(event.index, event.id, event.name)
        if isinstance(event, c.ToolCallDelta):
            if event.index not in self._tool_blocks:
                out += self._tool_start(event.index, new_id("toolu_"), "")
            if not event.arguments:
                return out
            return out + self._delta({"type": "input_json_delta", "partial_json": event.arguments},
                                     self._tool_blocks[event.index])
        if isinstance(event, c.StreamEnd):
            self._ended = True
            out += self._close()
            message_delta = {
                "type": "message_delta",
                "delta": {
                    "stop_reason": STOP_REASON_OUT.get(event.stop_reason) or "end_turn",
                    "stop_sequence": event.stop_sequence,
                },
                "usage": usage_from_canonical(event.usage),
            }
            return out + self._event(message_delta) + self._event({"type": "message_stop"})
        if isinstance(event, c.StreamError):
            return out + sse_event("error", error_body(event.error))
        return out


# ---------------------------------------------------------------- errors


def error_body(err: c.ProxyError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": ERROR_TYPES.get(err.kind, "api_error"), "message": err.message}}


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream Anthropic error body (or anything else) into a ``ProxyError``."""
    message = None
    kind = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            kind = ERROR_KINDS_IN.get(str(err.get("type")))
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    # The status decides, unless the body names something more specific (overloaded_error on a 500).
    if kind is None or kind in ("invalid_request", "api_error"):
        kind = c.error_kind_for_status(status)
    return c.ProxyError(str(message), kind=kind, status=status)
