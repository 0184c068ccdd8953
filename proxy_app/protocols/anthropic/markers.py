"""Markers the request decoder leaves in canonical ``extra`` so that a request from an Anthropic client
re-encodes exactly as it came. They are never emitted: ``wire_extra`` drops them."""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c

# Content arrived as a one-element block list rather than the string shorthand: re-encoding keeps the list.
BLOCKS = "__anthropic_blocks__"
# On a user message that shared its Anthropic message with the tool results before it.
JOINED = "__anthropic_joined__"
# On a system message that came inside ``messages`` (a mid-conversation system message).
IN_MESSAGES = "__anthropic_in_messages__"
_MARKERS = (BLOCKS, JOINED, IN_MESSAGES)


def wire_extra(extra: c.Extra) -> dict[str, Any]:
    """The fields of ``extra`` to send back to Anthropic: all but the markers."""
    return {k: v for k, v in (extra or {}).items() if k not in _MARKERS}
