"""The Responses API wire shapes, as OpenAI's API reference documents them.

The translators build their output from these types, so mypy checks field names and value types.
Input items, content parts and tools stay open objects (``dict[str, Any]``): a Responses client's
own fields on them (ids, statuses, annotations, built-in tools) pass through to an OpenAI backend
untouched. Objects an upstream sends have every field optional, as the decoders read them with
``.get``. A client's request is read as the untrusted JSON it is: ``request_in.py`` validates it
field by field.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

# An ``input`` item (message, function_call, function_call_output, reasoning, …) or a content part.
InputItem = dict[str, Any]

# ---------------------------------------------------------------- request


class ResponseCreateRequest(TypedDict, total=False):
    """``POST /v1/responses``: the fields the translator models (others pass through for OpenAI)."""

    model: Required[str]
    input: Required[str | list[InputItem]]
    instructions: str | list[InputItem]
    stream: bool
    max_output_tokens: int
    temperature: float
    top_p: float
    user: str
    parallel_tool_calls: bool
    tools: list[dict[str, Any]]  # function tools, and for an OpenAI client its built-in ones
    tool_choice: Any  # "auto" | "none" | "required" | {"type": "function", "name": ...} | a built-in's choice
    text: dict[str, Any]  # {"format": {...}, "verbosity": ...}
    reasoning: dict[str, Any]  # {"effort": ..., "summary": ...}
    metadata: dict[str, Any]


# ---------------------------------------------------------------- response


class OutputText(TypedDict):
    type: Literal["output_text"]
    text: str
    annotations: list[Any]
    logprobs: list[Any]


class Refusal(TypedDict):
    type: Literal["refusal"]
    refusal: str


class SummaryText(TypedDict):
    type: Literal["summary_text"]
    text: str


class OutputMessage(TypedDict):
    id: str
    type: Literal["message"]
    status: str
    role: Literal["assistant"]
    content: list[OutputText | Refusal]


class ReasoningItem(TypedDict):
    id: str
    type: Literal["reasoning"]
    summary: list[SummaryText]
    encrypted_content: NotRequired[str]


class FunctionCallItem(TypedDict):
    id: str
    type: Literal["function_call"]
    status: str
    arguments: str  # JSON text
    call_id: str
    name: str
    namespace: NotRequired[str]  # Codex's namespace tools: the call names the function and its namespace


# the three the translator writes, and any other (web_search_call, …) kept verbatim for OpenAI
OutputItem = OutputMessage | ReasoningItem | FunctionCallItem | dict[str, Any]


class InputTokensDetails(TypedDict, total=False):
    cached_tokens: int
    cache_write_tokens: int


class OutputTokensDetails(TypedDict, total=False):
    reasoning_tokens: int


class ResponseUsage(TypedDict, total=False):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(TypedDict):
    code: str
    message: str


class IncompleteDetails(TypedDict):
    reason: str


class Response(TypedDict, total=False):
    """A ``response`` object: the body of a non-streamed answer, and each stream snapshot of it."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "in_progress", "failed"]
    background: bool
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: Any
    max_output_tokens: int | None
    max_tool_calls: int | None
    model: str
    output: list[OutputItem]
    parallel_tool_calls: bool
    previous_response_id: str | None
    reasoning: dict[str, Any]
    service_tier: str
    store: bool
    temperature: float
    text: dict[str, Any]
    tool_choice: Any
    tools: list[dict[str, Any]]
    top_p: float
    truncation: str
    usage: ResponseUsage | None
    user: str | None
    metadata: dict[str, Any]
    prompt_cache_key: str
    safety_identifier: str
    top_logprobs: int


# ---------------------------------------------------------------- streaming


class ResponseStreamEvent(TypedDict, total=False):
    """One named SSE event of a stream (``response.created``, ``response.output_text.delta``, …,
    ``error``): every event has ``type`` and ``sequence_number``, and each kind some of the rest."""

    type: str
    sequence_number: int
    response: Response  # response.created / in_progress / completed / incomplete / failed
    output_index: int
    item: OutputItem  # response.output_item.added / done
    item_id: str
    content_index: int
    summary_index: int
    part: OutputText | SummaryText  # response.content_part.* / reasoning_summary_part.*
    delta: str
    text: str  # response.output_text.done / reasoning_summary_text.done
    arguments: str  # response.function_call_arguments.done
    logprobs: list[Any]
    # the ``error`` event
    code: str | None
    message: str
    param: str | None
