"""A canonical request as a Responses API request body: messages as ``input`` items (assistant turns
as output messages, reasoning and function calls; tool results as function_call_output), and the
request fields. An OpenAI client's own item fields and request fields come back as they were sent."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c
from proxy_app.protocols.common import to_data_url
from proxy_app.protocols.openai_chat.request_out import reasoning_effort_out
from proxy_app.protocols.openai_responses.extras import (
    LIST,
    META_BUILTIN_TOOLS,
    META_INPUT_STRING,
    META_REASONING,
    META_TEXT,
    META_TOOL_CHOICE,
    NAME,
    STRING,
    own,
)
from proxy_app.protocols.openai_responses.types import InputItem, ResponseCreateRequest


def _image_out(part: c.ImagePart, same: bool) -> InputItem:
    image: InputItem = {"type": "input_image", "image_url": part.url or to_data_url(part.media_type, part.data)}
    if part.detail or not same:
        image["detail"] = part.detail or "auto"
    return image


def _content_out(parts: list[c.Part], same: bool) -> list[InputItem]:
    out: list[InputItem] = []
    for p in parts:
        if isinstance(p, c.TextPart):
            out.append({"type": "input_text", "text": p.text, **(own(p.extra) if same else {})})
        elif isinstance(p, c.ImagePart):
            out.append(_image_out(p, same))
        elif isinstance(p, c.RawPart) and p.protocol == NAME and same:
            out.append(p.data)
    return out


def _message_out(role: str, msg: c.Message, same: bool) -> InputItem:
    x = own(msg.extra) if same else {}
    content: str | list[InputItem] = _content_out(msg.parts, same)
    if x.get(STRING) and len(msg.parts) == 1 and isinstance(msg.parts[0], c.TextPart):
        content = msg.parts[0].text
    item = {"role": role, "content": content, **{k: v for k, v in x.items() if k != STRING}}
    if not same:
        item = {"type": "message", **item}
    return item


def _assistant_out(msg: c.Message, same: bool) -> list[InputItem]:
    items: list[InputItem] = []
    message: InputItem | None = None
    as_string = False

    def finish() -> None:
        if message is not None and as_string and len(message["content"]) == 1:
            message["content"] = message["content"][0]["text"]

    for part in msg.parts:
        if isinstance(part, c.TextPart):
            x = own(part.extra) if same else {}
            item_x = x.get("item") or {}
            if message is None or (item_x.get("id") and message.get("id") != item_x.get("id")):
                finish()
                fields = {k: v for k, v in item_x.items() if k != STRING}
                message = {"role": "assistant", "content": [], **fields} if same else {
                    "type": "message", "role": "assistant", "content": []}
                as_string = bool(item_x.get(STRING))
                items.append(message)
            content: InputItem = {"type": "output_text", "text": part.text}
            if not same:
                content["annotations"] = []
            content.update({k: v for k, v in x.items() if k != "item"})
            message["content"].append(content)
            continue
        finish()
        message = None
        if isinstance(part, c.ThinkingPart):
            # reasoning replays only to OpenAI itself (by id or encrypted_content); other thinking is dropped
            if same and own(part.extra):
                items.append(_reasoning_item_out(part))
        elif isinstance(part, c.ToolCallPart):
            call = {"type": "function_call", "call_id": part.id, "name": part.name, "arguments": part.arguments}
            if same:
                call.update(own(part.extra))
            items.append(call)
        elif isinstance(part, c.RawPart) and part.protocol == NAME and same:
            items.append(part.data)
    finish()
    return items


def _reasoning_item_out(part: c.ThinkingPart) -> InputItem:
    x = own(part.extra)
    item: InputItem = {"type": "reasoning", **x}
    summary = x.get("summary")
    joined = "\n\n".join(s.get("text", "") for s in summary if isinstance(s, dict)) if isinstance(summary, list) else None
    if joined != part.text and not (joined is None and x.get("content")):
        item["summary"] = [{"type": "summary_text", "text": part.text}] if part.text else []
    return item


def _tool_result_out(part: c.ToolResultPart, same: bool) -> InputItem:
    x = own(part.extra) if same else {}
    texts = all(isinstance(p, c.TextPart) for p in part.content)
    output: str | list[InputItem]
    if texts and not x.get(LIST):
        output = "".join(p.text for p in part.content if isinstance(p, c.TextPart))
        if part.is_error and not same:
            output = f"Error: {output}"  # the Responses API has no error flag on function output
    else:
        output = _content_out(list(part.content), same)
    result: InputItem = {"type": "function_call_output", "call_id": part.tool_call_id, "output": output}
    result.update({k: v for k, v in x.items() if k != LIST})
    return result


def _input_out(req: c.ChatRequest, same: bool) -> tuple[str | list[InputItem], str | list[InputItem] | None]:
    """The ``input`` (items, or the client's plain string) and the ``instructions`` of an OpenAI client."""
    items: list[InputItem] = []
    instructions: str | list[InputItem] | None = None
    messages = list(req.messages)
    first = messages[0] if messages else None
    if same and first is not None and first.role == "system" and first.extra and first.extra.get("instructions"):
        messages.pop(0)
        only_text = len(first.parts) == 1 and isinstance(first.parts[0], c.TextPart)
        instructions = first.text() if only_text else _content_out(first.parts, same)
    if (same and req.meta.get(META_INPUT_STRING) and len(messages) == 1 and messages[0].role == "user"
            and len(messages[0].parts) == 1 and isinstance(messages[0].parts[0], c.TextPart)):
        return messages[0].parts[0].text, instructions
    for msg in messages:
        if msg.role == "system":
            developer = same and msg.extra is not None and msg.extra.get("role") == "developer"
            items.append(_message_out("developer" if developer else "system", msg, same))
        elif msg.role == "user":
            items.append(_message_out("user", msg, same))
        elif msg.role == "assistant":
            items.extend(_assistant_out(msg, same))
        elif msg.role == "tool":
            items.extend(_tool_result_out(p, same) for p in msg.parts if isinstance(p, c.ToolResultPart))
    return items, instructions


def _effort_out(reasoning: c.Reasoning | None) -> str | None:
    """``reasoning.effort`` for a canonical reasoning request: as for Chat Completions (budgets map
    to a level), except that reasoning turned off is said as ``none``."""
    if reasoning is None:
        return None
    if not reasoning.enabled:
        return "none"
    return reasoning_effort_out(reasoning)


def _reasoning_out(req: c.ChatRequest, same: bool) -> dict[str, Any] | None:
    raw = req.meta.get(META_REASONING) if same else None
    if isinstance(raw, dict):
        reasoning = dict(raw)
        if req.reasoning is not None and req.reasoning.effort:
            reasoning["effort"] = req.reasoning.effort  # a guard may have normalised it
        return reasoning
    effort = _effort_out(req.reasoning)
    if effort is not None:
        reasoning = {"effort": effort}
        if req.reasoning is not None and req.reasoning.include_thoughts and effort != "none":
            reasoning["summary"] = "auto"
        return reasoning
    if req.reasoning is not None and req.reasoning.include_thoughts:
        return {"summary": "auto"}  # "show me the thoughts" alone does not choose how hard to think
    return None


def _text_out(req: c.ChatRequest, same: bool) -> dict[str, Any] | None:
    raw = req.meta.get(META_TEXT) if same else None
    text: dict[str, Any] = {k: v for k, v in raw.items() if k != "format"} if isinstance(raw, dict) else {}
    rf = req.response_format
    if rf is not None:
        fmt: dict[str, Any] = {"type": rf.type}
        if rf.type == "json_schema":
            fmt.update({"name": rf.name or "response", "schema": rf.schema or {}})
            if rf.strict is not None:
                fmt["strict"] = rf.strict
            raw_fmt = raw.get("format") if isinstance(raw, dict) else None
            if isinstance(raw_fmt, dict) and raw_fmt.get("description") is not None:
                fmt["description"] = raw_fmt["description"]
        text["format"] = fmt
    return text or None


def _tool_out(tool: c.Tool, same: bool) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description is not None:
        wire["description"] = tool.description
    if same:
        if tool.parameters is not None:
            wire["parameters"] = tool.parameters
        wire.update(tool.extra or {})
    else:
        wire["parameters"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
        wire["strict"] = False  # Responses function tools default to strict schemas; canonical ones are not
    return wire


def _tool_choice_out(req: c.ChatRequest, same: bool) -> Any:
    raw_choice = req.meta.get(META_TOOL_CHOICE) if same else None
    if raw_choice is not None:
        return raw_choice
    tc = req.tool_choice
    if tc is None:
        return None
    return {"type": "function", "name": tc.name} if tc.mode == "tool" else tc.mode


def request_from_canonical(req: c.ChatRequest) -> dict[str, Any]:
    """Build the Responses API request for ``req`` (``req.model`` is the upstream model name): the
    modelled fields, then the client's own others when it spoke this protocol."""
    same = req.source_protocol == NAME
    items, instructions = _input_out(req, same)
    body: ResponseCreateRequest = {"model": req.model, "input": items}
    if instructions is not None:
        body["instructions"] = instructions
    if req.stream:
        body["stream"] = True
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.user is not None:
        body["user"] = req.user
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    tools = [_tool_out(tool, same) for tool in req.tools or []]
    if same:
        tools.extend(req.meta.get(META_BUILTIN_TOOLS) or [])
    if tools or req.tools is not None:
        body["tools"] = tools
    if (tool_choice := _tool_choice_out(req, same)) is not None:
        body["tool_choice"] = tool_choice
    if text := _text_out(req, same):
        body["text"] = text
    if (reasoning := _reasoning_out(req, same)) is not None:
        body["reasoning"] = reasoning
    if same and req.metadata is not None:
        body["metadata"] = req.metadata
    return {**body, **(req.extra if same else {})}
