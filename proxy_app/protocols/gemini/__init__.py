"""Google Gemini API (``generateContent`` / ``streamGenerateContent``) <-> canonical model.

Pure: dict in, dict out. Gemini puts the model and the stream flag in the URL, so
``request_to_canonical`` takes the model as a keyword and the caller sets ``req.stream``;
``request_from_canonical`` builds the body only.

Same-protocol losslessness: whatever the canonical model cannot express is kept in
``extra`` dicts (or as ``RawPart``) and only written back when the request came from a
Gemini client. Snake_case field names are accepted on input; output is camelCase.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols.common import WEB_SEARCH, new_id, parse_data_url, web_search_note

NAME = "gemini"

_KNOWN_REQUEST_FIELDS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
_KNOWN_GENERATION_FIELDS = frozenset(
    {
        "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "seed", "responseMimeType",
        "responseSchema", "responseJsonSchema", "thinkingConfig",
    }
)
# Part fields of the Gemini wire format; only these leave a part's ``extra`` when the
# encoder cannot tell which protocol the extra came from (responses, stream events).
_PART_FIELDS = frozenset(
    {
        "text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult", "videoMetadata", "mediaResolution", "partMetadata",
    }
)

FINISH_REASON_OUT: dict[str | None, str | None] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "max_tokens": "MAX_TOKENS",
    "tool_use": "STOP",  # Gemini reports STOP when it answers with function calls
    "content_filter": "SAFETY",
    "loop_detected": "OTHER",
    "error": "OTHER",
    None: None,
}
FINISH_REASON_IN: dict[str | None, c.StopReason | None] = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "LANGUAGE": "error",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
    "MALFORMED_RESPONSE": "error",
    "OTHER": "error",
    "FINISH_REASON_UNSPECIFIED": "end_turn",
    None: None,
}

# canonical error kind -> (google.rpc status, HTTP code)
ERROR_STATUSES: dict[str, tuple[str, int]] = {
    "invalid_request": ("INVALID_ARGUMENT", 400),
    "authentication": ("UNAUTHENTICATED", 401),
    "permission": ("PERMISSION_DENIED", 403),
    "not_found": ("NOT_FOUND", 404),
    "request_too_large": ("INVALID_ARGUMENT", 413),
    "rate_limit": ("RESOURCE_EXHAUSTED", 429),
    "api_error": ("INTERNAL", 500),
    "bad_gateway": ("UNAVAILABLE", 502),
    "unavailable": ("UNAVAILABLE", 503),
    "timeout": ("DEADLINE_EXCEEDED", 504),
    "overloaded": ("UNAVAILABLE", 503),
}
_KIND_BY_STATUS = {
    "INVALID_ARGUMENT": "invalid_request",
    "FAILED_PRECONDITION": "invalid_request",
    "OUT_OF_RANGE": "invalid_request",
    "UNAUTHENTICATED": "authentication",
    "PERMISSION_DENIED": "permission",
    "NOT_FOUND": "not_found",
    "RESOURCE_EXHAUSTED": "rate_limit",
    "INTERNAL": "api_error",
    "UNKNOWN": "api_error",
    "UNAVAILABLE": "unavailable",
    "DEADLINE_EXCEEDED": "timeout",
}

# Reasoning effort <-> thinking budget (Gemini 2.x takes budgets, Gemini 3 takes levels).
EFFORT_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_THINKING_LEVELS = ("minimal", "low", "medium", "high")
# Documented stand-in for a missing thought signature on a function call replayed into a
# Gemini 3 conversation from another model/protocol (otherwise the API answers 400).
DUMMY_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
# Marker (in a ThinkingPart's same-protocol extra) on a signature-only part that came without ``thought``.
_NOT_A_THOUGHT = "__gemini_not_a_thought__"

_SCHEMA_KEYS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
        "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
        "propertyOrdering", "items", "minimum", "maximum",
    }
)
_SCHEMA_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"}, "integer": {"int32", "int64"}}
_IMAGE_EXTENSIONS = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "heic": "image/heic", "heif": "image/heif",
}


# ---------------------------------------------------------------- small helpers


def _camel(key: str) -> str:
    if "_" not in key.strip("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _camel_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with snake_case keys renamed to camelCase (the REST API accepts both)."""
    return {_camel(k): v for k, v in obj.items()}


def _camel_deep(value: Any) -> Any:
    """camelCase keys all the way down; only for config objects that hold no user-chosen keys."""
    if isinstance(value, dict):
        return {_camel(k): _camel_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_deep(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # orjson rejects a few things json accepts (NaN, huge ints)


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed, if it is a JSON object."""
    try:
        value = _loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _args_obj(arguments: str) -> dict[str, Any]:
    """Gemini wants call arguments as an object; keep anything else rather than fail."""
    if not arguments.strip():
        return {}
    try:
        value = _loads(arguments)
    except ValueError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _merge(wire: dict[str, Any], extra: c.Extra, mode: str) -> dict[str, Any]:
    """Write a part's ``extra`` back: ``all`` (same protocol), ``wire`` (Gemini fields only), ``none``."""
    if not extra or mode == "none":
        return wire
    for key, value in extra.items():
        if mode == "wire" and key not in _PART_FIELDS:
            continue
        if isinstance(value, dict) and isinstance(wire.get(key), dict):
            wire[key] = {**wire[key], **value}
        else:
            wire[key] = value
    return wire


def _rest(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def _number(obj: dict[str, Any], key: str, where: str, *, integer: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise c.ProxyError(f"'{where}.{key}' must be {'an integer' if integer else 'a number'}", param=f"{where}.{key}")
    return value


def _gemini_major(model: str) -> int | None:
    match = re.search(r"gemini-(\d+)", model or "")
    return int(match.group(1)) if match else None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


class _CallIds:
    """Stable ids for id-less function calls, and name-based matching of their responses."""

    def __init__(self, *, stable: bool) -> None:
        self.stable = stable
        self.count = 0
        self.pending: dict[str, deque[str]] = {}

    def call(self, name: str, wire_id: Any) -> str:
        call_id = wire_id if isinstance(wire_id, str) and wire_id else self._new(name)
        self.pending.setdefault(name, deque()).append(call_id)
        return call_id

    def response(self, name: str, wire_id: Any) -> str:
        queue = self.pending.get(name) or deque()
        if isinstance(wire_id, str) and wire_id:
            if wire_id in queue:
                queue.remove(wire_id)
            return wire_id
        return queue.popleft() if queue else self._new(name)

    def _new(self, name: str) -> str:
        self.count += 1
        if self.stable:
            return f"call_{_safe_name(name)}_{self.count - 1}"
        return new_id("call_")


# ---------------------------------------------------------------- JSON Schema


def schema_to_gemini(schema: Any) -> dict[str, Any]:
    """Convert a JSON Schema to the OpenAPI subset Gemini accepts in ``parameters`` / ``responseSchema``.

    Inlines local ``$ref``s (recursive ones become a bare object), turns ``oneOf`` into
    ``anyOf``, ``const`` into ``enum``, type lists / null branches into ``nullable``, and
    drops keywords Gemini rejects (``$schema``, ``additionalProperties``, ``default``, …).
    """
    if not isinstance(schema, dict):
        return {}
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _schema_node(schema, defs, ())


def _resolve_ref(ref: Any, defs: dict[str, Any]) -> tuple[str, Any] | None:
    if not isinstance(ref, str):
        return None
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            name = ref[len(prefix):]
            return (name, defs[name]) if name in defs else None
    return None


def _merge_all_of(node: dict[str, Any]) -> dict[str, Any]:
    merged = _rest(node, "allOf")
    for sub in node.get("allOf") or []:
        if not isinstance(sub, dict):
            continue
        for key, value in sub.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _schema_node(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        resolved = _resolve_ref(node["$ref"], defs)
        if resolved is None or resolved[0] in seen:
            out: dict[str, Any] = {"type": "object"}
            if isinstance(node.get("description"), str):
                out["description"] = node["description"]
            return out
        name, target = resolved
        return _schema_node({**target, **_rest(node, "$ref")}, defs, (*seen, name))
    if isinstance(node.get("allOf"), list):
        node = _merge_all_of(node)
    out = {}
    nullable = node.get("nullable") is True
    kind = node.get("type")
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        types = [t for t in kind if t != "null"]
        if len(types) == 1:
            kind = types[0]
        elif types:
            out["anyOf"] = [{"type": t} for t in types]
            kind = None
        else:
            kind = None
    if kind == "null":
        nullable, kind = True, None
    branches = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
    if isinstance(branches, list):
        converted = []
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") == "null" and len(branch) == 1:
                nullable = True
            else:
                converted.append(_schema_node(branch, defs, seen))
        if len(converted) == 1 and kind is None:
            out.update(converted[0])
            nullable = nullable or out.pop("nullable", False)
        elif converted:
            out["anyOf"] = converted
    if "const" in node and "enum" not in node:
        node = {**node, "enum": [node["const"]]}
    if isinstance(node.get("enum"), list):
        values = [v for v in node["enum"] if v is not None]
        nullable = nullable or len(values) < len(node["enum"])
        if values and all(isinstance(v, str) for v in values):
            out["enum"] = values
            kind = kind or "string"
        elif values:
            allowed = ", ".join(_dumps(v) for v in values)
            note = f"Allowed values: {allowed}"
            node = {**node, "description": f"{node['description']} ({note})" if node.get("description") else note}
    if kind is None and "anyOf" not in out:
        kind = "object" if "properties" in node else "array" if "items" in node else None
    if isinstance(kind, str):
        out["type"] = kind.lower()
    for key, value in node.items():
        if key not in _SCHEMA_KEYS or key in ("type", "nullable", "enum", "anyOf") or key in out:
            continue
        if key == "properties" and isinstance(value, dict):
            props = {name: _schema_node(sub, defs, seen) for name, sub in value.items()}
            if props:
                out["properties"] = props
        elif key == "items":
            out["items"] = _schema_node(value[0] if isinstance(value, list) and value else value, defs, seen)
        elif key == "required":
            names = [n for n in value if isinstance(n, str) and n in (node.get("properties") or {})]
            if names:
                out["required"] = names
        elif key == "format":
            if value in _SCHEMA_FORMATS.get(out.get("type", ""), ()):
                out["format"] = value
        else:
            out[key] = value
    if nullable:
        out["nullable"] = True
    return out


def schema_from_gemini(schema: Any) -> Any:
    """Gemini's OpenAPI-style ``Schema`` as plain JSON Schema (lower-case types, nullable as a type list)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in _camel_keys(schema).items():
        if key == "type" and isinstance(value, str):
            if value.upper() != "TYPE_UNSPECIFIED":
                out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {name: schema_from_gemini(sub) for name, sub in value.items()}
        elif key == "items":
            out["items"] = schema_from_gemini(value)
        elif key == "anyOf" and isinstance(value, list):
            out["anyOf"] = [schema_from_gemini(sub) for sub in value]
        elif key == "example":
            out["examples"] = [value]
        elif key in ("nullable", "propertyOrdering"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


# ---------------------------------------------------------------- request


def _part_in(raw: Any, where: str, ids: _CallIds, *, model_turn: bool) -> c.Part:
    if not isinstance(raw, dict):
        raise c.ProxyError(f"'{where}' must be an object", param=where)
    part = _camel_keys(raw)
    if "text" in part:
        text = part["text"]
        if not isinstance(text, str):
            raise c.ProxyError(f"'{where}.text' must be a string", param=f"{where}.text")
        if part.get("thought") is True or (not text and part.get("thoughtSignature")):
            # a thought, or a signature-only part (how a stream's signature can arrive): reasoning state
            rest = _rest(part, "text", "thought", "thoughtSignature")
            if part.get("thought") is not True:
                rest[_NOT_A_THOUGHT] = True
            signature = part.get("thoughtSignature")
            return c.ThinkingPart(text, signature=signature, extra=rest or None, origin=NAME if signature else None)
        return c.TextPart(text, extra=_rest(part, "text") or None)
    for key, uri_key in (("inlineData", "data"), ("fileData", "fileUri")):
        if key in part:
            blob = part[key]
            if not isinstance(blob, dict) or not isinstance(_camel_keys(blob).get(uri_key), str):
                raise c.ProxyError(f"'{where}.{key}.{uri_key}' is required", param=f"{where}.{key}.{uri_key}")
            blob = _camel_keys(blob)
            mime = blob.get("mimeType")
            if not (isinstance(mime, str) and mime.startswith("image/")):
                return c.RawPart(NAME, {**part, key: blob})
            extra = _rest(part, key)
            if len(blob) > 2:
                extra[key] = _rest(blob, "mimeType", uri_key)
            if key == "inlineData":
                return c.ImagePart(data=blob["data"], media_type=mime, extra=extra or None)
            return c.ImagePart(url=blob["fileUri"], media_type=mime, extra=extra or None)
    if "functionCall" in part and model_turn:
        call = part["functionCall"]
        call = _camel_keys(call) if isinstance(call, dict) else call
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            raise c.ProxyError(f"'{where}.functionCall.name' is required", param=f"{where}.functionCall.name")
        args = call.get("args", {})
        if not isinstance(args, dict):
            raise c.ProxyError(f"'{where}.functionCall.args' must be an object", param=f"{where}.functionCall.args")
        extra = _rest(part, "functionCall")
        if _rest(call, "name", "args"):
            extra["functionCall"] = _rest(call, "name", "args")  # keeps the wire id, if any
        return c.ToolCallPart(ids.call(call["name"], call.get("id")), call["name"], _dumps(args), extra=extra or None)
    if "functionResponse" in part and not model_turn:
        return _function_response_in(part, where, ids)
    if not part:
        raise c.ProxyError(f"'{where}' must hold text, inlineData, fileData, functionCall or functionResponse",
                           param=where)
    return c.RawPart(NAME, part)


def _function_response_in(part: dict[str, Any], where: str, ids: _CallIds) -> c.ToolResultPart:
    resp = part["functionResponse"]
    resp = _camel_keys(resp) if isinstance(resp, dict) else resp
    if not isinstance(resp, dict) or not isinstance(resp.get("name"), str) or not resp["name"]:
        raise c.ProxyError(f"'{where}.functionResponse.name' is required", param=f"{where}.functionResponse.name")
    body = resp.get("response", {})
    if not isinstance(body, dict):
        raise c.ProxyError(
            f"'{where}.functionResponse.response' must be an object", param=f"{where}.functionResponse.response"
        )
    is_error = False
    text = None
    if len(body) == 1 and ("result" in body or "error" in body):
        (key, value), = body.items()
        if isinstance(value, str) and _json_object(value) is None:
            text, is_error = value, key == "error"
        elif key == "error" and isinstance(value, dict):
            text, is_error = _dumps(value), True
    if text is None:
        text = _dumps(body)
    content: list[c.TextPart | c.ImagePart] = [c.TextPart(text)]
    sub = _rest(resp, "name", "response")
    images = []
    wire_parts = resp.get("parts") if isinstance(resp.get("parts"), list) else []
    for j, raw in enumerate(wire_parts):
        image = _part_in(raw, f"{where}.functionResponse.parts[{j}]", ids, model_turn=False)
        if isinstance(image, c.ImagePart):
            images.append(image)
    if images and len(images) == len(wire_parts):
        content.extend(images)
        sub.pop("parts")
    extra = _rest(part, "functionResponse")
    if sub:
        extra["functionResponse"] = sub  # keeps the wire id, if any
    call_id = ids.response(resp["name"], resp.get("id"))
    return c.ToolResultPart(call_id, content, name=resp["name"], is_error=is_error, extra=extra or None)


def _contents_in(contents: list[Any], ids: _CallIds) -> list[c.Message]:
    messages: list[c.Message] = []
    previous_role: Any = ()
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        if not isinstance(content, dict):
            raise c.ProxyError(f"'{where}' must be an object", param=where)
        content = _camel_keys(content)
        role = content.get("role")
        if role not in ("user", "model", "function", None):
            raise c.ProxyError(f"'{where}.role' must be user or model (got {role!r})", param=f"{where}.role")
        parts = content.get("parts", [])
        if not isinstance(parts, list):
            raise c.ProxyError(f"'{where}.parts' must be an array", param=f"{where}.parts")
        model_turn = role == "model"
        decoded = [_part_in(p, f"{where}.parts[{j}]", ids, model_turn=model_turn) for j, p in enumerate(parts)]
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
        content_extra = _rest(content, "role", "parts")
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


def _system_in(value: Any, ids: _CallIds) -> c.Message | None:
    if value is None:
        return None
    if isinstance(value, str):
        return c.Message("system", [c.TextPart(value)])
    if not isinstance(value, dict) or not isinstance(value.get("parts", []), list):
        raise c.ProxyError("'systemInstruction' must be a Content object with parts", param="systemInstruction")
    value = _camel_keys(value)
    parts = [
        _part_in(p, f"systemInstruction.parts[{j}]", ids, model_turn=False) for j, p in enumerate(value["parts"])
    ]
    return c.Message("system", parts, extra=_rest(value, "parts") or None)


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
        entry = _camel_keys(entry)
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
                decl = _camel_keys(decl) if isinstance(decl, dict) else decl
                if not isinstance(decl, dict) or not isinstance(decl.get("name"), str) or not decl["name"]:
                    raise c.ProxyError(f"'{where}.name' is required", param=f"{where}.name")
                tool = c.Tool(decl["name"], decl.get("description"))
                extra = _rest(decl, "name", "description", "parameters", "parametersJsonSchema")
                if isinstance(decl.get("parametersJsonSchema"), dict):
                    tool.parameters = decl["parametersJsonSchema"]
                    extra["parametersJsonSchema"] = decl["parametersJsonSchema"]
                elif isinstance(decl.get("parameters"), dict):
                    tool.parameters = schema_from_gemini(decl["parameters"])
                    if _parameters_out(tool.parameters) != decl["parameters"]:
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
    config = _camel_keys(config)
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
    value = _camel_keys(value)
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
    payload = _camel_keys(payload)
    if isinstance(payload.get("toolConfig"), dict):
        payload["toolConfig"] = _camel_deep(payload["toolConfig"])
    contents = payload.get("contents")
    if not isinstance(contents, list) or not contents:
        raise c.ProxyError("'contents' is required and must be a non-empty array", param="contents")
    ids = _CallIds(stable=True)
    system = _system_in(payload.get("systemInstruction"), ids)
    messages = ([system] if system else []) + _contents_in(contents, ids)
    tools, layout = _tools_in(payload.get("tools"))
    config = payload.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise c.ProxyError("'generationConfig' must be an object", param="generationConfig")
    config = _camel_keys(config)
    if isinstance(config.get("thinkingConfig"), dict):
        config["thinkingConfig"] = _camel_deep(config["thinkingConfig"])
    where = "generationConfig"
    stop = config.get("stopSequences")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise c.ProxyError(f"'{where}.stopSequences' must be an array of strings", param=f"{where}.stopSequences")
    req = c.ChatRequest(
        model=model,
        messages=messages,
        source_protocol=NAME,
        max_tokens=_number(config, "maxOutputTokens", where, integer=True),
        temperature=_number(config, "temperature", where),
        top_p=_number(config, "topP", where),
        top_k=_number(config, "topK", where, integer=True),
        stop=stop,
        seed=_number(config, "seed", where, integer=True),
        tools=tools,
        tool_choice=_tool_choice_in(payload.get("toolConfig")),
        response_format=_response_format_in(config),
        reasoning=_reasoning_in(config.get("thinkingConfig")),
        include_usage=True,  # Gemini streams always carry usageMetadata
        extra={k: v for k, v in payload.items() if k not in _KNOWN_REQUEST_FIELDS},
    )
    if req.response_format and req.response_format.type == "json_schema" and "responseJsonSchema" in config:
        req.meta["gemini_schema_field"] = "responseJsonSchema"
    # keep whatever the canonical fields cannot reproduce, for same-protocol re-encoding
    if layout is not None:
        req.extra["tools"] = layout
    if "toolConfig" in payload and _tool_config_out(req.tool_choice) != payload["toolConfig"]:
        req.extra["toolConfig"] = payload["toolConfig"]
    regenerated = _generation_config_out(req)
    kept = {k: v for k, v in config.items() if k not in _KNOWN_GENERATION_FIELDS or regenerated.get(k) != v}
    if kept or ("generationConfig" in payload and not regenerated):
        req.extra["generationConfig"] = kept
    return req


def _parameters_out(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    converted = schema_to_gemini(schema)
    if converted.get("type") == "object" and not converted.get("properties"):
        return None  # Gemini rejects OBJECT parameters with no properties
    return converted


def _tool_config_out(choice: c.ToolChoice | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    if choice.mode == "tool":
        config: dict[str, Any] = {"mode": "ANY", "allowedFunctionNames": [choice.name]}
    else:
        config = {"mode": {"auto": "AUTO", "none": "NONE", "required": "ANY"}[choice.mode]}
    return {"functionCallingConfig": config}


def _thinking_config_out(reasoning: c.Reasoning | None, model: str, *, same: bool = True) -> dict[str, Any] | None:
    if reasoning is None:
        return None
    config: dict[str, Any] = {}
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


def _generation_config_out(req: c.ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, attr in (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k"),
                      ("maxOutputTokens", "max_tokens"), ("seed", "seed")):
        value = getattr(req, attr)
        if value is not None:
            config[key] = value
    if req.stop:
        config["stopSequences"] = list(req.stop)
    rf = req.response_format
    if rf is not None:
        config["responseMimeType"] = "text/plain" if rf.type == "text" else "application/json"
        if rf.type == "json_schema" and rf.schema is not None:
            if req.meta.get("gemini_schema_field") == "responseJsonSchema":
                config["responseJsonSchema"] = rf.schema
            else:
                config["responseSchema"] = schema_to_gemini(rf.schema)
    thinking = _thinking_config_out(req.reasoning, req.model, same=req.source_protocol == NAME)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def _result_response(part: c.ToolResultPart) -> dict[str, Any]:
    text = "".join(p.text for p in part.content if isinstance(p, c.TextPart))
    obj = _json_object(text)
    if part.is_error:
        return {"error": obj if obj is not None else text}
    return obj if obj is not None else {"result": text}


def _image_out(part: c.ImagePart, mode: str) -> dict[str, Any]:
    if part.data is not None:
        wire = {"inlineData": {"mimeType": part.media_type or "application/octet-stream", "data": part.data}}
    else:
        inline = parse_data_url(part.url or "")
        if inline:
            wire = {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
        else:
            file: dict[str, Any] = {"fileUri": part.url or ""}
            mime = part.media_type
            if mime is None and mode != "all":
                ext = (part.url or "").split("?")[0].rsplit(".", 1)[-1].lower()
                mime = _IMAGE_EXTENSIONS.get(ext, "image/jpeg")
            if mime is not None:
                file = {"mimeType": mime, **file}
            wire = {"fileData": file}
    return _merge(wire, part.extra, mode)


def _part_out(part: c.Part, mode: str, names: dict[str, str]) -> dict[str, Any] | None:
    """One canonical part as a Gemini part; ``mode`` says how much of ``extra`` to write back."""
    if isinstance(part, c.TextPart):
        if not part.text and mode == "none" and not part.extra:
            return None  # the API rejects empty text parts
        return _merge({"text": part.text}, part.extra, mode)
    if isinstance(part, c.ImagePart):
        return _image_out(part, mode)
    if isinstance(part, c.ToolCallPart):
        return _merge({"functionCall": {"name": part.name, "args": _args_obj(part.arguments)}}, part.extra, mode)
    if isinstance(part, c.ThinkingPart):
        if (mode == "none" and part.origin != NAME) or (not part.text and not part.signature):
            return None  # another provider's reasoning means nothing to Gemini
        if mode == "none" and not part.text:
            return None  # a call's signature: it goes back on the call (request_from_canonical)
        extra = dict(part.extra or {})
        wire: dict[str, Any] = {"text": part.text} if extra.pop(_NOT_A_THOUGHT, False) else {"text": part.text,
                                                                                           "thought": True}
        if part.signature:
            wire["thoughtSignature"] = part.signature
        return _merge(wire, extra, mode)
    if isinstance(part, c.ToolResultPart):
        name = part.name or names.get(part.tool_call_id)
        if not name:
            raise c.ProxyError(
                f"tool result for call {part.tool_call_id!r} has no matching tool call "
                "(Gemini needs the function name)",
                param="messages",
            )
        response: dict[str, Any] = {"name": name, "response": _result_response(part)}
        images = [_image_out(p, mode) for p in part.content if isinstance(p, c.ImagePart)]
        if images:
            response["parts"] = images
        return _merge({"functionResponse": response}, part.extra, mode)
    if isinstance(part, c.RawPart) and part.protocol == NAME:
        return part.data
    return None


def _call_signature(msg: c.Message) -> str | None:
    """The thought signature Gemini issued with this turn's calls, restored from another protocol's
    history (a signature-only thinking part: see ``proxy_app.chat.reasoning_state``)."""
    for part in msg.parts:
        if isinstance(part, c.ThinkingPart) and part.origin == NAME and part.signature and not part.text:
            return part.signature
    return None


def _wire_role(msg: c.Message, same: bool) -> Any:
    if same and msg.extra and "role" in msg.extra:
        return msg.extra["role"]
    return "model" if msg.role == "assistant" else "user"


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the ``generateContent`` body for ``req`` (the model goes in the URL)."""
    same = req.source_protocol == NAME
    mode = "all" if same else "none"
    names = {p.id: p.name for m in req.messages for p in m.parts if isinstance(p, c.ToolCallPart)}
    needs_signature = not same and (_gemini_major(req.model) or 0) >= 3
    contents: list[dict[str, Any]] = []
    system_parts: list[dict[str, Any]] = []
    system_extra: dict[str, Any] = {}
    messages = web_search_note(req.messages) if req.meta.get(WEB_SEARCH) and not same else req.messages
    for msg in messages:
        parts = [w for w in (_part_out(p, mode, names) for p in msg.parts) if w is not None]
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
        content: dict[str, Any] = {} if role is None else {"role": role}
        content["parts"] = parts
        if same and msg.extra:
            content.update(_rest(msg.extra, "role", "new_content"))
        contents.append(content)
    out: dict[str, Any] = {"contents": contents}
    if system_parts:
        out["systemInstruction"] = {**system_extra, "parts": system_parts}
    layout = req.extra.get("tools") if same else None
    if req.tools is not None or layout is not None:
        out["tools"] = _tools_out(req.tools or [], layout if isinstance(layout, list) else None, same)
    tool_config = _tool_config_out(req.tool_choice)
    if tool_config is not None:
        out["toolConfig"] = tool_config
    config = _generation_config_out(req)
    if same and isinstance(req.extra.get("generationConfig"), dict):
        config.update(req.extra["generationConfig"])
    if config or (same and "generationConfig" in req.extra):
        out["generationConfig"] = config
    if same:
        out.update(_rest(req.extra, "tools", "generationConfig"))
    return out


def _declaration_out(tool: c.Tool, same: bool) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        decl["description"] = tool.description
    extra = tool.extra if same and tool.extra else {}
    if "parameters" not in extra and "parametersJsonSchema" not in extra:
        parameters = _parameters_out(tool.parameters)
        if parameters is not None:
            decl["parameters"] = parameters
    decl.update(extra)
    return decl


def _tools_out(tools: list[c.Tool], layout: list[dict[str, Any]] | None, same: bool) -> list[dict[str, Any]]:
    decls = [_declaration_out(t, same) for t in tools]
    if layout is None:
        return [{"functionDeclarations": decls}] if decls else []
    out = []
    for slot in layout:
        entry = dict(slot)
        if "functionDeclarations" in slot:
            count = slot["functionDeclarations"] if isinstance(slot["functionDeclarations"], int) else 0
            entry["functionDeclarations"], decls = decls[:count], decls[count:]
        out.append(entry)
    if decls:  # tools added after decoding
        out.append({"functionDeclarations": decls})
    return out


# ---------------------------------------------------------------- response


def _usage_in(usage: Any) -> c.Usage:
    if not isinstance(usage, dict):
        return c.Usage()
    usage = _camel_keys(usage)
    thoughts = int(usage.get("thoughtsTokenCount") or 0)
    return c.Usage(
        input_tokens=int(usage.get("promptTokenCount") or 0),
        output_tokens=int(usage.get("candidatesTokenCount") or 0) + thoughts,
        cached_tokens=int(usage.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def usage_from_canonical(usage: c.Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out


def _stop_in(reason: Any, has_calls: bool) -> c.StopReason | None:
    stop = FINISH_REASON_IN.get(reason, "error") if reason is not None else None
    if has_calls and stop in ("end_turn", None):
        return "tool_use"
    return stop


def response_to_canonical(payload: dict[str, Any]) -> c.ChatResponse:
    payload = _camel_keys(payload)
    candidates = payload.get("candidates") or []
    candidate = _camel_keys(candidates[0]) if candidates and isinstance(candidates[0], dict) else {}
    content = candidate.get("content") if isinstance(candidate.get("content"), dict) else {}
    ids = _CallIds(stable=False)
    parts: list[c.Part] = []
    for j, raw in enumerate(content.get("parts") or []):
        try:
            parts.append(_part_in(raw, f"candidates[0].content.parts[{j}]", ids, model_turn=True))
        except c.ProxyError as exc:
            raise c.ProxyError(f"malformed upstream response: {exc.message}", kind="bad_gateway") from exc
    has_calls = any(isinstance(p, c.ToolCallPart) for p in parts)
    stop = _stop_in(candidate.get("finishReason"), has_calls) or "end_turn"
    feedback = payload.get("promptFeedback")
    if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
        stop = "content_filter"
    usage = _usage_in(payload.get("usageMetadata"))
    # Gemini-only detail (safety ratings, grounding, token breakdowns), re-emitted by this module only
    kept: dict[str, Any] = _rest(payload, "candidates", "usageMetadata", "modelVersion", "responseId")
    if candidates:
        cand_extra = _rest(candidate, "content", "finishReason")
        if candidate.get("finishReason") != FINISH_REASON_OUT[stop]:
            cand_extra["finishReason"] = candidate.get("finishReason")
        kept["candidate"] = cand_extra
    if isinstance(payload.get("usageMetadata"), dict):
        regenerated = usage_from_canonical(usage)
        usage_extra = {k: v for k, v in _camel_keys(payload["usageMetadata"]).items() if regenerated.get(k) != v}
        if usage_extra:
            kept["usageMetadata"] = usage_extra
    return c.ChatResponse(
        id=payload.get("responseId") or new_id("resp_"),
        model=payload.get("modelVersion") or "",
        parts=parts,
        stop_reason=stop,
        usage=usage,
        extra={NAME: kept},
    )


def response_from_canonical(resp: c.ChatResponse, *, model: str) -> dict[str, Any]:
    kept = resp.extra.get(NAME) if isinstance(resp.extra.get(NAME), dict) else {}
    parts = [w for w in (_part_out(p, "wire", {}) for p in resp.parts) if w is not None]
    usage = usage_from_canonical(resp.usage)
    usage.update(kept.get("usageMetadata") or {})
    out: dict[str, Any] = {}
    blocked = not resp.parts and resp.stop_reason == "content_filter" and "candidate" not in kept
    if not (blocked and "promptFeedback" in kept):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        candidate["finishReason"] = FINISH_REASON_OUT[resp.stop_reason] or "STOP"
        candidate.update(kept.get("candidate") or {"index": 0})
        out["candidates"] = [candidate]
    out["usageMetadata"] = usage
    out["modelVersion"] = model
    out["responseId"] = resp.id
    out.update(_rest(kept, "candidate", "usageMetadata"))
    return out


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """Turns streamed ``GenerateContentResponse`` objects into canonical stream events.

    Gemini sends whole function calls (never argument fragments), so each becomes a
    ``ToolCallStart`` plus one ``ToolCallDelta`` with the JSON arguments.
    """

    def __init__(self) -> None:
        self._started = False
        self._stop: c.StopReason | None = None
        self._usage = c.Usage()
        self._calls = 0
        self._ids = _CallIds(stable=False)

    def feed(self, chunk: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]:
        events: list[c.StreamEvent] = []
        if isinstance(chunk, dict) and "error" in chunk and "candidates" not in chunk:
            err = chunk["error"] if isinstance(chunk["error"], dict) else {}
            status = err.get("code") if isinstance(err.get("code"), int) else 502
            return [c.StreamError(error_to_canonical(status, chunk))]
        chunk = _camel_keys(chunk)
        if not self._started:
            self._started = True
            events.append(c.StreamStart(chunk.get("responseId") or new_id("resp_"), chunk.get("modelVersion") or ""))
        if isinstance(chunk.get("usageMetadata"), dict):
            self._usage = _usage_in(chunk["usageMetadata"])
        candidates = chunk.get("candidates") or []
        feedback = chunk.get("promptFeedback")
        if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
            self._stop = "content_filter"
        for candidate in candidates[:1]:
            candidate = _camel_keys(candidate) if isinstance(candidate, dict) else {}
            content = candidate.get("content") if isinstance(candidate.get("content"), dict) else {}
            for raw in content.get("parts") or []:
                events.extend(self._part(raw))
            if candidate.get("finishReason"):
                self._stop = FINISH_REASON_IN.get(candidate["finishReason"], "error")
        return events

    def _part(self, raw: Any) -> list[c.StreamEvent]:
        try:
            part = _part_in(raw, "candidates[0].content.parts", self._ids, model_turn=True)
        except c.ProxyError as exc:
            return [c.StreamError(c.ProxyError(f"malformed upstream chunk: {exc.message}", kind="bad_gateway"))]
        if isinstance(part, c.ThinkingPart):
            return [c.ThinkingDelta(part.text, signature=part.signature)]
        if isinstance(part, c.TextPart):
            events: list[c.StreamEvent] = [c.TextDelta(part.text)] if part.text else []
            signature = (part.extra or {}).get("thoughtSignature")
            if signature:
                events.append(c.ThinkingDelta("", signature=signature))
            return events
        if isinstance(part, c.ToolCallPart):
            index = self._calls
            self._calls += 1
            start = c.ToolCallStart(index, part.id, part.name, extra=part.extra)
            return [start, c.ToolCallDelta(index, part.arguments)]
        return []  # images, code execution …: no canonical stream event carries them

    def finish(self) -> list[c.StreamEvent]:
        stop = self._stop or "end_turn"
        if self._calls and stop == "end_turn":
            stop = "tool_use"
        return [c.StreamEnd(stop, self._usage)]


class StreamEncoder:
    """Renders canonical stream events as Gemini ``streamGenerateContent`` chunks.

    ``sse=True`` frames them as ``?alt=sse`` does (``data: {...}\\r\\n\\r\\n``); ``sse=False``
    writes the default JSON-array stream. Tool calls are buffered and sent whole.
    """

    def __init__(self, *, model: str, include_usage: bool, sse: bool = True) -> None:
        self.model = model
        self.include_usage = include_usage  # Gemini always reports usage; kept for a uniform surface
        self.sse = sse
        self.content_type = "text/event-stream" if sse else "application/json"
        self.id = new_id("resp_")
        self._sent = False
        self._closed = False
        self._calls: dict[int, list[Any]] = {}

    def _frame(self, obj: dict[str, Any]) -> bytes:
        body = orjson.dumps(obj)
        if self.sse:
            return b"data: " + body + b"\r\n\r\n"
        prefix = b",\r\n" if self._sent else b"["
        self._sent = True
        return prefix + body

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None, usage: c.Usage | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = usage_from_canonical(usage)
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.id
        return self._frame(chunk)

    def _pending_calls(self) -> list[dict[str, Any]]:
        parts = []
        for start, arguments in (self._calls[i] for i in sorted(self._calls)):
            call = {"functionCall": {"name": start.name, "args": _args_obj("".join(arguments))}}
            parts.append(_merge(call, start.extra, "wire"))
        self._calls = {}
        return parts

    def _flush(self) -> bytes:
        return self._chunk(self._pending_calls()) if self._calls else b""

    def encode(self, event: c.StreamEvent) -> bytes:
        if self._closed:
            return b""
        if isinstance(event, c.ToolCallStart):
            self._calls[event.index] = [event, []]
            return b""
        if isinstance(event, c.ToolCallDelta):
            if event.index in self._calls:
                self._calls[event.index][1].append(event.arguments)
            return b""
        if isinstance(event, c.TextDelta):
            return self._flush() + (self._chunk([{"text": event.text}]) if event.text else b"")
        if isinstance(event, c.ThinkingDelta):
            out = self._flush()
            if event.text:
                part: dict[str, Any] = {"text": event.text, "thought": True}
            elif event.signature:
                part = {"text": ""}
            else:
                return out
            if event.signature:
                part["thoughtSignature"] = event.signature
            return out + self._chunk([part])
        if isinstance(event, c.StreamStart):
            if event.id:
                self.id = event.id
            return b""
        if isinstance(event, c.StreamEnd):
            parts = self._pending_calls() or [{"text": ""}]
            self._closed = True
            out = self._chunk(parts, FINISH_REASON_OUT[event.stop_reason] or "STOP", event.usage)
            return out if self.sse else out + b"]"
        if isinstance(event, c.StreamError):
            self._closed = True
            out = self._frame(error_body(event.error))
            return out if self.sse else out + b"]"
        return b""


# ---------------------------------------------------------------- errors


def _duration(seconds: float) -> str:
    value = round(float(seconds), 3)  # round first: 59.9996 must read "60s", not "60.0s"
    return f"{int(value)}s" if value.is_integer() else f"{value}s"


def error_body(err: c.ProxyError) -> dict[str, Any]:
    status, code = ERROR_STATUSES.get(err.kind, ("INTERNAL", 500))
    if err.status != c.ERROR_STATUS.get(err.kind):
        code = err.status  # an explicit status wins over the kind's default
    body: dict[str, Any] = {"code": code, "message": err.message, "status": status}
    details = []
    if err.kind == "rate_limit" and err.retry_after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": _duration(err.retry_after)})
    if err.param and status == "INVALID_ARGUMENT":
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": err.param, "description": err.message}],
            }
        )
    if details:
        body["details"] = details
    return {"error": body}


def _retry_delay(details: Any) -> float | None:
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, dict):  # {"seconds": 1, "nanos": 500000000}
                return float(delay.get("seconds") or 0) + float(delay.get("nanos") or 0) / 1e9
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    return float(delay[:-1])
                except ValueError:
                    return None
    return None


def error_to_canonical(status: int, body: Any) -> c.ProxyError:
    """Read an upstream Gemini error body (or anything else) into a ``ProxyError``."""
    if isinstance(body, list) and body:  # the JSON-array stream wraps errors in a list
        body = body[0]
    message = None
    rpc_status = None
    details = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            rpc_status = err.get("status") if isinstance(err.get("status"), str) else None
            details = err.get("details")
        elif isinstance(err, str):
            message = err
        message = message or body.get("message") or body.get("detail")
    if not message:
        message = body if isinstance(body, str) and body else f"upstream returned HTTP {status}"
    if status >= 400:
        kind = c.error_kind_for_status(status)
    else:
        kind = _KIND_BY_STATUS.get(rpc_status or "", "api_error")
        status = c.ERROR_STATUS[kind]
    reasons = {d.get("reason") for d in details or [] if isinstance(d, dict)} if isinstance(details, list) else set()
    if "API_KEY_INVALID" in reasons:
        kind = "authentication"
    return c.ProxyError(
        str(message), kind=kind, status=status, retry_after=_retry_delay(details), code=rpc_status
    )
