"""A canonical request as the body sent to an OpenAI-compatible backend: messages (a foreign client's
thinking as ``reasoning_content``, its tool results' images after them), the modelled fields, and
an OpenAI client's own other fields as it sent them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import WEB_SEARCH, to_data_url, web_search_note
from proxy_app.protocols.openai_chat.extras import JSON_SCHEMA_DESCRIPTION, MAX_TOKENS_FIELD, NAME, NO_CONTENT
from proxy_app.protocols.openai_chat.types import (
    ChatCompletionRequest,
    ChatMessage,
    ChatTool,
    ContentPart,
    FunctionDefinition,
    ImageURL,
    JSONSchemaFormat,
    ResponseFormat,
    ToolCall,
    ToolChoiceOption,
)

# Request fields that mean the same in OpenAI's Responses and Chat Completions APIs.
_SHARED_WITH_RESPONSES = ("prompt_cache_key", "store", "safety_identifier", "service_tier")

# Thinking budgets (Anthropic ``budget_tokens``, Gemini ``thinkingBudget``) as OpenAI effort levels:
# the level whose typical budget is nearest on a log scale (1024 / 8192 / 24576 tokens).
_EFFORT_BUDGET_LIMITS = ((2896, "low"), (14189, "medium"))


def _parts_to_content(parts: Sequence[c.Part]) -> str | list[ContentPart] | None:
    if not parts:
        return None
    if len(parts) == 1 and isinstance(parts[0], c.TextPart):
        return parts[0].text
    out: list[ContentPart] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, c.ImagePart):
            image: ImageURL = {"url": p.url or to_data_url(p.media_type, p.data)}
            if p.detail:
                image["detail"] = p.detail
            out.append({"type": "image_url", "image_url": image})
        elif isinstance(p, c.RawPart) and p.protocol == NAME:
            out.append(p.data)
    return out


def _tool_messages(msg: c.Message) -> list[ChatMessage]:
    """A canonical tool turn as one tool message per result. A tool message takes text only: images
    (an Anthropic client's screenshot) follow the results in a user message, as OpenAI's vision guide
    shows images."""
    out: list[ChatMessage] = []
    images: list[c.ImagePart] = []
    for part in msg.parts:
        if isinstance(part, c.ToolResultPart):
            texts = [p for p in part.content if not isinstance(p, c.ImagePart)]
            images += [p for p in part.content if isinstance(p, c.ImagePart)]
            out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": _parts_to_content(texts) or ""})
    if images:
        out.append({"role": "user", "content": _parts_to_content(images)})
    return out


def tool_call_from_canonical(part: c.ToolCallPart) -> ToolCall:
    return {"id": part.id, "type": "function", "function": {"name": part.name, "arguments": part.arguments}}


def _message_from_canonical(msg: c.Message, same_protocol: bool) -> list[ChatMessage]:
    if msg.role == "tool":
        return _tool_messages(msg)
    if msg.role == "system" and not same_protocol and not msg.text():
        return []  # e.g. an Anthropic system turn that only carried per-turn settings
    wire: ChatMessage = {"role": msg.role}
    if msg.role == "system" and same_protocol and msg.extra and msg.extra.get("role") == "developer":
        wire["role"] = "developer"
    wire["content"] = _parts_to_content([p for p in msg.parts if isinstance(p, (c.TextPart, c.ImagePart, c.RawPart))])
    if msg.role == "assistant":
        calls = [tool_call_from_canonical(p) for p in msg.parts if isinstance(p, c.ToolCallPart)]
        if calls:
            wire["tool_calls"] = calls
        thinking = "".join(p.text for p in msg.parts if isinstance(p, c.ThinkingPart))
        if thinking:
            wire["reasoning_content"] = thinking
    elif wire["content"] is None:
        wire["content"] = ""
    if msg.name:
        wire["name"] = msg.name
    if same_protocol and msg.role == "assistant" and msg.extra:
        if "audio" in msg.extra:
            wire["audio"] = msg.extra["audio"]
        if "refusal" in msg.extra:
            wire["refusal"] = msg.extra["refusal"]
        if msg.extra.get(NO_CONTENT) and wire["content"] is None:
            del wire["content"]
    return [wire]


def reasoning_effort_out(reasoning: c.Reasoning | None) -> str | None:
    """``reasoning_effort`` for a canonical reasoning request; budgets-only requests map to a level."""
    if reasoning is None or not reasoning.enabled:
        return None
    if reasoning.effort:
        return reasoning.effort
    if reasoning.budget_tokens is None:
        # no size given (Codex's summary:"auto", Gemini's includeThoughts): showing thoughts is not
        # choosing an effort, so the model's own default stands
        return None
    for limit, level in _EFFORT_BUDGET_LIMITS:
        if reasoning.budget_tokens < limit:
            return level
    return "high"


def _tool_from_canonical(tool: c.Tool, same_protocol: bool) -> ChatTool:
    fn: FunctionDefinition = {"name": tool.name}
    if tool.description is not None:
        fn["description"] = tool.description
    if tool.parameters is not None:
        fn["parameters"] = tool.parameters
    passthrough = tool.extra if same_protocol and tool.extra else {}  # ``strict`` and any newer field
    return {"type": "function", "function": {**fn, **passthrough}}


def _tool_choice_from_canonical(choice: c.ToolChoice) -> ToolChoiceOption:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _response_format_from_canonical(rf: c.ResponseFormat, description: Any) -> ResponseFormat:
    """``description`` is the client's own ``json_schema.description`` (OpenAI clients only)."""
    if rf.type != "json_schema":
        return {"type": rf.type}
    spec: JSONSchemaFormat = {"name": rf.name or "response"}
    if isinstance(description, str):
        spec["description"] = description
    spec["schema"] = rf.schema or {}
    if rf.strict is not None:
        spec["strict"] = rf.strict
    return {"type": "json_schema", "json_schema": spec}


def _passthrough(req: c.ChatRequest, same_protocol: bool) -> dict[str, Any]:
    """The client's fields this translator does not model, as far as Chat Completions takes them."""
    if same_protocol:
        return req.extra
    if req.source_protocol == "openai_responses":
        # the Responses fields Chat Completions takes as they are (Codex's cache identity, its no-store)
        return {k: req.extra[k] for k in _SHARED_WITH_RESPONSES if k in req.extra}
    return {}


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the OpenAI wire request for ``req`` (``req.model`` is the upstream model name): the
    modelled fields, then the client's own others when it spoke this protocol."""
    same = req.source_protocol == NAME
    messages = web_search_note(req.messages) if req.meta.get(WEB_SEARCH) and not same else req.messages
    body: ChatCompletionRequest = {
        "model": req.model, "messages": [wire for msg in messages for wire in _message_from_canonical(msg, same)],
    }
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if req.max_tokens is not None:
        if same and req.meta.get(MAX_TOKENS_FIELD) == "max_completion_tokens":
            body["max_completion_tokens"] = req.max_tokens
        else:
            body["max_tokens"] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.seed is not None:
        body["seed"] = req.seed
    if req.user is not None:
        body["user"] = req.user
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    if same and req.top_k is not None:
        body["top_k"] = req.top_k
    if req.stop:
        body["stop"] = req.stop
    if req.tools is not None:
        body["tools"] = [_tool_from_canonical(tool, same) for tool in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = _tool_choice_from_canonical(req.tool_choice)
    if req.response_format is not None:
        description = req.meta.get(JSON_SCHEMA_DESCRIPTION) if same else None
        body["response_format"] = _response_format_from_canonical(req.response_format, description)
    effort = reasoning_effort_out(req.reasoning)
    if effort is not None:
        body["reasoning_effort"] = effort
    if same and req.metadata is not None:
        body["metadata"] = req.metadata
    return {**body, **_passthrough(req, same)}
