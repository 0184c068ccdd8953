"""The canonical ``ChatRequest`` -> an Anthropic Messages request for an upstream.

A request that came from an Anthropic client (``same``) goes back as it came: markers, ``extra`` and
``meta`` restore what the canonical model does not hold. One from another protocol's client is fitted
to what the API accepts: tool results merged into one user message, reasoning as a thinking budget
below ``max_tokens``, thinking signed by other providers dropped, prompt-cache breakpoints added
(``cache_hints``) when the backend connector asks for them.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic import types as wire
from proxy_app.protocols.anthropic.blocks import tool_input
from proxy_app.protocols.anthropic.cache_hints import AUTO_CACHE, add_cache_breakpoints
from proxy_app.protocols.anthropic.markers import BLOCKS, IN_MESSAGES, JOINED, wire_extra
from proxy_app.protocols.common import WEB_SEARCH

logger = logging.getLogger("llmproxy.translation")

# Anthropic's server-side web search, for clients that offer their own provider's (Codex).
WEB_SEARCH_TOOL: wire.Block = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}

# Thinking budgets used when a request only names an effort level.
EFFORT_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
DEFAULT_MAX_TOKENS = 4096
MIN_THINKING_BUDGET = 1024

SamplingField = Literal["temperature", "top_p", "top_k"]
_SAMPLING_FIELDS: tuple[SamplingField, ...] = ("temperature", "top_p", "top_k")

_TOOL_CHOICE_TYPES: dict[str, Literal["auto", "any", "tool"]] = {"auto": "auto", "required": "any", "tool": "tool"}


def _image_out(part: c.ImagePart) -> wire.ImageBlock:
    if part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data or ""},
    }


def _part_out(part: c.Part, same: bool, where: str) -> wire.Block | None:
    block: wire.ContentBlock
    if isinstance(part, c.TextPart):
        block = {"type": "text", "text": part.text}
    elif isinstance(part, c.ImagePart):
        block = _image_out(part)
    elif isinstance(part, c.ToolCallPart):
        block = {"type": "tool_use", "id": part.id, "name": part.name, "input": tool_input(part.arguments, where)}
    elif isinstance(part, c.ThinkingPart):
        # Only Anthropic-issued signatures verify; thinking from other providers cannot be replayed.
        if not same and part.origin != wire.NAME:
            return None
        if part.redacted_data is not None:
            block = {"type": "redacted_thinking", "data": part.redacted_data}
        elif part.signature is not None:
            block = {"type": "thinking", "thinking": part.text, "signature": part.signature}
        else:
            return None
    elif isinstance(part, c.RawPart):
        return part.data if part.protocol == wire.NAME else None
    else:
        return None
    passed_through = wire_extra(part.extra) if same else {}
    return {**block, **passed_through}


def _tool_result_out(part: c.ToolResultPart, same: bool, where: str) -> wire.Block:
    block: wire.ToolResultBlock = {"type": "tool_result", "tool_use_id": part.tool_call_id}
    blocks = _extend_blocks([], list(part.content), same, f"{where}.content")
    keep_list = same and bool(part.extra and part.extra.get(BLOCKS))
    if len(part.content) == 1 and isinstance(part.content[0], c.TextPart) and not keep_list and (
        not same or not part.content[0].extra
    ):
        block["content"] = part.content[0].text
    elif blocks:
        block["content"] = blocks
    if part.is_error:
        block["is_error"] = True
    passed_through = wire_extra(part.extra) if same else {}
    return {**block, **passed_through}


def _extend_blocks(blocks: list[wire.Block], parts: list[c.Part], same: bool, where: str) -> list[wire.Block]:
    """Append the wire blocks for ``parts``; errors name the index the block would have had on the wire."""
    for part in parts:
        block = _part_out(part, same, f"{where}[{len(blocks)}]")
        if block is not None:
            blocks.append(block)
    return blocks


def _content_out(blocks: list[wire.Block], lone_as_list: bool) -> str | list[wire.Block]:
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"} and blocks[0]["type"] == "text" and not lone_as_list:
        text: str = blocks[0]["text"]
        return text
    return blocks


def _messages_out(req: c.ChatRequest, same: bool) -> tuple[list[wire.Block], list[wire.Block], bool]:
    """Wire ``messages``, the hoisted system blocks, and whether the system prompt was a lone block list."""
    system: list[wire.Block] = []
    system_as_list = False
    out: list[wire.Block] = []
    results_open = False  # the last wire message is a user message holding tool results
    for msg in req.messages:
        flags = msg.extra or {}
        lone_as_list = same and bool(flags.get(BLOCKS))
        if msg.role == "system":
            # In place when it came inside ``messages`` (same protocol) or, from another protocol, when
            # it follows a user turn (where the API takes one); otherwise part of the system prompt.
            in_place = bool(flags.get(IN_MESSAGES)) if same else bool(out) and out[-1]["role"] == "user"
            if not in_place:
                _extend_blocks(system, msg.parts, same, "system")
                system_as_list = system_as_list or lone_as_list
                continue
            blocks = _extend_blocks([], msg.parts, same, f"messages[{len(out)}].content")
            if blocks or same:
                system_message: wire.Block = {"role": "system", "content": _content_out(blocks, lone_as_list)}
                if same:
                    system_message.update(wire_extra(msg.extra))
                out.append(system_message)
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
        if msg.role == "user" and results_open and (not same or flags.get(JOINED)):
            # Anthropic wants the tool results first, then the user's own blocks, in one message.
            _extend_blocks(out[-1]["content"], msg.parts, same, f"messages[{len(out) - 1}].content")
            if same:
                out[-1].update(wire_extra(msg.extra))
            results_open = False
            continue
        results_open = False
        blocks = _extend_blocks([], msg.parts, same, f"messages[{len(out)}].content")
        message: wire.Block = {"role": msg.role, "content": _content_out(blocks, lone_as_list)}
        if same:
            message.update(wire_extra(msg.extra))
        out.append(message)
    attribution = req.meta.get("anthropic_attribution")
    if attribution is not None:
        index, block = attribution
        system.insert(min(index, len(system)), dict(block))
    return out, system, system_as_list


def _thinking_out(req: c.ChatRequest, same: bool) -> wire.Block | None:
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
    out: wire.Block = {"type": "enabled", "budget_tokens": budget}
    if raw is not None and raw.get("type") == "enabled":
        out.update({k: v for k, v in raw.items() if k not in ("type", "budget_tokens")})
    return out


def _fit_thinking(out: wire.MessagesRequest, req: c.ChatRequest, same: bool) -> None:
    """Set ``max_tokens`` and keep the thinking budget below it (Anthropic rejects budget >= max_tokens)."""
    thinking = out.get("thinking")
    budget = thinking.get("budget_tokens") if thinking is not None and thinking.get("type") == "enabled" else None
    if thinking is None or budget is None:
        out["max_tokens"] = DEFAULT_MAX_TOKENS if req.max_tokens is None else req.max_tokens
        return
    if not same and budget < MIN_THINKING_BUDGET:
        budget = thinking["budget_tokens"] = MIN_THINKING_BUDGET
    if req.max_tokens is None:
        out["max_tokens"] = max(DEFAULT_MAX_TOKENS, budget + DEFAULT_MAX_TOKENS)
        return
    out["max_tokens"] = req.max_tokens
    if budget >= req.max_tokens and not same:
        if req.max_tokens - 1 >= MIN_THINKING_BUDGET:
            thinking["budget_tokens"] = req.max_tokens - 1
        else:
            del out["thinking"]  # no room to think within the client's limit


def _fit_sampling_to_thinking(out: wire.MessagesRequest) -> None:
    """With thinking on, Anthropic refuses ``top_k``, a ``temperature`` other than 1 and a ``top_p``
    below 0.95 (extended-thinking docs, "Feature compatibility"): another protocol's client (Gemini
    CLI sends topK 64) gets them dropped, with a debug line, rather than a 400."""
    dropped: list[SamplingField] = ["top_k"] if "top_k" in out else []
    if out.get("temperature") not in (None, 1, 1.0):
        dropped.append("temperature")
    top_p = out.get("top_p")
    if top_p is not None and top_p < 0.95:
        dropped.append("top_p")
    for key in dropped:
        del out[key]
    if dropped:
        logger.debug("dropped %s: Anthropic takes no such sampling settings with thinking on", ", ".join(dropped))


def _tool_out(tool: c.Tool, same: bool) -> wire.Block:
    extra = (tool.extra or {}) if same else {}
    if tool.parameters is None and "type" in extra and extra["type"] != "custom":
        return {"name": tool.name, **extra}  # server tool
    param: wire.Block = {"name": tool.name}
    if tool.description is not None:
        param["description"] = tool.description
    param["input_schema"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    param.update(extra)
    return param


def _tool_choice_out(req: c.ChatRequest) -> wire.ToolChoice | None:
    tc = req.tool_choice
    parallel = req.parallel_tool_calls
    if tc is None:
        if parallel is False and req.tools:
            return {"type": "auto", "disable_parallel_tool_use": True}
        return None
    if tc.mode == "none":
        return {"type": "none"}
    out: wire.ToolChoice = {"type": _TOOL_CHOICE_TYPES[tc.mode]}
    if tc.mode == "tool":
        out["name"] = tc.name or ""
    if parallel is not None:
        out["disable_parallel_tool_use"] = not parallel
    return out


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the Anthropic wire request for ``req`` (``req.model`` is the upstream model name)."""
    same = req.source_protocol == wire.NAME
    messages, system, system_as_list = _messages_out(req, same)
    out: wire.MessagesRequest = {"model": req.model, "messages": messages}
    if system:
        out["system"] = _content_out(system, system_as_list)
    thinking = _thinking_out(req, same)
    if thinking is not None:
        out["thinking"] = thinking
    _fit_thinking(out, req, same)
    if req.stream or (same and req.meta.get("anthropic_stream_field")):
        out["stream"] = req.stream
    for key in _SAMPLING_FIELDS:
        value = getattr(req, key)
        if value is not None:
            out[key] = value
    fitted = out.get("thinking")
    if not same and fitted is not None and fitted.get("type") != "disabled":
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
        fmt: wire.JSONSchemaFormat = {"type": "json_schema", "schema": rf.schema or {}}
        if same and req.meta.get("anthropic_format_field") == "output_format":
            out["output_format"] = fmt
        else:
            output_config["format"] = fmt
    if output_config:
        out["output_config"] = output_config
    # an Anthropic client's unmodelled top-level fields go back beside the modelled ones
    passed_through = {k: v for k, v in req.extra.items() if k != "output_config"} if same else {}
    body = {**out, **passed_through}
    # another protocol's client cannot mark cache breakpoints; an Anthropic client's own are kept exactly
    return add_cache_breakpoints(body) if not same and req.meta.get(AUTO_CACHE) else body
