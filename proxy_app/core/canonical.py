"""The one protocol-neutral model every wire format converts to and from.

Conventions (every protocol module relies on them):

* System prompts are ``Message(role="system")`` entries; protocols that keep the
  system prompt outside the message list hoist them out when encoding.
* Tool results are ``Message(role="tool")`` holding ``ToolResultPart`` parts.
* ``Usage.input_tokens`` counts *all* prompt tokens, cached ones included
  (OpenAI semantics); ``output_tokens`` counts all generated tokens, reasoning
  included. Protocols that report these differently convert on the way in/out.
* ``extra`` dicts carry fields a protocol module does not model (e.g. Anthropic
  ``cache_control``); only the encoder of the *same* protocol writes them back,
  so same-protocol paths are lossless and cross-protocol paths stay clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]

# Canonical stop reasons; each protocol maps them to its own vocabulary.
StopReason = Literal[
    "end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter", "loop_detected", "error"
]

Extra = dict[str, Any] | None


@dataclass(slots=True)
class TextPart:
    text: str
    extra: Extra = None


@dataclass(slots=True)
class ImagePart:
    """An image given either by URL or inline base64 ``data`` with its ``media_type``."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: str | None = None
    extra: Extra = None


@dataclass(slots=True)
class ToolCallPart:
    id: str
    name: str
    arguments: str  # JSON text exactly as the model produced it
    extra: Extra = None


@dataclass(slots=True)
class ToolResultPart:
    tool_call_id: str
    content: list[TextPart | ImagePart]
    name: str | None = None  # Gemini answers by function name, not id
    is_error: bool = False
    extra: Extra = None


@dataclass(slots=True)
class ThinkingPart:
    """Reasoning text; ``signature`` (Anthropic/Gemini) must survive round trips untouched.

    ``origin`` names the protocol whose provider issued the signature (or redacted payload): only
    that protocol's encoder replays it, whichever protocol the client speaks (see
    ``proxy_app.chat.reasoning_state``)."""

    text: str
    signature: str | None = None
    redacted_data: str | None = None  # Anthropic ``redacted_thinking`` payload
    extra: Extra = None
    origin: str | None = None


@dataclass(slots=True)
class RawPart:
    """A content part only its own protocol understands (e.g. OpenAI ``input_audio``).

    Encoders of ``protocol`` emit ``data`` verbatim; other encoders drop it.
    """

    protocol: str
    data: dict[str, Any]


Part = TextPart | ImagePart | ToolCallPart | ToolResultPart | ThinkingPart | RawPart


@dataclass(slots=True)
class Message:
    role: Role
    parts: list[Part]
    name: str | None = None
    extra: Extra = None

    def text(self) -> str:
        """Concatenated text of the message's text parts."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(slots=True)
class Tool:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON Schema
    extra: Extra = None


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None  # when mode == "tool"


@dataclass(slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None


@dataclass(slots=True)
class Reasoning:
    """Unified reasoning control: an effort level, an explicit token budget, or both."""

    effort: str | None = None  # minimal | low | medium | high
    budget_tokens: int | None = None
    enabled: bool = True
    include_thoughts: bool | None = None


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[Message]
    source_protocol: str
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    include_usage: bool = False  # the client asked for usage in its stream
    user: str | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Annotations that never go on the wire as such (e.g. which max-tokens field
    # the client used, the session id); protocol modules read only their own keys.
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChatResponse:
    id: str
    model: str
    parts: list[Part]
    stop_reason: StopReason | None = "end_turn"
    usage: Usage = field(default_factory=Usage)
    stop_sequence: str | None = None
    created: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


# ---------------------------------------------------------------- stream events


@dataclass(slots=True)
class StreamStart:
    id: str
    model: str
    usage: Usage | None = None  # Anthropic reports input tokens up front


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ThinkingDelta:
    text: str = ""
    signature: str | None = None
    redacted_data: str | None = None


@dataclass(slots=True)
class ToolCallStart:
    index: int  # position among this response's tool calls, from 0
    id: str
    name: str
    extra: Extra = None


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(slots=True)
class StreamEnd:
    stop_reason: StopReason | None
    usage: Usage
    stop_sequence: str | None = None


@dataclass(slots=True)
class StreamError:
    error: ProxyError


StreamEvent = StreamStart | TextDelta | ThinkingDelta | ToolCallStart | ToolCallDelta | StreamEnd | StreamError


# ---------------------------------------------------------------- errors

# Canonical error kinds and the HTTP status each one implies by default.
ERROR_STATUS: dict[str, int] = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "request_too_large": 413,
    "rate_limit": 429,
    "api_error": 500,
    "bad_gateway": 502,
    "unavailable": 503,
    "timeout": 504,
    "overloaded": 529,
}


def error_kind_for_status(status: int) -> str:
    """The canonical error kind that best describes an HTTP status."""
    for kind, kind_status in ERROR_STATUS.items():
        if kind_status == status:
            return kind
    if status == 422:
        return "invalid_request"
    return "invalid_request" if 400 <= status < 500 else "api_error"


class ProxyError(Exception):
    """An error with everything a frontend needs to render it in its own protocol."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "invalid_request",
        status: int | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status if status is not None else ERROR_STATUS.get(kind, 500)
        self.param = param
        self.retry_after = retry_after
        self.code = code
        self.upstream: UpstreamError | None = None  # the provider's own answer, when it came from one

    def __repr__(self) -> str:
        return f"ProxyError({self.status}, {self.kind}, {self.message!r})"


def internal_error() -> ProxyError:
    """What a client gets for a bug of the proxy's: a 500 in its protocol, without the details (logged,
    never sent: an exception's text may hold anything)."""
    return ProxyError("internal proxy error", kind="api_error")


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """A provider's error answer as it came: a client of the same protocol gets it unmodified (its
    SDK and agents recover by the provider's exact wording, ids and retry headers)."""

    protocol: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
