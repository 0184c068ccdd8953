"""Canonical request -> ``generateContent`` body.

For a request that came from a Gemini client, whatever ``request_in`` kept in ``extra`` goes back
as it was; for another protocol's request the body holds only what Gemini understands, plus what
Gemini needs that other protocols do not send (function names on tool results, thought signatures
on Gemini 3 function calls, ``includeThoughts``).
"""

from __future__ import annotations

import re
from typing import Any, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import WEB_SEARCH, web_search_note
from proxy_app.protocols.gemini.parts import ExtraMode, part_out
from proxy_app.protocols.gemini.schema import schema_to_gemini
from proxy_app.protocols.gemini.types import (
    Content,
    FunctionDeclaration,
    GenerateContentRequest,
    GenerationConfig,
    JsonObject,
    Part,
    ThinkingConfig,
    Tool,
    ToolConfig,
)
from proxy_app.protocols.gemini.wire import NAME, with_fields, without

# Reasoning effort <-> thinking budget (Gemini 2.x takes budgets, Gemini 3 takes levels).
EFFORT_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_THINKING_LEVELS = ("minimal", "low", "medium", "high")
# Documented stand-in for a missing thought signature on a function call replayed into a
# Gemini 3 conversation from another model/protocol (otherwise the API answers 400).
DUMMY_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
# ``ChatRequest.meta`` key: the client gave its schema as ``responseJsonSchema`` (plain JSON Schema).
SCHEMA_FIELD = "gemini_schema_field"


def _gemini_major(model: str) -> int | None:
    match = re.search(r"gemini-(\d+)", model or "")
    return int(match.group(1)) if match else None


def parameters_out(schema: JsonObject | None) -> JsonObject | None:
    if schema is None:
        return None
    converted = schema_to_gemini(schema)
    if converted.get("type") == "object" and not converted.get("properties"):
        return None  # Gemini rejects OBJECT parameters with no properties
    return converted


def tool_config_out(choice: c.ToolChoice | None) -> ToolConfig | None:
    if choice is None:
        return None
    if choice.mode == "tool":
        # a "tool" choice names its tool (every decoder sets the name)
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [cast(str, choice.name)]}}
    return {"functionCallingConfig": {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice.mode]}}


def _thinking_config_out(reasoning: c.Reasoning | None, model: str, *, same: bool = True) -> ThinkingConfig | None:
    if reasoning is None:
        return None
    config: ThinkingConfig = {}
    effort = (reasoning.effort or "").lower()
    disabled = not reasoning.enabled or effort == "none"
    if disabled:
        config["thinkingBudget"] = 0
    elif reasoning.budget_tokens is not None:
        config["thinkingBudget"] = reasoning.budget_tokens
    elif effort:
        if (_gemini_major(model) or 0) >= 3:
            config["thinkingLevel"] = effort if effort in _THINKING_LEVELS else "high"
        else:
            config["thinkingBudget"] = EFFORT_BUDGETS.get(effort, -1)
    if reasoning.include_thoughts is not None:
        config["includeThoughts"] = reasoning.include_thoughts
    elif not same and not disabled:
        # OpenAI and Anthropic clients that turn reasoning on get its text back (reasoning_content,
        # thinking blocks); Gemini only returns thought summaries when asked to.
        config["includeThoughts"] = True
    return config


def generation_config_out(req: c.ChatRequest) -> GenerationConfig:
    config: GenerationConfig = {}
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.top_p is not None:
        config["topP"] = req.top_p
    if req.top_k is not None:
        config["topK"] = req.top_k
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.seed is not None:
        config["seed"] = req.seed
    if req.stop:
        config["stopSequences"] = list(req.stop)
    rf = req.response_format
    if rf is not None:
        config["responseMimeType"] = "text/plain" if rf.type == "text" else "application/json"
        if rf.type == "json_schema" and rf.schema is not None:
            if req.meta.get(SCHEMA_FIELD) == "responseJsonSchema":
                config["responseJsonSchema"] = rf.schema
            else:
                config["responseSchema"] = schema_to_gemini(rf.schema)
    thinking = _thinking_config_out(req.reasoning, req.model, same=req.source_protocol == NAME)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _call_signature(msg: c.Message) -> str | None:
    """The thought signature Gemini issued with this turn's calls, restored from another protocol's
    history (a signature-only thinking part: see ``proxy_app.chat.reasoning_state``)."""
    for part in msg.parts:
        if isinstance(part, c.ThinkingPart) and part.origin == NAME and part.signature and not part.text:
            return part.signature
    return None


def _wire_role(msg: c.Message, same: bool) -> str | None:
    if same and msg.extra and "role" in msg.extra:
        role: str | None = msg.extra["role"]  # as the client wrote it (request_in checked it)
        return role
    return "model" if msg.role == "assistant" else "user"


def request_from_canonical(req: c.ChatRequest) -> GenerateContentRequest:
    """Build the ``generateContent`` body for ``req`` (the model goes in the URL)."""
    same = req.source_protocol == NAME
    mode: ExtraMode = "all" if same else "none"
    names = {p.id: p.name for m in req.messages for p in m.parts if isinstance(p, c.ToolCallPart)}
    needs_signature = not same and (_gemini_major(req.model) or 0) >= 3
    contents: list[Content] = []
    system_parts: list[Part] = []
    system_extra: dict[str, Any] = {}
    messages = web_search_note(req.messages) if req.meta.get(WEB_SEARCH) and not same else req.messages
    for msg in messages:
        parts = [w for w in (part_out(p, mode, names) for p in msg.parts) if w is not None]
        if msg.role == "system" and (same or not contents):
            system_parts.extend(p for p in parts if same or "text" in p)
            if same and msg.extra:
                system_extra.update(msg.extra)
            continue
        if msg.role == "system":
            # Mid-conversation system text (Anthropic, OpenAI): Gemini has only the one systemInstruction,
            # before the turns, so the text joins the conversation at its place, as user text.
            parts = [p for p in parts if "text" in p]
        if not parts and not same:
            continue
        if not same and msg.role == "assistant":
            calls = [p for p in parts if "functionCall" in p]
            if calls and not any("thoughtSignature" in p for p in calls):
                issued = _call_signature(msg)
                if issued is not None or needs_signature:
                    calls[0]["thoughtSignature"] = issued or DUMMY_THOUGHT_SIGNATURE
        role = _wire_role(msg, same)
        new_content = same and bool(msg.extra and msg.extra.get("new_content"))
        if contents and contents[-1].get("role") == role and not new_content:
            contents[-1]["parts"].extend(parts)
            continue
        content: Content = {} if role is None else {"role": role}
        content["parts"] = parts
        if same and msg.extra:
            with_fields(content, without(msg.extra, "role", "new_content"))
        contents.append(content)
    out: GenerateContentRequest = {"contents": contents}
    if system_parts:
        system = with_fields(Content(), system_extra)
        system["parts"] = system_parts
        out["systemInstruction"] = system
    layout = req.extra.get("tools") if same else None
    if req.tools is not None or layout is not None:
        out["tools"] = _tools_out(req.tools or [], layout if isinstance(layout, list) else None, same)
    tool_config = tool_config_out(req.tool_choice)
    if tool_config is not None:
        out["toolConfig"] = tool_config
    config = generation_config_out(req)
    if same and isinstance(req.extra.get("generationConfig"), dict):
        with_fields(config, req.extra["generationConfig"])
    if config or (same and "generationConfig" in req.extra):
        out["generationConfig"] = config
    if same:
        with_fields(out, without(req.extra, "tools", "generationConfig"))
    return out


def _declaration_out(tool: c.Tool, same: bool) -> FunctionDeclaration:
    decl: FunctionDeclaration = {"name": tool.name}
    if tool.description is not None:
        decl["description"] = tool.description
    extra = tool.extra if same and tool.extra else {}
    if "parameters" not in extra and "parametersJsonSchema" not in extra:
        parameters = parameters_out(tool.parameters)
        if parameters is not None:
            decl["parameters"] = parameters
    return with_fields(decl, extra)


def _tools_out(tools: list[c.Tool], layout: list[dict[str, Any]] | None, same: bool) -> list[Tool]:
    """The declarations, laid out in ``tools`` entries as a Gemini client had them (``layout``, from
    ``request_in``: its entries with each one's declarations counted) or in one entry."""
    decls = [_declaration_out(t, same) for t in tools]
    if layout is None:
        return [{"functionDeclarations": decls}] if decls else []
    out: list[Tool] = []
    for slot in layout:
        entry = with_fields(Tool(), slot)
        if "functionDeclarations" in slot:
            count = slot["functionDeclarations"] if isinstance(slot["functionDeclarations"], int) else 0
            entry["functionDeclarations"], decls = decls[:count], decls[count:]
        out.append(entry)
    if decls:  # tools added after decoding
        out.append({"functionDeclarations": decls})
    return out
