"""The Gemini API's wire shapes, as this package writes them (camelCase, like the REST API's JSON).

Only the fields the translators read or write are named. Every object may carry more: whatever a
Gemini client sent that the canonical model cannot express is written back on the same-protocol
path (``wire.with_fields``, ``parts.merge_extra``), so the shapes are ``total=False``.

``WireProtocol`` promises plain dicts and a TypedDict is a ``Mapping``, not a ``dict``: the
converters the contract names build these shapes and hand back a plain (shallow) copy.

Decoders read untrusted JSON: they camel-case its keys, cast it to these shapes where they index
known fields, and still check every value's type before using it.
"""

from __future__ import annotations

from typing import Any, Required, TypedDict

JsonObject = dict[str, Any]


class Blob(TypedDict, total=False):
    """``inlineData``: base64 bytes with their media type."""

    mimeType: str
    data: str


class FileData(TypedDict, total=False):
    """``fileData``: a file uploaded through the Files API (or a URL), by URI."""

    mimeType: str
    fileUri: str


class FunctionCall(TypedDict, total=False):
    id: str
    name: str
    args: JsonObject


class FunctionResponse(TypedDict, total=False):
    id: str
    name: str
    response: JsonObject
    parts: list[Part]  # multimodal results (images)


class Part(TypedDict, total=False):
    text: str
    thought: bool
    thoughtSignature: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse


class Content(TypedDict, total=False):
    role: str
    parts: list[Part]


class FunctionDeclaration(TypedDict, total=False):
    name: str
    description: str
    parameters: JsonObject  # Gemini's OpenAPI-style Schema (see ``schema``)
    parametersJsonSchema: JsonObject  # plain JSON Schema


class Tool(TypedDict, total=False):
    functionDeclarations: list[FunctionDeclaration]


class FunctionCallingConfig(TypedDict, total=False):
    mode: str  # AUTO | ANY | NONE | VALIDATED
    allowedFunctionNames: list[str]


class ToolConfig(TypedDict, total=False):
    functionCallingConfig: FunctionCallingConfig


class ThinkingConfig(TypedDict, total=False):
    thinkingBudget: int  # Gemini 2.x
    thinkingLevel: str  # Gemini 3
    includeThoughts: bool


class GenerationConfig(TypedDict, total=False):
    temperature: float
    topP: float
    topK: int
    maxOutputTokens: int
    stopSequences: list[str]
    seed: int
    responseMimeType: str
    responseSchema: JsonObject
    responseJsonSchema: JsonObject
    thinkingConfig: ThinkingConfig


class GenerateContentRequest(TypedDict, total=False):
    """The ``generateContent`` / ``streamGenerateContent`` body (the model and the stream flag are in the URL)."""

    contents: Required[list[Content]]
    systemInstruction: Content
    tools: list[Tool]
    toolConfig: ToolConfig
    generationConfig: GenerationConfig


class UsageMetadata(TypedDict, total=False):
    promptTokenCount: int
    candidatesTokenCount: int  # excludes thoughts
    totalTokenCount: int
    cachedContentTokenCount: int
    thoughtsTokenCount: int


class Candidate(TypedDict, total=False):
    content: Content
    finishReason: str
    index: int


class PromptFeedback(TypedDict, total=False):
    blockReason: str


class GenerateContentResponse(TypedDict, total=False):
    """A ``generateContent`` answer; each chunk of a stream has the same shape."""

    candidates: list[Candidate]
    promptFeedback: PromptFeedback
    usageMetadata: UsageMetadata
    modelVersion: str
    responseId: str


StreamChunk = GenerateContentResponse


class Status(TypedDict, total=False):
    """A ``google.rpc.Status``."""

    code: Required[int]
    message: Required[str]
    status: Required[str]
    details: list[JsonObject]  # typed by their "@type" (RetryInfo, BadRequest, ErrorInfo, …)


class ErrorBody(TypedDict):
    error: Status
