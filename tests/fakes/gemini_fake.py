"""Fake Gemini API (Generative Language, v1beta): ``models/{model}:generateContent``,
``:streamGenerateContent`` (``?alt=sse`` or the default JSON array) and ``GET /v1beta/models``.

Written by hand from Google's API reference (never with the proxy's translators):

* auth by ``x-goog-api-key`` or ``?key=``;
* ``GenerateContentResponse`` with ``candidates[].content.parts`` (``text``, ``functionCall``,
  ``{"text":…,"thought":true,"thoughtSignature":…}`` when ``thinkingConfig.includeThoughts``),
  ``usageMetadata`` where ``candidatesTokenCount`` excludes ``thoughtsTokenCount`` and
  ``promptTokenCount`` includes ``cachedContentTokenCount``;
* SSE frames ``data: {...}\\r\\n\\r\\n`` (no ``[DONE]``; the last chunk has ``finishReason``);
* errors ``{"error":{"code":…,"message":…,"status":…}}``, with a ``google.rpc.RetryInfo`` on 429;
* as strict as the real API where a proxy could go wrong (``validate``): schema fields, function
  responses right after their calls, and for Gemini 3 models the ``thoughtSignature`` the fake issued
  on each function call turn of the current turn (``signatures.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .scenario import NeutralRequest, Reply, ToolCall, human_text, plan_reply
from .server import FakeProvider, read_json, stream_frames
from .signatures import sign, signed_payload

MODELS = [
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("gemini-2.0-flash", "Gemini 2.0 Flash"),
]
RESPONSE_ID = "fAkErEsPoNsEiD0123456789"
THOUGHT_SIGNATURE = "Q2lRQlZLaGZha2UtdGhvdWdodC1zaWduYXR1cmU="  # base64, as the API sends bytes fields
CALL_SIGNATURE_KIND = "gemini-function-call"
# Thought signatures docs, FAQ: histories not made by Gemini (e.g. moved from another model) may carry
# these documented dummy values in place of a signature, and the API accepts them
DUMMY_THOUGHT_SIGNATURES = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})


def call_signature(name: str, args: Any) -> str:
    """The ``thoughtSignature`` the fake issues on the first function call of a turn."""
    return sign(CALL_SIGNATURE_KIND, json.dumps({"name": name, "args": args}, sort_keys=True))


def needs_thought_signatures(model: str) -> bool:
    """Thought signatures docs: Gemini 3 models validate them on function calls (Gemini 2.x does not)."""
    return model.removeprefix("models/").startswith("gemini-3")

STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
            409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 503: "UNAVAILABLE",
            504: "DEADLINE_EXCEEDED"}

# Fields of the OpenAPI-subset ``Schema`` the API accepts in ``parameters`` / ``responseSchema``.
SCHEMA_FIELDS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum",
})


def error_body(status: int, message: str, retry_after: float | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": status, "message": message, "status": STATUSES.get(status, "UNKNOWN")}
    if status == 429:
        err["details"] = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo",
             "retryDelay": f"{int(retry_after if retry_after is not None else 60)}s"},
        ]
    return {"error": err}


def error_response(status: int, message: str, retry_after: float | None = None) -> web.Response:
    return web.json_response(error_body(status, message, retry_after), status=status)


def _get(obj: dict[str, Any], camel: str) -> Any:
    """The REST API accepts camelCase and snake_case field names alike."""
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)
    return obj.get(snake)


# ---------------------------------------------------------------- request view


def _parts_text(parts: Any) -> str:
    return " ".join(p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
                    and not p.get("thought"))


def _result_text(response: Any) -> str:
    if isinstance(response, dict) and len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return value
    return json.dumps(response)


def neutral_view(body: dict[str, Any]) -> NeutralRequest:
    contents = body.get("contents") or []
    system = _get(body, "systemInstruction")
    view = NeutralRequest(prompt_chars=len(json.dumps(contents)) + (len(json.dumps(system)) if system else 0))
    if isinstance(system, dict):
        view.system_text = _parts_text(system.get("parts"))
    for content in reversed(contents):
        if content.get("role", "user") == "user":
            parts = content.get("parts") or []
            view.last_user_text = _parts_text(parts)
            view.has_image = any(_get(p, "inlineData") or _get(p, "fileData") for p in parts if isinstance(p, dict))
            break
    if contents:
        responses = [_get(p, "functionResponse") for p in contents[-1].get("parts") or [] if isinstance(p, dict)]
        responses = [r for r in responses if isinstance(r, dict)]
        if responses and contents[-1].get("role", "user") in ("user", "function"):
            view.tool_result = _result_text(responses[-1].get("response"))
    human_at = -1
    for i in range(len(contents) - 1, -1, -1):
        # a turn that carries function responses is not the human's, even with text beside them (a proxy
        # may fold a client's mid-conversation system text or reminders into it)
        if contents[i].get("role", "user") == "user" and not _responses(contents[i]) \
                and (text := human_text(_parts_text(contents[i].get("parts")))):
            view.human_text, human_at = text, i
            break
    for i, content in enumerate(contents):
        for part in content.get("parts") or []:
            if not isinstance(part, dict):
                continue
            if isinstance(call := _get(part, "functionCall"), dict):
                view.tool_calls.append(ToolCall(call.get("name", ""), call.get("args") or {}))
                view.turn_start_calls += i < human_at
            elif isinstance(response := _get(part, "functionResponse"), dict):
                view.tool_results.append(_result_text(response.get("response")))
                view.turn_start_results += i < human_at
    for tool in body.get("tools") or []:
        for decl in _get(tool, "functionDeclarations") or []:
            view.tool_names.append(decl["name"])
            schema = _get(decl, "parametersJsonSchema") or decl.get("parameters") or {}
            view.tool_schemas[decl["name"]] = schema
    config = _get(body, "generationConfig") or {}
    view.wants_json = _get(config, "responseMimeType") == "application/json"
    schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
    if view.wants_json and isinstance(schema, dict):
        view.json_schema = schema
    thinking = _get(config, "thinkingConfig")
    view.wants_thinking = isinstance(thinking, dict) and _get(thinking, "thinkingBudget") != 0
    return view


def includes_thoughts(body: dict[str, Any]) -> bool:
    thinking = _get(_get(body, "generationConfig") or {}, "thinkingConfig") or {}
    return bool(_get(thinking, "includeThoughts"))


def _schema_problem(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        head, *rest = key.split("_")  # proto JSON takes snake_case field names as well
        key = head + "".join(w[:1].upper() + w[1:] for w in rest)
        if key not in SCHEMA_FIELDS:
            return f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                if problem := _schema_problem(sub, f"{where}.properties[{name}].value"):
                    return problem
        elif key == "items" and (problem := _schema_problem(value, f"{where}.items")):
            return problem
        elif key == "anyOf" and isinstance(value, list):
            for i, sub in enumerate(value):
                if problem := _schema_problem(sub, f"{where}.any_of[{i}]"):
                    return problem
    return None


def _calls(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(_get(p, "functionCall"), dict)]


def _responses(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in content.get("parts") or [] if isinstance(p, dict)
            and isinstance(_get(p, "functionResponse"), dict)]


def _validate_function_turns(contents: list[Any]) -> str | None:
    """Function calling docs: a function response turn comes right after the model turn with the calls it
    answers, one response part per call part (parallel calls are answered together)."""
    for i, content in enumerate(contents):
        responses = _responses(content)
        if not responses:
            continue
        calls = _calls(contents[i - 1]) if i and contents[i - 1].get("role") == "model" else []
        if not calls:
            return ("Please ensure that function response turn comes immediately after a function call turn. "
                    f"(contents[{i}])")
        if len(calls) != len(responses):
            return ("Please ensure that the number of function response parts is equal to the number of function "
                    f"call parts of the function call turn. (contents[{i}]: {len(responses)} responses, "
                    f"{len(calls)} calls)")
    return None


def _validate_thought_signatures(contents: list[Any]) -> str | None:
    """Thought signatures docs ("Function calling", "Multi-turn"): for Gemini 3 every model turn of the
    current turn (since the last user text) that calls functions must return the ``thoughtSignature`` of its
    first ``functionCall`` part, as the API sent it (the documented dummies aside)."""
    turn_start = 0
    for i, content in enumerate(contents):
        if content.get("role", "user") == "user" and not _responses(content) and _parts_text(content.get("parts")):
            turn_start = i + 1
    for i in range(turn_start, len(contents)):
        calls = _calls(contents[i]) if contents[i].get("role") == "model" else []
        if not calls:
            continue
        first = calls[0]
        name = _get(first, "functionCall").get("name")
        signature = _get(first, "thoughtSignature")
        if not signature:
            return ("Function call is missing a thought_signature in functionCall parts. This is required for tools "
                    "to work correctly, and missing thought_signature may lead to degraded model performance. "
                    f"Additional data, function call `default_api:{name}` , position {i + 1}. Please refer to "
                    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")
        if signature in DUMMY_THOUGHT_SIGNATURES:
            continue
        issued_for = signed_payload(CALL_SIGNATURE_KIND, signature)
        if issued_for is None or json.loads(issued_for).get("name") != name:
            return f"Corrupted thought signature. (contents[{i}], function call `{name}`)"
    return None


def validate(body: Any, model: str = "") -> str | None:
    """What the real API rejects with 400 INVALID_ARGUMENT (the parts the proxy could get wrong)."""
    if not isinstance(body, dict):
        return "Invalid JSON payload received."
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for i, content in enumerate(contents):
        if content.get("role") not in (None, "user", "model", "function"):
            return f"Please use a valid role: user, model. (contents[{i}].role={content.get('role')!r})"
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
        for j, part in enumerate(parts):
            if not isinstance(part, dict) or not part:
                return f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must have one initialized field"
            blob = _get(part, "inlineData")
            if blob is not None and not (_get(blob, "mimeType") and isinstance(blob.get("data"), str)):
                return f"* GenerateContentRequest.contents[{i}].parts[{j}].inline_data: mime_type and data are required"
            call = _get(part, "functionResponse") or _get(part, "functionCall")
            if call is not None and not (isinstance(call, dict) and call.get("name")):
                return f"* GenerateContentRequest.contents[{i}].parts[{j}]: function name is required"
    for i, tool in enumerate(body.get("tools") or []):
        for k, decl in enumerate(_get(tool, "functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{k}].parameters"
            if problem := _schema_problem(decl.get("parameters"), where):
                return problem
    config = _get(body, "generationConfig") or {}
    if problem := _schema_problem(_get(config, "responseSchema"), "generation_config.response_schema"):
        return problem
    thinking = _get(config, "thinkingConfig")
    if thinking is not None and not isinstance(thinking, dict):
        return "Invalid value at 'generation_config.thinking_config'"
    if problem := _validate_function_turns(contents):
        return problem
    if needs_thought_signatures(model) and (problem := _validate_thought_signatures(contents)):
        return problem
    return None


# ---------------------------------------------------------------- answers


def usage_metadata(reply: Reply, *, final: bool = True) -> dict[str, Any]:
    thoughts = reply.reasoning_tokens
    candidates = reply.output_tokens - thoughts if final else 0
    out: dict[str, Any] = {"promptTokenCount": reply.input_tokens}
    if final:
        out["candidatesTokenCount"] = candidates
    out["totalTokenCount"] = reply.input_tokens + candidates + thoughts
    if reply.cached_tokens:
        out["cachedContentTokenCount"] = reply.cached_tokens
    out["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.input_tokens}]
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    return out


def _thought_parts(reply: Reply, with_thoughts: bool) -> list[dict[str, Any]]:
    if not (reply.thinking and with_thoughts):
        return []
    part: dict[str, Any] = {"text": reply.thinking, "thought": True}
    if not reply.tool_name:
        part["thoughtSignature"] = THOUGHT_SIGNATURE
    return [part]


def _call_part(reply: Reply, model: str) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": reply.tool_name, "args": reply.tool_args}}
    if reply.thinking or needs_thought_signatures(model):
        # signatures ride on the first function call; Gemini 3 always sends one there
        part["thoughtSignature"] = call_signature(reply.tool_name or "", reply.tool_args)
    return part


def _candidate(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish:
        cand["finishReason"] = finish
    cand["index"] = 0
    return cand


def full_response(reply: Reply, model: str, with_thoughts: bool) -> dict[str, Any]:
    parts = _thought_parts(reply, with_thoughts)
    if reply.text:
        parts.append({"text": reply.text})
    if reply.tool_name:
        parts.append(_call_part(reply, model))
    return {"candidates": [_candidate(parts, "STOP")], "usageMetadata": usage_metadata(reply),
            "modelVersion": model, "responseId": RESPONSE_ID}


def stream_chunks(reply: Reply, model: str, with_thoughts: bool) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = []

    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> None:
        chunks.append({"candidates": [_candidate(parts, finish)], "usageMetadata": usage_metadata(reply, final=bool(finish)),
                       "modelVersion": model, "responseId": RESPONSE_ID})

    if thoughts := _thought_parts(reply, with_thoughts):
        chunk(thoughts)
    pieces = reply.text_chunks()
    # Gemini sends a few words per chunk, not one
    grouped = ["".join(pieces[i:i + 3]) for i in range(0, len(pieces), 3)]
    for piece in grouped[:-1]:
        chunk([{"text": piece}])
    last: list[dict[str, Any]] = [{"text": grouped[-1]}] if grouped else []
    if reply.tool_name:
        if last:
            chunk(last)
        last = [_call_part(reply, model)]
    chunk(last or [{"text": ""}], "STOP")
    return chunks


def setup_routes(app: web.Application, fake: FakeProvider) -> None:
    async def model_action(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        body = await read_json(request)
        entry = fake.record(request, body, key)
        model, _, action = request.match_info["model_action"].rpartition(":")
        if action == "countTokens":
            inner = (body or {}).get("generateContentRequest") or body or {}
            # deterministic: one token per 4 characters of the contents, as a stand-in for the real tokenizer
            return web.json_response({"totalTokens": len(json.dumps(inner.get("contents", []))) // 4,
                                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1}]})
        if action not in ("generateContent", "streamGenerateContent"):
            return error_response(404, f"Method not found: {action}")
        if not key:
            return error_response(403, "Method doesn't allow unregistered callers (callers without established "
                                       "identity). Please use API Key or other form of API consumer identity to call "
                                       "this API.")
        if failure := fake.scripted_failure(key):
            return error_response(failure.status, f"scripted failure {failure.status}", failure.retry_after)
        if problem := validate(body, model):
            return error_response(400, problem)
        reply = plan_reply(neutral_view(body))
        if reply.hang:
            await asyncio.sleep(reply.hang)
        if reply.error_status:
            return error_response(reply.error_status, f"The fake upstream failed with {reply.error_status}")
        with_thoughts = includes_thoughts(body)
        if action == "generateContent":
            return web.json_response(full_response(reply, model, with_thoughts))
        chunks = stream_chunks(reply, model, with_thoughts)
        encoded = [json.dumps(c, separators=(",", ":")).encode() for c in chunks]
        if request.query.get("alt") == "sse":
            frames = [b"data: " + e + b"\r\n\r\n" for e in encoded]
            content_type = "text/event-stream"
        else:  # the default: one JSON array, written element by element
            frames = [(b"[" if i == 0 else b",\r\n") + e for i, e in enumerate(encoded)] + [b"]"]
            content_type = "application/json"
        gap = 0.02 if (reply.slow or reply.loop) else 0.0
        return await stream_frames(request, entry, frames, content_type=content_type, gap=gap,
                                   cut_after=2 if reply.cut else None)

    async def models(request: web.Request) -> web.Response:
        fake.record(request, None, request.headers.get("x-goog-api-key") or request.query.get("key"))
        return web.json_response({"models": [
            {"name": f"models/{mid}", "version": "001", "displayName": name,
             "description": f"{name} (fake)", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
             "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent",
                                            "batchGenerateContent"],
             "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True}
            for mid, name in MODELS]})

    app.router.add_post(r"/v1beta/models/{model_action:[^/]+}", model_action)
    app.router.add_get("/v1beta/models", models)


def make_fake() -> FakeProvider:
    return FakeProvider("gemini", setup_routes)
