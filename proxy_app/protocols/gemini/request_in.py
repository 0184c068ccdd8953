"""``generateContent`` body -> canonical request, checking each field and naming the bad one.

Same-protocol losslessness: whatever the canonical model cannot express is kept in ``extra`` dicts
(or as ``RawPart``) for ``request_out`` to write back when the request goes to a Gemini backend.
Snake_case field names are accepted, as the REST API accepts them.
"""

from __future__ import annotations

from typing import Any, Literal, cast, overload

from proxy_app.core import canonical as c
from proxy_app.protocols.gemini.call_ids import CallIds
from proxy_app.protocols.gemini.parts import part_in
from proxy_app.protocols.gemini.request_out import (
    SCHEMA_FIELD,
    generation_config_out,
    parameters_out,
    tool_config_out,
)
from proxy_app.protocols.gemini.schema import schema_from_gemini
from proxy_app.protocols.gemini.types import GenerateContentRequest
from proxy_app.protocols.gemini.wire import NAME, camel_deep, camel_keys, without

_KNOWN_REQUEST_FIELDS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
_KNOWN_GENERATION_FIELDS = frozenset(
    {
        "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed", "responseMimeType",
        "responseSchema", "responseJsonSchema", "thinkingConfig",
    }
)


@overload
def _number(obj: dict[str, Any], key: str, where: str, *, integer: Literal[True]) -> int | None: ...


@overload
def _number(obj: dict[str, Any], key: str, where: str, *, integer: Literal[False] = False) -> float | None: ...


def _number(obj: dict[str, Any], key: str, where: str, *, integer: bool = False) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise c.ProxyError(f"'{where}.{key}' must be {'an integer' if integer else 'a number'}", param=f"{where}.{key}")
    return value


def _positive(value: int | None, name: str) -> int | None:
    if value is not None and value < 1:
        raise c.ProxyError(f"Invalid value at '{name}' ({value}): must be at least 1", param=name)
    return value


def _contents_in(contents: list[Any], ids: CallIds) -> list[c.Message]:
    messages: list[c.Message] = []
    previous_role: Any = ()
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        if not isinstance(content, dict):
            raise c.ProxyError(f"'{where}' must be an object", param=where)
        content = camel_keys(content)
        role = content.get("role")
        if role not in ("user", "model", "function", None):
            raise c.ProxyError(f"'{where}.role' must be user or model (got {role!r})", param=f"{where}.role")
        parts = content.get("parts", [])
        if not isinstance(parts, list):
            raise c.ProxyError(f"'{where}.parts' must be an array", param=f"{where}.parts")
        model_turn = role == "model"
        decoded = [part_in(p, f"{where}.parts[{j}]", ids, model_turn=model_turn) for j, p in enumerate(parts)]
        # one Gemini content may become several canonical messages (user text + tool results)
        groups: list[tuple[c.Role, list[c.Part]]] = []
        for part in decoded:
            kind: c.Role = "assistant" if model_turn else "tool" if isinstance(part, c.ToolResultPart) else "user"
            if groups and groups[-1][0] == kind:
                groups[-1][1].append(part)
            else:
                groups.append((kind, [part]))
        if not groups:
            groups.append(("assistant" if model_turn else "user", []))
        content_extra = without(content, "role", "parts")
        for n, (kind, kind_parts) in enumerate(groups):
            extra = dict(content_extra)
            default_role = "model" if kind == "assistant" else "user"
            if role != default_role:
                extra["role"] = role
            if n == 0 and role == previous_role:
                extra["new_content"] = True  # consecutive same-role contents stay separate
            messages.append(c.Message(kind, kind_parts, extra=extra or None))
        previous_role = role
    return messages


def _system_in(value: Any, ids: CallIds) -> c.Message | None:
    if value is None:
        return None
    if isinstance(value, str):
        return c.Message("system", [c.TextPart(value)])
    if not isinstance(value, dict) or not isinstance(value.get("parts", []), list):
        raise c.ProxyError("'systemInstruction' must be a Content object with parts", param="systemInstruction")
    value = camel_keys(value)
    parts = [
        part_in(p, f"systemInstruction.parts[{j}]", ids, model_turn=False) for j, p in enumerate(value.get("parts", []))
    ]
    return c.Message("system", parts, extra=without(value, "parts") or None)


def _tools_in(value: Any) -> tuple[list[c.Tool] | None, list[dict[str, Any]] | None]:
    """Function declarations as canonical tools, plus the wire layout when it is not the plain one."""
    if value is None:
        return None, None
    if not isinstance(value, list):
        raise c.ProxyError("'tools' must be an array", param="tools")
    tools: list[c.Tool] = []
    layout: list[dict[str, Any]] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise c.ProxyError(f"'tools[{i}]' must be an object", param=f"tools[{i}]")
        entry = camel_keys(entry)
        decls = entry.get("functionDeclarations")
        slot = dict(entry)
        if decls is not None:
            if not isinstance(decls, list):
                raise c.ProxyError(
                    f"'tools[{i}].functionDeclarations' must be an array", param=f"tools[{i}].functionDeclarations"
                )
            slot["functionDeclarations"] = len(decls)
            for k, decl in enumerate(decls):
                where = f"tools[{i}].functionDeclarations[{k}]"
                decl = camel_keys(decl) if isinstance(decl, dict) else decl
                if not isinstance(decl, dict) or not isinstance(decl.get("name"), str) or not decl["name"]:
                    raise c.ProxyError(f"'{where}.name' is required", param=f"{where}.name")
                if not isinstance(decl.get("description"), str | None):
                    raise c.ProxyError(f"'{where}.description' must be a string", param=f"{where}.description")
                tool = c.Tool(decl["name"], decl.get("description"))
                extra = without(decl, "name", "description", "parameters", "parametersJsonSchema")
                if isinstance(decl.get("parametersJsonSchema"), dict):
                    tool.parameters = decl["parametersJsonSchema"]
                    extra["parametersJsonSchema"] = decl["parametersJsonSchema"]
                elif isinstance(decl.get("parameters"), dict):
                    tool.parameters = schema_from_gemini(decl["parameters"])
                    if parameters_out(tool.parameters) != decl["parameters"]:
                        extra["parameters"] = decl["parameters"]
                tool.extra = extra or None
                tools.append(tool)
        layout.append(slot)
    plain = len(layout) == 1 and set(layout[0]) == {"functionDeclarations"}
    return (tools or None), (None if plain else layout)


def _tool_choice_in(value: Any) -> c.ToolChoice | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise c.ProxyError("'toolConfig' must be an object", param="toolConfig")
    config = value.get("functionCallingConfig", value.get("function_calling_config"))
    if config is None:
        return None
    if not isinstance(config, dict):
        raise c.ProxyError("'toolConfig.functionCallingConfig' must be an object",
                           param="toolConfig.functionCallingConfig")
    config = camel_keys(config)
    mode = str(config.get("mode") or "AUTO").upper()
    names = config.get("allowedFunctionNames") or []
    if mode in ("AUTO", "MODE_UNSPECIFIED", "VALIDATED"):
        return c.ToolChoice("auto")
    if mode == "NONE":
        return c.ToolChoice("none")
    if mode == "ANY":
        if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
            return c.ToolChoice("tool", names[0])
        return c.ToolChoice("required")
    raise c.ProxyError(
        "'toolConfig.functionCallingConfig.mode' must be AUTO, ANY or NONE",
        param="toolConfig.functionCallingConfig.mode",
    )


def _response_format_in(config: dict[str, Any]) -> c.ResponseFormat | None:
    mime = config.get("responseMimeType")
    if mime == "text/plain":
        return c.ResponseFormat("text")
    if mime != "application/json":
        return None
    if isinstance(config.get("responseJsonSchema"), dict):
        return c.ResponseFormat("json_schema", config["responseJsonSchema"])
    if isinstance(config.get("responseSchema"), dict):
        return c.ResponseFormat("json_schema", schema_from_gemini(config["responseSchema"]))
    return c.ResponseFormat("json_object")


def _reasoning_in(value: Any) -> c.Reasoning | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise c.ProxyError("'generationConfig.thinkingConfig' must be an object",
                           param="generationConfig.thinkingConfig")
    value = camel_keys(value)
    where = "generationConfig.thinkingConfig"
    budget = _number(value, "thinkingBudget", where, integer=True)
    include = value.get("includeThoughts")
    level = value.get("thinkingLevel")
    reasoning = c.Reasoning(include_thoughts=include if isinstance(include, bool) else None)
    if budget == 0:
        reasoning.enabled = False
    elif budget is not None and budget > 0:
        reasoning.budget_tokens = budget
    if isinstance(level, str) and level.upper() != "THINKING_LEVEL_UNSPECIFIED":
        reasoning.effort = level.lower()
    return reasoning


def request_to_canonical(payload: dict[str, Any], *, model: str) -> c.ChatRequest:
    """Parse a ``generateContent`` body; raises ``ProxyError`` naming the bad field."""
    if not isinstance(payload, dict):
        raise c.ProxyError("request body must be a JSON object")
    body = cast(GenerateContentRequest, camel_keys(payload))  # untrusted: each value is still checked
    if isinstance(body.get("toolConfig"), dict):
        body["toolConfig"] = camel_deep(body["toolConfig"])
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise c.ProxyError("'contents' is required and must be a non-empty array", param="contents")
    ids = CallIds(stable=True)
    system = _system_in(body.get("systemInstruction"), ids)
    messages = ([system] if system else []) + _contents_in(contents, ids)
    tools, layout = _tools_in(body.get("tools"))
    given_config = body.get("generationConfig") or {}
    if not isinstance(given_config, dict):
        raise c.ProxyError("'generationConfig' must be an object", param="generationConfig")
    config = camel_keys(given_config)
    if isinstance(config.get("thinkingConfig"), dict):
        config["thinkingConfig"] = camel_deep(config["thinkingConfig"])
    where = "generationConfig"
    stop = config.get("stopSequences")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise c.ProxyError(f"'{where}.stopSequences' must be an array of strings", param=f"{where}.stopSequences")
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        max_tokens=_positive(_number(config, "maxOutputTokens", where, integer=True), f"{where}.maxOutputTokens"),
        temperature=_number(config, "temperature", where),
        top_p=_number(config, "topP", where),
        top_k=_number(config, "topK", where, integer=True),
        stop=stop,
        seed=_number(config, "seed", where, integer=True),
        tools=tools,
        tool_choice=_tool_choice_in(body.get("toolConfig")),
        response_format=_response_format_in(config),
        reasoning=_reasoning_in(config.get("thinkingConfig")),
        include_usage=True,  # Gemini streams always carry usageMetadata
        extra={k: v for k, v in body.items() if k not in _KNOWN_REQUEST_FIELDS},
    )
    if req.response_format and req.response_format.type == "json_schema" and "responseJsonSchema" in config:
        req.meta[SCHEMA_FIELD] = "responseJsonSchema"
    # keep whatever the canonical fields cannot reproduce, for same-protocol re-encoding
    if layout is not None:
        req.extra["tools"] = layout
    if "toolConfig" in body and tool_config_out(req.tool_choice) != body["toolConfig"]:
        req.extra["toolConfig"] = body["toolConfig"]
    regenerated = generation_config_out(req)
    kept = {k: v for k, v in config.items() if k not in _KNOWN_GENERATION_FIELDS or regenerated.get(k) != v}
    if kept or ("generationConfig" in body and not regenerated):
        req.extra["generationConfig"] = kept
    return req
