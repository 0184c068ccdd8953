"""The Chat Completions wire shapes, as OpenAI's API reference documents them.

The translators build their output from these types, so mypy checks field names and value types.
Objects an upstream sends (completion, chunk, usage) have every field optional: OpenAI-compatible
servers leave fields out that OpenAI always sends, and the decoders read them with ``.get``. A
client's request is read as the untrusted JSON it is: ``request_in.py`` validates it field by field.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

# ---------------------------------------------------------------- request


class StreamOptions(TypedDict, total=False):
    include_usage: bool


class ImageURL(TypedDict):
    url: str
    detail: NotRequired[str]


class TextContentPart(TypedDict):
    type: Literal["text"]
    text: str


class ImageContentPart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


# text and image parts, or another part (``input_audio``, ``file``, …) kept verbatim for OpenAI
ContentPart = TextContentPart | ImageContentPart | dict[str, Any]


class FunctionCall(TypedDict):
    name: str
    arguments: str  # JSON text


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(TypedDict, total=False):
    """A ``messages`` entry of any role; ``role`` decides which other fields apply."""

    role: Required[Literal["system", "developer", "user", "assistant", "tool"]]
    content: str | list[ContentPart] | None
    name: str
    tool_calls: list[ToolCall]  # assistant
    reasoning_content: str  # assistant, OpenAI-compatible reasoning servers (DeepSeek, vLLM)
    audio: dict[str, Any]  # assistant: a reference to an earlier audio answer
    refusal: str  # assistant
    tool_call_id: str  # tool


class FunctionDefinition(TypedDict, total=False):
    name: Required[str]
    description: str
    parameters: dict[str, Any]  # JSON Schema
    strict: bool


class ChatTool(TypedDict):
    type: Literal["function"]
    function: FunctionDefinition | dict[str, Any]  # open: an OpenAI client's other fields pass through


class NamedToolChoiceFunction(TypedDict):
    name: str | None


class NamedToolChoice(TypedDict):
    type: Literal["function"]
    function: NamedToolChoiceFunction


ToolChoiceOption = Literal["auto", "none", "required"] | NamedToolChoice


class JSONSchemaFormat(TypedDict, total=False):
    name: Required[str]
    description: str
    schema: dict[str, Any]
    strict: bool


class ResponseFormat(TypedDict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: NotRequired[JSONSchemaFormat]


class ChatCompletionRequest(TypedDict, total=False):
    """``POST /v1/chat/completions``: the fields the translator models (others pass through for OpenAI)."""

    model: Required[str]
    messages: Required[list[ChatMessage]]
    stream: bool
    stream_options: StreamOptions
    max_tokens: int
    max_completion_tokens: int
    temperature: float
    top_p: float
    top_k: int  # not OpenAI's: vLLM, llama.cpp and other compatible servers take it
    stop: str | list[str]
    seed: int
    tools: list[ChatTool]
    tool_choice: ToolChoiceOption
    parallel_tool_calls: bool
    response_format: ResponseFormat
    reasoning_effort: str
    user: str
    metadata: dict[str, Any]


# ---------------------------------------------------------------- response


class PromptTokensDetails(TypedDict, total=False):
    cached_tokens: int


class CompletionTokensDetails(TypedDict, total=False):
    reasoning_tokens: int


class CompletionUsage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None
    completion_tokens_details: CompletionTokensDetails | None


class ChatCompletionMessage(TypedDict, total=False):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    reasoning_content: str  # OpenAI-compatible reasoning servers
    reasoning: str  # OpenRouter's spelling of reasoning_content
    tool_calls: list[ToolCall]


class Choice(TypedDict, total=False):
    index: int
    message: ChatCompletionMessage
    logprobs: dict[str, Any] | None
    finish_reason: str | None


class ChatCompletion(TypedDict, total=False):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None
    system_fingerprint: str
    service_tier: str


# ---------------------------------------------------------------- streaming


class FunctionCallDelta(TypedDict, total=False):
    name: str | None
    arguments: str | None


class ToolCallDelta(TypedDict, total=False):
    """One call's fragment: the first names it (``id``, ``function.name``), the rest carry arguments."""

    index: Required[int]
    id: str | None
    type: Literal["function"] | None
    function: FunctionCallDelta


class ChunkDelta(TypedDict, total=False):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    reasoning_content: str | None
    reasoning: str | None
    tool_calls: list[ToolCallDelta]


class ChunkChoice(TypedDict, total=False):
    index: int
    delta: ChunkDelta
    logprobs: dict[str, Any] | None
    finish_reason: str | None


class ChatCompletionChunk(TypedDict, total=False):
    """One ``data:`` event of a stream; with ``stream_options.include_usage`` every chunk has ``usage``
    (null), and a last chunk with no choices carries the numbers."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None
    system_fingerprint: str


# ---------------------------------------------------------------- errors


class ErrorObject(TypedDict):
    """The ``error`` of an error response's body ``{"error": {...}}``, and of a stream's error event."""

    message: str
    type: str
    param: str | None
    code: str | None
