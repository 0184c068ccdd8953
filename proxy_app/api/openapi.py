"""The client-protocol endpoints in the OpenAPI schema (``/api/schema/``, ``/api/docs/``).

drf-spectacular documents the DRF views (``/usage/*``, ``/audit/logs``) by itself; the OpenAI,
Anthropic and Gemini endpoints are plain async Django views it cannot see, so this postprocessing
hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds them: paths, auth schemes, and each
body as an object naming its main fields. The providers' own API references are the full contract;
every field they define is accepted and passed on (or translated for another backend's protocol).
"""

from __future__ import annotations

import copy
from typing import Any

JSON = dict[str, Any]

OPENAI_DOCS = "https://platform.openai.com/docs/api-reference"
ANTHROPIC_DOCS = "https://docs.anthropic.com/en/api"
GEMINI_DOCS = "https://ai.google.dev/api"

MODEL_NAME = ("`backend:model` (e.g. `gemini:gemini-2.5-flash`, `openrouter:openai/gpt-4`), a failover route's "
              "name, or a bare model name for the session's or the default backend")

# ---------------------------------------------------------------- schema builders


def obj(description: str, required: tuple[str, ...] = (), /, **properties: JSON) -> JSON:
    """An object naming its main fields (``properties``, so a field may be named ``description``); any
    other field of the provider's API is accepted too."""
    schema: JSON = {"type": "object", "description": description, "properties": properties,
                    "additionalProperties": True}
    if required:
        schema["required"] = list(required)
    return schema


def string(description: str = "", **extra: Any) -> JSON:
    return {"type": "string", "description": description, **extra}


def integer(description: str = "") -> JSON:
    return {"type": "integer", "description": description}


def number(description: str = "") -> JSON:
    return {"type": "number", "description": description}


def boolean(description: str = "") -> JSON:
    return {"type": "boolean", "description": description}


def array(items: JSON, description: str = "") -> JSON:
    return {"type": "array", "items": items, "description": description}


def anything(description: str) -> JSON:
    return {"description": description}


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


# ---------------------------------------------------------------- bodies

SCHEMAS: dict[str, JSON] = {
    # OpenAI
    "OpenAIChatCompletionRequest": obj(
        "OpenAI Chat Completions request", ("model", "messages"),
        model=string(MODEL_NAME),
        messages=array(obj("a message", ("role",), role=string(enum=["system", "developer", "user", "assistant",
                                                                       "tool"]),
                           content=anything("text, or an array of text / image_url / input_audio parts"),
                           tool_calls=array(obj("a function call")), tool_call_id=string())),
        stream=boolean("answer as server-sent events (`chat.completion.chunk` objects, then `data: [DONE]`)"),
        stream_options=obj("stream options", include_usage=boolean("a last chunk with the usage")),
        temperature=number(), top_p=number(), max_tokens=integer(), max_completion_tokens=integer(),
        reasoning_effort=string("minimal, low, medium or high; translated to the backend's thinking budget"),
        tools=array(obj("a function tool", ("type",), type=string(), function=obj("name, description, parameters"))),
        tool_choice=anything("auto, none, required or a named function"),
        response_format=obj("text, json_object or json_schema (structured output)"),
        stop=anything("a string or up to 4 strings"), n=integer(), user=string(),
    ),
    "OpenAIChatCompletion": obj(
        "OpenAI Chat Completions answer", ("id", "object", "choices"),
        id=string(), object=string(enum=["chat.completion"]), created=integer(), model=string(),
        choices=array(obj("a choice", index=integer(),
                          message=obj("the answer", role=string(), content=string(nullable=True),
                                      tool_calls=array(obj("a function call"))),
                          finish_reason=string("stop, length, tool_calls or content_filter"))),
        usage=obj("token counts", prompt_tokens=integer(), completion_tokens=integer(), total_tokens=integer()),
    ),
    "OpenAIResponsesRequest": obj(
        "OpenAI Responses request", ("model",),
        model=string(MODEL_NAME), input=anything("a string, or an array of input items (messages, function "
                                                 "calls and their outputs, reasoning items)"),
        instructions=string(), stream=boolean("answer as server-sent events (`response.*` events)"),
        tools=array(obj("a function (or built-in) tool")), tool_choice=anything("auto, none, required or a tool"),
        reasoning=obj("reasoning options", effort=string(), summary=string()),
        text=obj("output format, e.g. a JSON schema"), max_output_tokens=integer(), temperature=number(),
        previous_response_id=string(), store=boolean(), include=array(string()),
    ),
    "OpenAIResponse": obj(
        "OpenAI Responses answer", ("id", "object", "output"),
        id=string(), object=string(enum=["response"]), created_at=integer(), model=string(), status=string(),
        output=array(obj("an output item: message, function_call or reasoning (with `encrypted_content` for "
                         "another backend's reasoning, sealed by the proxy)")),
        usage=obj("token counts", input_tokens=integer(), output_tokens=integer(), total_tokens=integer()),
    ),
    "OpenAIModelList": obj(
        "OpenAI model list", ("object", "data"), object=string(enum=["list"]),
        data=array(obj("a model", id=string("`backend:model`"), object=string(), created=integer(),
                       owned_by=string())),
    ),
    "OpenAIError": obj("OpenAI error", ("error",), error=obj(
        "the error", ("message",), message=string(), type=string(), code=anything("a string or null"),
        param=string(nullable=True))),
    # Anthropic
    "AnthropicMessagesRequest": obj(
        "Anthropic Messages request", ("model", "max_tokens", "messages"),
        model=string(MODEL_NAME), max_tokens=integer(),
        messages=array(obj("a message", ("role", "content"), role=string(enum=["user", "assistant"]),
                           content=anything("text, or an array of text / image / tool_use / tool_result / "
                                            "thinking blocks"))),
        system=anything("a string or an array of text blocks"),
        stream=boolean("answer as server-sent events (`message_start` … `message_stop`)"),
        temperature=number(), top_p=number(), top_k=integer(), stop_sequences=array(string()),
        tools=array(obj("a tool", ("name",), name=string(), description=string(), input_schema=obj("JSON schema"))),
        tool_choice=obj("auto, any, tool or none"),
        thinking=obj("extended thinking", type=string(enum=["enabled", "disabled"]), budget_tokens=integer()),
        metadata=obj("request metadata", user_id=string()),
    ),
    "AnthropicMessage": obj(
        "Anthropic Messages answer", ("id", "type", "content"),
        id=string(), type=string(enum=["message"]), role=string(enum=["assistant"]), model=string(),
        content=array(obj("a text, tool_use or thinking block", ("type",), type=string())),
        stop_reason=string("end_turn, max_tokens, stop_sequence or tool_use", nullable=True),
        usage=obj("token counts", input_tokens=integer(), output_tokens=integer(),
                  cache_read_input_tokens=integer(), cache_creation_input_tokens=integer()),
    ),
    "AnthropicCountTokensRequest": obj(
        "Anthropic token-count request", ("model", "messages"), model=string(MODEL_NAME),
        messages=array(obj("a message", ("role", "content"))), system=anything("a string or text blocks"),
        tools=array(obj("a tool")), thinking=obj("extended thinking"),
    ),
    "AnthropicTokenCount": obj("Anthropic token count", ("input_tokens",), input_tokens=integer()),
    "AnthropicModelList": obj(
        "Anthropic model list", ("data",),
        data=array(obj("a model", id=string("`backend:model`"), type=string(enum=["model"]), display_name=string(),
                       created_at=string())),
        has_more=boolean(), first_id=string(nullable=True), last_id=string(nullable=True),
    ),
    "AnthropicError": obj("Anthropic error", ("type", "error"), type=string(enum=["error"]), error=obj(
        "the error", ("type", "message"), type=string("e.g. invalid_request_error, authentication_error, "
                                                      "rate_limit_error, overloaded_error"), message=string())),
    # Gemini
    "GeminiGenerateContentRequest": obj(
        "Gemini generateContent request", ("contents",),
        contents=array(obj("a turn", ("parts",), role=string(enum=["user", "model"]),
                           parts=array(obj("text, inlineData, functionCall, functionResponse or a thought")))),
        systemInstruction=obj("system instruction", parts=array(obj("a text part"))),
        tools=array(obj("functionDeclarations and built-in tools")), toolConfig=obj("function calling mode"),
        generationConfig=obj(
            "generation options", temperature=number(), topP=number(), topK=integer(), maxOutputTokens=integer(),
            stopSequences=array(string()), responseMimeType=string(), responseSchema=obj("OpenAPI-subset schema"),
            responseJsonSchema=obj("JSON schema"),
            thinkingConfig=obj("thinking", thinkingBudget=integer(), includeThoughts=boolean())),
        safetySettings=array(obj("a safety setting")),
    ),
    "GeminiGenerateContentResponse": obj(
        "Gemini generateContent answer (one chunk of a stream)", ("candidates",),
        candidates=array(obj("a candidate", content=obj("the answer", role=string(), parts=array(obj("a part"))),
                             finishReason=string(), index=integer())),
        usageMetadata=obj("token counts", promptTokenCount=integer(), candidatesTokenCount=integer(),
                          thoughtsTokenCount=integer(), totalTokenCount=integer()),
        modelVersion=string(), responseId=string(),
    ),
    "GeminiCountTokensRequest": obj(
        "Gemini countTokens request", contents=array(obj("a turn")),
        generateContentRequest=ref("GeminiGenerateContentRequest"),
    ),
    "GeminiCountTokensResponse": obj("Gemini token count", ("totalTokens",), totalTokens=integer()),
    "GeminiModelList": obj(
        "Gemini model list", ("models",),
        models=array(obj("a model", name=string("`models/backend:model`"), displayName=string(),
                         supportedGenerationMethods=array(string()), inputTokenLimit=integer(),
                         outputTokenLimit=integer())),
        nextPageToken=string(),
    ),
    "GeminiError": obj("Gemini error", ("error",), error=obj(
        "the error", ("code", "message"), code=integer(), message=string(), status=string("e.g. INVALID_ARGUMENT"))),
}

HI = [{"role": "user", "content": "Hi"}]
GEMINI_HI = [{"role": "user", "parts": [{"text": "Hi"}]}]
# One request per body, shown in the docs ("Try it out" sends it as it is).
EXAMPLES: dict[str, JSON] = {
    "OpenAIChatCompletionRequest": {"model": "openai:gpt-4o", "messages": HI},
    "OpenAIResponsesRequest": {"model": "openai:gpt-4o", "input": "Hi"},
    "AnthropicMessagesRequest": {"model": "anthropic:claude-sonnet-4-5", "max_tokens": 512, "messages": HI},
    "AnthropicCountTokensRequest": {"model": "anthropic:claude-sonnet-4-5", "messages": HI},
    "GeminiGenerateContentRequest": {"contents": GEMINI_HI},
    "GeminiCountTokensRequest": {"contents": GEMINI_HI},
}

# ---------------------------------------------------------------- auth

SECURITY_SCHEMES: dict[str, JSON] = {
    "proxyKey": {"type": "http", "scheme": "bearer",
                 "description": "A proxy API key (the one clients use): `Authorization: Bearer <key>`."},
    "xApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                "description": "A proxy API key as Anthropic clients send it."},
    "googApiKey": {"type": "apiKey", "in": "header", "name": "x-goog-api-key",
                   "description": "A proxy API key as Gemini clients send it."},
    "keyQuery": {"type": "apiKey", "in": "query", "name": "key",
                 "description": "A proxy API key in the query string, as Gemini's REST examples do."},
}
# Every endpoint takes the key in any of these forms; each protocol's own comes first.
NATIVE_AUTH = {"OpenAI": ["proxyKey"], "Anthropic": ["xApiKey", "proxyKey"], "Gemini": ["googApiKey", "keyQuery"]}


def security(protocol: str) -> list[JSON]:
    native = NATIVE_AUTH[protocol]
    return [{name: []} for name in native + [n for n in SECURITY_SCHEMES if n not in native]]


# ---------------------------------------------------------------- operations

TAGS: list[JSON] = [
    {"name": "OpenAI", "description": "OpenAI Chat Completions and Responses, for the `openai` SDK, Codex CLI and "
                                      "curl: base URL `/v1`.",
     "externalDocs": {"url": OPENAI_DOCS, "description": "OpenAI API reference"}},
    {"name": "Anthropic", "description": "Anthropic Messages, for the `anthropic` SDK (base URL `/anthropic`) and "
                                         "Claude Code (the bare server URL: `/v1/messages`).",
     "externalDocs": {"url": ANTHROPIC_DOCS, "description": "Anthropic API reference"}},
    {"name": "Gemini", "description": "Gemini generateContent, for the `google-genai` SDK and Gemini CLI: base URL "
                                      "`/` with API version `v1beta` (or `v1`: the same paths under `/v1/models/`).",
     "externalDocs": {"url": GEMINI_DOCS, "description": "Gemini API reference"}},
]
DOCS = {tag["name"]: tag["externalDocs"]["url"] for tag in TAGS}
ERROR_SCHEMA = {"OpenAI": "OpenAIError", "Anthropic": "AnthropicError", "Gemini": "GeminiError"}
SSE = "text/event-stream"


def json_content(schema: JSON) -> JSON:
    return {"application/json": {"schema": schema}}


def sse_event(description: str) -> JSON:
    """One server-sent event (OpenAPI before 3.2 has a stream's ``schema`` describe each event)."""
    return obj(description, ("data",), event=string("the event's name, when the protocol names events"),
               data=string("a JSON object, or `[DONE]` ending an OpenAI Chat stream"))


def operation(protocol: str, op_id: str, summary: str, description: str, docs: str, *, request: str | None,
              answer: JSON, stream: str = "", parameters: tuple[JSON, ...] = ()) -> JSON:
    """One endpoint: its protocol's auth and error format, the provider's reference linked, and the
    server-sent-events answer described when it streams."""
    content = json_content(answer)
    if stream:
        content[SSE] = {"schema": sse_event(stream)}
    errors = json_content(ref(ERROR_SCHEMA[protocol]))
    op: JSON = {
        "operationId": op_id, "summary": summary, "description": description, "tags": [protocol],
        "externalDocs": {"url": f"{DOCS[protocol]}/{docs}", "description": f"{protocol}'s reference"},
        "security": security(protocol),
        "responses": {
            "200": {"description": "The answer" + (", or its stream" if stream else ""), "content": content},
            "4XX": {"description": f"A client error in {protocol}'s format (401: no or a wrong proxy key; 429 with "
                                   "Retry-After: every key of the backend is cooling down)", "content": errors},
            "5XX": {"description": f"An upstream failure after every attempt, in {protocol}'s format",
                    "content": errors},
        },
    }
    if parameters:
        op["parameters"] = list(parameters)
    if request:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": ref(request), "example": EXAMPLES[request]}}}
    return op


MODEL_PARAMETER: JSON = {"name": "model", "in": "path", "required": True, "schema": {"type": "string"},
                         "example": "gemini:gemini-2.5-flash", "description": f"The model: {MODEL_NAME}."}
ANTHROPIC_VERSION: JSON = {"name": "anthropic-version", "in": "header", "required": False,
                           "schema": {"type": "string", "example": "2023-06-01"}}
STREAM_NOTE = "Streams with `\"stream\": true`; failover covers a stream until its first content."


def anthropic_messages(op_id: str, where: str) -> JSON:
    return operation(
        "Anthropic", op_id, "Create a message", f"Anthropic Messages{where}. {STREAM_NOTE}", "messages",
        request="AnthropicMessagesRequest", answer=ref("AnthropicMessage"), parameters=(ANTHROPIC_VERSION,),
        stream="`event:`/`data:` pairs: message_start, content_block_start/delta/stop, message_delta, message_stop "
               "(an `error` event ends a failed stream)",
    )


def anthropic_count_tokens(op_id: str, where: str) -> JSON:
    return operation(
        "Anthropic", op_id, "Count tokens", f"Anthropic's token count{where}: the backend's own count when it "
        "has one, else an estimate.", "messages-count-tokens", request="AnthropicCountTokensRequest",
        answer=ref("AnthropicTokenCount"), parameters=(ANTHROPIC_VERSION,),
    )


BARE = " at the bare server URL (Claude Code's `ANTHROPIC_BASE_URL`)"
LISTING = " Models are listed from every backend (cached for five minutes), named `backend:model`."

PATHS: dict[str, JSON] = {
    "/v1/chat/completions": {"post": operation(
        "OpenAI", "openai_chat_completions", "Create a chat completion",
        f"OpenAI Chat Completions, served by any backend. {STREAM_NOTE}", "chat/create",
        request="OpenAIChatCompletionRequest", answer=ref("OpenAIChatCompletion"),
        stream="`data:` lines of `chat.completion.chunk` objects, then `data: [DONE]`",
    )},
    "/v1/responses": {"post": operation(
        "OpenAI", "openai_responses", "Create a response",
        f"OpenAI Responses (Codex CLI's wire API), served by any backend. {STREAM_NOTE}", "responses/create",
        request="OpenAIResponsesRequest", answer=ref("OpenAIResponse"),
        stream="`event:`/`data:` pairs: response.created, response.output_text.delta, …, response.completed",
    )},
    "/v1/models": {"get": operation(
        "OpenAI", "openai_models", "List models",
        "OpenAI's model list; an Anthropic client (an `x-api-key` or `anthropic-version` header) gets Anthropic's."
        + LISTING, "models/list", request=None, answer={"anyOf": [ref("OpenAIModelList"), ref("AnthropicModelList")]},
    )},
    "/anthropic/v1/messages": {"post": anthropic_messages("anthropic_messages", "")},
    "/v1/messages": {"post": anthropic_messages("anthropic_messages_bare", BARE)},
    "/anthropic/v1/messages/count_tokens": {"post": anthropic_count_tokens("anthropic_count_tokens", "")},
    "/v1/messages/count_tokens": {"post": anthropic_count_tokens("anthropic_count_tokens_bare", BARE)},
    "/anthropic/v1/models": {"get": operation(
        "Anthropic", "anthropic_models", "List models", "Anthropic's model list." + LISTING, "models-list",
        request=None, answer=ref("AnthropicModelList"), parameters=(ANTHROPIC_VERSION,),
    )},
    "/v1beta/models": {"get": operation(
        "Gemini", "gemini_models", "List models", "Gemini's model list." + LISTING, "models#method:-models.list",
        request=None, answer=ref("GeminiModelList"),
    )},
    "/v1beta/models/{model}:generateContent": {"post": operation(
        "Gemini", "gemini_generate_content", "Generate content", "Gemini generateContent, served by any backend.",
        "generate-content#method:-models.generatecontent", request="GeminiGenerateContentRequest",
        answer=ref("GeminiGenerateContentResponse"), parameters=(MODEL_PARAMETER,),
    )},
    "/v1beta/models/{model}:streamGenerateContent": {"post": operation(
        "Gemini", "gemini_stream_generate_content", "Stream generated content",
        "Gemini streamGenerateContent: with `alt=sse` server-sent events, each a GenerateContentResponse chunk; "
        "without it, a JSON array of the chunks.", "generate-content#method:-models.streamgeneratecontent",
        request="GeminiGenerateContentRequest", answer=array(ref("GeminiGenerateContentResponse")),
        stream="`data:` lines, each a GenerateContentResponse chunk (with `alt=sse`)",
        parameters=(MODEL_PARAMETER, {"name": "alt", "in": "query", "required": False,
                                      "schema": {"type": "string", "enum": ["sse"]},
                                      "description": "`sse`: answer as server-sent events"}),
    )},
    "/v1beta/models/{model}:countTokens": {"post": operation(
        "Gemini", "gemini_count_tokens", "Count tokens", "Gemini countTokens: the backend's own count when it "
        "has one, else an estimate.", "tokens#method:-models.counttokens", request="GeminiCountTokensRequest",
        answer=ref("GeminiCountTokensResponse"), parameters=(MODEL_PARAMETER,),
    )},
}


def add_client_protocols(result: JSON, generator: Any, request: Any, public: bool) -> JSON:
    """drf-spectacular postprocessing hook: the client-protocol paths first, then the operator API's."""
    fragment = copy.deepcopy({"paths": PATHS, "schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES})
    result["paths"] = {**fragment["paths"], **result.get("paths", {})}
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(fragment["schemas"])
    schemes = components.setdefault("securitySchemes", {})
    for name, scheme in fragment["securitySchemes"].items():
        schemes.setdefault(name, scheme)
    result["tags"] = [*copy.deepcopy(TAGS), *result.get("tags", [])]
    return result
