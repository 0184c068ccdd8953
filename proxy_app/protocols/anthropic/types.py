"""The Anthropic Messages API on the wire: the protocol's ``NAME`` and the JSON shapes the proxy writes.

The shapes follow Anthropic's API reference (``anthropic.types`` in the SDK), spelling out the fields
this package writes. An Anthropic client's content blocks, messages and tools come back with fields
the proxy passes through untouched (``cache_control``, ``citations``, server tool blocks, …): where
those travel, the type is the open ``Block``.

``WireProtocol`` promises plain dicts, and a TypedDict is a ``Mapping``, not a ``dict``: the
converters build these shapes and hand back a plain copy.

Decoders read what an upstream sent as untrusted JSON (``dict[str, Any]``), checking each field they
use: the shapes here are what a well-behaved upstream sends, not something the proxy may rely on.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

NAME = "anthropic"

Block = dict[str, Any]
"""A content block, message or tool as it travels: one of the shapes below plus passed-through fields."""

StopReason = Literal[
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"
]

# ---------------------------------------------------------------- content blocks


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str


class Base64ImageSource(TypedDict):
    type: Literal["base64"]
    media_type: str
    data: str


class URLImageSource(TypedDict):
    type: Literal["url"]
    url: str


class ImageBlock(TypedDict):
    type: Literal["image"]
    source: Base64ImageSource | URLImageSource


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


ContentBlock = TextBlock | ImageBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock


class ToolResultBlock(TypedDict):
    """In a user message, answering a ``tool_use`` block; ``content`` is text or text and image blocks."""

    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[str | list[Block]]
    is_error: NotRequired[bool]

# ---------------------------------------------------------------- request


class ToolChoice(TypedDict, total=False):
    type: Required[Literal["auto", "any", "tool", "none"]]
    name: str
    disable_parallel_tool_use: bool


class JSONSchemaFormat(TypedDict):
    """``output_config.format`` (or the structured-outputs beta's top-level ``output_format``)."""

    type: Literal["json_schema"]
    schema: dict[str, Any]


class MessagesRequest(TypedDict, total=False):
    """A ``POST /v1/messages`` body; an Anthropic client's unmodelled top-level fields ride beside these.

    ``max_tokens`` is required by the API: the encoder always sets it, once thinking has been fitted."""

    model: Required[str]
    messages: Required[list[Block]]
    system: str | list[Block]
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop_sequences: list[str]
    stream: bool
    tools: list[Block]
    tool_choice: ToolChoice
    thinking: Block  # {type: enabled, budget_tokens} | {type: disabled} | {type: adaptive, …}
    metadata: dict[str, Any]
    output_config: dict[str, Any]
    output_format: JSONSchemaFormat


# ---------------------------------------------------------------- response


class Usage(TypedDict):
    input_tokens: int  # uncached input only: the cache reads and writes are counted beside it
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class MessageResponse(TypedDict):
    """A Messages API response body (and, empty, the ``message`` of a stream's ``message_start``)."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Block]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: Usage


# ---------------------------------------------------------------- streaming


class TextDelta(TypedDict):
    type: Literal["text_delta"]
    text: str


class ThinkingDelta(TypedDict):
    type: Literal["thinking_delta"]
    thinking: str


class SignatureDelta(TypedDict):
    type: Literal["signature_delta"]
    signature: str


class InputJSONDelta(TypedDict):
    type: Literal["input_json_delta"]
    partial_json: str


BlockDelta = TextDelta | ThinkingDelta | SignatureDelta | InputJSONDelta


class MessageStartEvent(TypedDict):
    type: Literal["message_start"]
    message: MessageResponse


class PingEvent(TypedDict):
    type: Literal["ping"]


class ContentBlockStartEvent(TypedDict):
    type: Literal["content_block_start"]
    index: int
    content_block: ContentBlock


class ContentBlockDeltaEvent(TypedDict):
    type: Literal["content_block_delta"]
    index: int
    delta: BlockDelta


class ContentBlockStopEvent(TypedDict):
    type: Literal["content_block_stop"]
    index: int


class MessageDelta(TypedDict):
    stop_reason: StopReason
    stop_sequence: str | None


class MessageDeltaEvent(TypedDict):
    type: Literal["message_delta"]
    delta: MessageDelta
    usage: Usage


class MessageStopEvent(TypedDict):
    type: Literal["message_stop"]


StreamEvent = (
    MessageStartEvent | PingEvent | ContentBlockStartEvent | ContentBlockDeltaEvent | ContentBlockStopEvent
    | MessageDeltaEvent | MessageStopEvent
)

# ---------------------------------------------------------------- errors


class ErrorDetail(TypedDict):
    type: str  # invalid_request_error, overloaded_error, …
    message: str


class ErrorResponse(TypedDict):
    """An error body, and the ``data`` of a stream's ``error`` event."""

    type: Literal["error"]
    error: ErrorDetail
    request_id: NotRequired[str]
