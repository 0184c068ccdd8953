"""An Anthropic Messages request as a client sends it -> the canonical ``ChatRequest``.

Validation names the offending field (``messages[2].content[0].tool_use_id``). What the canonical
model has no place for stays in ``extra`` and ``meta`` (see ``markers``), so that an Anthropic
upstream gets the request back as the client sent it.
"""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic.blocks import block_to_part, unmodelled
from proxy_app.protocols.anthropic.markers import BLOCKS, IN_MESSAGES, JOINED
from proxy_app.protocols.anthropic.types import NAME
from proxy_app.protocols.common import as_int, as_number, pseudonymous_user, require_list, require_str, split_known

_KNOWN_REQUEST_FIELDS = frozenset(
    {
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
        "stream", "tools", "tool_choice", "thinking", "metadata", "output_config", "output_format",
    }
)

# Claude Code's attribution block (first system block): a client identifier, kept for Anthropic only.
ATTRIBUTION_PREFIX = "x-anthropic-billing-header:"


def _tool_result_in(block: dict[str, Any], where: str) -> c.ToolResultPart:
    call_id = require_str(block, "tool_use_id", where)
    content = block.get("content")
    parts: list[c.TextPart | c.ImagePart] = []
    extra = unmodelled(block, ("type", "tool_use_id", "content", "is_error")) or {}
    if "is_error" in block and not block["is_error"]:
        extra["is_error"] = block["is_error"]  # an explicit false, kept for lossless re-encoding
    if isinstance(content, str):
        parts.append(c.TextPart(content))
    elif isinstance(content, list):
        for j, item in enumerate(content):
            part = block_to_part(item, f"{where}.content[{j}]")
            if isinstance(part, (c.TextPart, c.ImagePart)):
                parts.append(part)
            else:  # documents, search results: keep the original list for Anthropic only
                extra["content"] = content
        if len(content) == 1 and len(parts) == 1 and isinstance(parts[0], c.TextPart) and not parts[0].extra:
            extra[BLOCKS] = True
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
            parts.append(block_to_part(block, f"{where}.content[{j}]"))
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
        extra = unmodelled(msg, ("role", "content")) or {}
        if role == "system":
            # A mid-conversation system message (Claude Code sends them, with per-turn ``output_config``,
            # ``clear_at`` and tool_addition blocks): kept in place; other encoders see its text only.
            if results:
                raise c.ProxyError(f"'{where}' tool_result blocks belong in user messages", param=f"{where}.content")
            extra[IN_MESSAGES] = True
            if lone and isinstance(msg["content"], list):
                extra[BLOCKS] = True
            out.append(c.Message("system", parts, extra=extra))
            continue
        if role == "assistant":
            if results:
                raise c.ProxyError(f"'{where}' tool_result blocks belong in user messages", param=f"{where}.content")
            if lone and isinstance(msg["content"], list):
                extra[BLOCKS] = True
            out.append(c.Message("assistant", parts, extra=extra or None))
            continue
        if results:
            out.append(c.Message("tool", list(results)))
            if not parts:
                continue
            extra[JOINED] = True
        if lone and isinstance(msg["content"], list):
            extra[BLOCKS] = True
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
        parts.append(block_to_part(block, f"system[{i}]"))
    lone = len(parts) == 1 and not parts[0].extra  # type: ignore[union-attr]
    return [c.Message("system", parts, extra={BLOCKS: True} if lone else None)]


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
            tools.append(c.Tool(name, extra=unmodelled(tool, ("name",))))
            continue
        description = tool.get("description")
        if not isinstance(description, str | None):
            raise c.ProxyError(f"'tools[{i}].description' must be a string", param=f"tools[{i}].description")
        tools.append(c.Tool(name, description, schema, extra=unmodelled(tool, ("name", "description", "input_schema"))))
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
    max_tokens = as_int(payload, "max_tokens", minimum=1)
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
