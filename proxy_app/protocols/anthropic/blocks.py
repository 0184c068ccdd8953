"""Content blocks as requests and responses both carry them: one block -> one canonical part, and a
tool call's JSON arguments -> the ``input`` object of a ``tool_use`` block."""

from __future__ import annotations

from typing import Any

import orjson

from proxy_app.core import canonical as c
from proxy_app.protocols.anthropic.types import NAME
from proxy_app.protocols.common import require_str


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def unmodelled(block: dict[str, Any], known: tuple[str, ...]) -> c.Extra:
    """The fields of ``block`` the canonical part has no place for, kept in its ``extra``."""
    return {k: v for k, v in block.items() if k not in known} or None


def _image_to_part(block: dict[str, Any], where: str) -> c.ImagePart | c.RawPart:
    source = block.get("source")
    if not isinstance(source, dict):
        raise c.ProxyError(f"'{where}.source' must be an object", param=f"{where}.source")
    extra = unmodelled(block, ("type", "source"))
    kind = source.get("type")
    if kind == "base64":
        data = source.get("data")
        if not isinstance(data, str):
            raise c.ProxyError(f"'{where}.source.data' is required", param=f"{where}.source.data")
        media_type = source.get("media_type")
        if not isinstance(media_type, str):
            raise c.ProxyError(f"'{where}.source.media_type' is required", param=f"{where}.source.media_type")
        return c.ImagePart(data=data, media_type=media_type, extra=extra)
    if kind == "url":
        url = source.get("url")
        if not isinstance(url, str):
            raise c.ProxyError(f"'{where}.source.url' is required", param=f"{where}.source.url")
        return c.ImagePart(url=url, extra=extra)
    if isinstance(kind, str):  # e.g. {"type": "file", "file_id": ...}: only Anthropic can resolve it
        return c.RawPart(NAME, block)
    raise c.ProxyError(f"'{where}.source.type' must be base64, url or file", param=f"{where}.source.type")


def block_to_part(block: Any, where: str) -> c.Part:
    """One content block of a user/assistant message (tool_result is handled by the caller)."""
    if not isinstance(block, dict):
        raise c.ProxyError(f"'{where}' must be an object", param=where)
    kind = block.get("type")
    if kind == "text":
        return c.TextPart(require_str(block, "text", where), extra=unmodelled(block, ("type", "text")))
    if kind == "image":
        return _image_to_part(block, where)
    if kind == "tool_use":
        call_id = require_str(block, "id", where)
        name = require_str(block, "name", where)
        args = block.get("input", {})
        if not isinstance(args, dict):
            raise c.ProxyError(f"'{where}.input' must be an object", param=f"{where}.input")
        return c.ToolCallPart(call_id, name, json_text(args), extra=unmodelled(block, ("type", "id", "name", "input")))
    if kind == "thinking":
        signature = block.get("signature")
        return c.ThinkingPart(
            require_str(block, "thinking", where),
            signature=signature,
            extra=unmodelled(block, ("type", "thinking", "signature")),
            origin=NAME if signature else None,
        )
    if kind == "redacted_thinking":
        return c.ThinkingPart("", redacted_data=require_str(block, "data", where),
                              extra=unmodelled(block, ("type", "data")), origin=NAME)
    if not isinstance(kind, str):
        raise c.ProxyError(f"'{where}.type' is required", param=f"{where}.type")
    return c.RawPart(NAME, block)  # document, search_result, server tool blocks, …


def tool_input(arguments: str, where: str) -> dict[str, Any]:
    """A tool call's arguments as the JSON object ``tool_use.input`` must be; raises naming ``where``."""
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise c.ProxyError(f"'{where}.input' must be a JSON object (tool call arguments were {arguments[:80]!r})",
                           param=f"{where}.input")
    return value
