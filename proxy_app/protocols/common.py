"""Small helpers shared by the protocol translators (validation, ids, data URLs)."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from proxy_app.core.canonical import Message, ProxyError, TextPart

_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[^,;]*)*;base64,(?P<data>.*)$", re.S)


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def pseudonymous_user(user: str) -> str:
    """A stable stand-in for a client's user identifier, for providers that should not see it."""
    return "user-" + hashlib.sha256(user.encode()).hexdigest()[:32]


def parse_data_url(url: str, param: str = "image_url") -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` -> ``("image/png", "AAAA")``; None for other URLs. ``param``
    names the field in the error for a data URL that is not base64."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.match(url)
    if not match:
        raise ProxyError(f"'{param}': image data URLs must be base64-encoded (data:<type>;base64,...)", param=param)
    return match.group("type") or "application/octet-stream", match.group("data")


def to_data_url(media_type: str | None, data: str | None) -> str:
    return f"data:{media_type or 'application/octet-stream'};base64,{data or ''}"


def require_str(obj: dict[str, Any], key: str, where: str = "") -> str:
    value = obj.get(key)
    name = f"{where}.{key}" if where else key
    if not isinstance(value, str) or (key == "model" and not value):
        raise ProxyError(f"'{name}' is required and must be a string", param=name)
    return value


def require_list(obj: dict[str, Any], key: str, *, allow_empty: bool = False) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ProxyError(f"'{key}' is required and must be a non-empty array", param=key)
    return value


def as_number(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProxyError(f"'{key}' must be a number", param=key)
    return value


def as_int(obj: dict[str, Any], key: str, *, minimum: int | None = None) -> int | None:
    """``obj[key]`` as an integer (None when absent); below ``minimum`` it is refused as the providers
    refuse it, before anything is sent upstream."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProxyError(f"'{key}' must be an integer", param=key)
    if minimum is not None and value < minimum:
        raise ProxyError(f"Invalid '{key}': integer below minimum value. Expected a value >= {minimum}, but got "
                         f"{value} instead.", param=key, code="integer_below_min_value")
    return value


def split_known(payload: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The fields of ``payload`` a translator does not model, kept for same-protocol passthrough."""
    return {k: v for k, v in payload.items() if k not in known}


# ``ChatRequest.meta`` key: the client offered its provider's built-in web search (Codex's
# ``web_search`` tool); each backend protocol maps it to its own search or says it has none.
WEB_SEARCH = "web_search"
WEB_SEARCH_UNAVAILABLE = (
    "Note from the gateway: the web_search tool is not available with this model. "
    "If answering needs a web search, say that it cannot be done here."
)


def web_search_note(messages: list[Message]) -> list[Message]:
    """``messages`` with the note that web search is unavailable, as a system message after the
    system prompt (the same text every request, so the cached prefix stays stable)."""
    leading = 0
    while leading < len(messages) and messages[leading].role == "system":
        leading += 1
    note = Message("system", [TextPart(WEB_SEARCH_UNAVAILABLE)])
    return [*messages[:leading], note, *messages[leading:]]
