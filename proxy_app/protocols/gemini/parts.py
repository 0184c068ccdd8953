"""One content part, Gemini <-> canonical: text, thoughts, images, function calls and their responses.

Requests, responses and stream chunks all carry parts, so their translators share these.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from proxy_app.core import canonical as c
from proxy_app.protocols.common import parse_data_url
from proxy_app.protocols.gemini.call_ids import CallIds
from proxy_app.protocols.gemini.json_text import args_object, dumps, json_object
from proxy_app.protocols.gemini.types import FileData, FunctionResponse, JsonObject, Part
from proxy_app.protocols.gemini.wire import NAME, camel_keys, without

ExtraMode = Literal["all", "wire", "none"]
"""How much of a part's ``extra`` goes back on the wire: ``all`` (the request came from a Gemini
client), ``wire`` (Gemini part fields only: the encoder cannot tell which protocol the extra came
from, as for responses and stream events), ``none`` (another protocol's request)."""

# Part fields of the Gemini wire format: all that ``wire`` mode writes back.
_PART_FIELDS = frozenset(
    {
        "text", "thought", "thoughtSignature", "inlineData", "fileData", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult", "videoMetadata", "mediaResolution", "partMetadata",
    }
)
# Marker (in a ThinkingPart's same-protocol extra) on a signature-only part that came without ``thought``.
_NOT_A_THOUGHT = "__gemini_not_a_thought__"
_IMAGE_EXTENSIONS = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "heic": "image/heic", "heif": "image/heif",
}


def merge_extra(wire: Part, extra: c.Extra, mode: ExtraMode) -> Part:
    """Write a part's ``extra`` back onto ``wire`` (in place), as much of it as ``mode`` says."""
    if not extra or mode == "none":
        return wire
    fields = cast(dict[str, Any], wire)  # the extra's keys are the client's, not the typed shape's
    for key, value in extra.items():
        if mode == "wire" and key not in _PART_FIELDS:
            continue
        if isinstance(value, dict) and isinstance(fields.get(key), dict):
            fields[key] = {**fields[key], **value}
        else:
            fields[key] = value
    return wire


def part_in(raw: Any, where: str, ids: CallIds, *, model_turn: bool) -> c.Part:
    """A part of untrusted JSON as a canonical part; raises ``ProxyError`` naming the field (``where``).

    Function calls count in model turns only and function responses in the others; anything Gemini
    has that the canonical model has not (documents, code execution, …) stays a ``RawPart``.
    """
    if not isinstance(raw, dict):
        raise c.ProxyError(f"'{where}' must be an object", param=where)
    part = camel_keys(raw)
    if "text" in part:
        text = part["text"]
        if not isinstance(text, str):
            raise c.ProxyError(f"'{where}.text' must be a string", param=f"{where}.text")
        if part.get("thought") is True or (not text and part.get("thoughtSignature")):
            # a thought, or a signature-only part (how a stream's signature can arrive): reasoning state
            rest = without(part, "text", "thought", "thoughtSignature")
            if part.get("thought") is not True:
                rest[_NOT_A_THOUGHT] = True
            signature = part.get("thoughtSignature")
            return c.ThinkingPart(text, signature=signature, extra=rest or None, origin=NAME if signature else None)
        return c.TextPart(text, extra=without(part, "text") or None)
    for key, uri_key in (("inlineData", "data"), ("fileData", "fileUri")):
        if key in part:
            blob = part[key]
            if not isinstance(blob, dict) or not isinstance(camel_keys(blob).get(uri_key), str):
                raise c.ProxyError(f"'{where}.{key}.{uri_key}' is required", param=f"{where}.{key}.{uri_key}")
            blob = camel_keys(blob)
            mime = blob.get("mimeType")
            if not (isinstance(mime, str) and mime.startswith("image/")):
                return c.RawPart(NAME, {**part, key: blob})
            extra = without(part, key)
            if len(blob) > 2:
                extra[key] = without(blob, "mimeType", uri_key)
            if key == "inlineData":
                return c.ImagePart(data=blob["data"], media_type=mime, extra=extra or None)
            return c.ImagePart(url=blob["fileUri"], media_type=mime, extra=extra or None)
    if "functionCall" in part and model_turn:
        call = part["functionCall"]
        call = camel_keys(call) if isinstance(call, dict) else call
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
            raise c.ProxyError(f"'{where}.functionCall.name' is required", param=f"{where}.functionCall.name")
        args = call.get("args", {})
        if not isinstance(args, dict):
            raise c.ProxyError(f"'{where}.functionCall.args' must be an object", param=f"{where}.functionCall.args")
        extra = without(part, "functionCall")
        if without(call, "name", "args"):
            extra["functionCall"] = without(call, "name", "args")  # keeps the wire id, if any
        return c.ToolCallPart(ids.call(call["name"], call.get("id")), call["name"], dumps(args), extra=extra or None)
    if "functionResponse" in part and not model_turn:
        return _function_response_in(part, where, ids)
    if not part:
        raise c.ProxyError(f"'{where}' must hold text, inlineData, fileData, functionCall or functionResponse",
                           param=where)
    return c.RawPart(NAME, part)


def _function_response_in(part: dict[str, Any], where: str, ids: CallIds) -> c.ToolResultPart:
    resp = part["functionResponse"]
    resp = camel_keys(resp) if isinstance(resp, dict) else resp
    if not isinstance(resp, dict) or not isinstance(resp.get("name"), str) or not resp["name"]:
        raise c.ProxyError(f"'{where}.functionResponse.name' is required", param=f"{where}.functionResponse.name")
    body = resp.get("response", {})
    if not isinstance(body, dict):
        raise c.ProxyError(
            f"'{where}.functionResponse.response' must be an object", param=f"{where}.functionResponse.response"
        )
    is_error = False
    text = None
    if len(body) == 1 and ("result" in body or "error" in body):
        (key, value), = body.items()
        if isinstance(value, str) and json_object(value) is None:
            text, is_error = value, key == "error"
        elif key == "error" and isinstance(value, dict):
            text, is_error = dumps(value), True
    if text is None:
        text = dumps(body)
    content: list[c.TextPart | c.ImagePart] = [c.TextPart(text)]
    sub = without(resp, "name", "response")
    images = []
    given = resp.get("parts")
    wire_parts: list[Any] = given if isinstance(given, list) else []
    for j, raw in enumerate(wire_parts):
        image = part_in(raw, f"{where}.functionResponse.parts[{j}]", ids, model_turn=False)
        if isinstance(image, c.ImagePart):
            images.append(image)
    if images and len(images) == len(wire_parts):
        content.extend(images)
        sub.pop("parts")
    extra = without(part, "functionResponse")
    if sub:
        extra["functionResponse"] = sub  # keeps the wire id, if any
    call_id = ids.response(resp["name"], resp.get("id"))
    return c.ToolResultPart(call_id, content, name=resp["name"], is_error=is_error, extra=extra or None)



def _result_response(part: c.ToolResultPart) -> JsonObject:
    """A tool result as ``functionResponse.response``, which must be an object."""
    text = "".join(p.text for p in part.content if isinstance(p, c.TextPart))
    obj = json_object(text)
    if part.is_error:
        return {"error": obj if obj is not None else text}
    return obj if obj is not None else {"result": text}


def _image_out(part: c.ImagePart, mode: ExtraMode) -> Part:
    wire: Part
    if part.data is not None:
        wire = {"inlineData": {"mimeType": part.media_type or "application/octet-stream", "data": part.data}}
    else:
        inline = parse_data_url(part.url or "")
        if inline:
            wire = {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
        else:
            file: FileData = {"fileUri": part.url or ""}
            mime = part.media_type
            if mime is None and mode != "all":
                ext = (part.url or "").split("?")[0].rsplit(".", 1)[-1].lower()
                mime = _IMAGE_EXTENSIONS.get(ext, "image/jpeg")
            if mime is not None:
                file = {"mimeType": mime, **file}
            wire = {"fileData": file}
    return merge_extra(wire, part.extra, mode)


def part_out(part: c.Part, mode: ExtraMode, names: dict[str, str]) -> Part | None:
    """One canonical part as a Gemini part (None: Gemini takes no such part); ``names`` maps call ids to
    function names, which a tool result needs and only some protocols' results carry."""
    if isinstance(part, c.TextPart):
        if not part.text and mode == "none" and not part.extra:
            return None  # the API rejects empty text parts
        return merge_extra({"text": part.text}, part.extra, mode)
    if isinstance(part, c.ImagePart):
        return _image_out(part, mode)
    if isinstance(part, c.ToolCallPart):
        return merge_extra({"functionCall": {"name": part.name, "args": args_object(part.arguments)}}, part.extra, mode)
    if isinstance(part, c.ThinkingPart):
        if (mode == "none" and part.origin != NAME) or (not part.text and not part.signature):
            return None  # another provider's reasoning means nothing to Gemini
        if mode == "none" and not part.text:
            return None  # a call's signature: it goes back on the call (request_from_canonical)
        extra = dict(part.extra or {})
        wire: Part = {"text": part.text} if extra.pop(_NOT_A_THOUGHT, False) else {"text": part.text, "thought": True}
        if part.signature:
            wire["thoughtSignature"] = part.signature
        return merge_extra(wire, extra, mode)
    if isinstance(part, c.ToolResultPart):
        name = part.name or names.get(part.tool_call_id)
        if not name:
            raise c.ProxyError(
                f"tool result for call {part.tool_call_id!r} has no matching tool call "
                "(Gemini needs the function name)",
                param="messages",
            )
        response: FunctionResponse = {"name": name, "response": _result_response(part)}
        images = [_image_out(p, mode) for p in part.content if isinstance(p, c.ImagePart)]
        if images:
            response["parts"] = images
        return merge_extra({"functionResponse": response}, part.extra, mode)
    if isinstance(part, c.RawPart) and part.protocol == NAME:
        return cast(Part, part.data)  # a Gemini client's own part, kept verbatim by part_in
    return None
