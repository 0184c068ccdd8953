"""The protocol's name and what it keeps in canonical ``extra`` and ``meta``.

A Responses client's item ids, encrypted reasoning, annotations and the like live under ``X`` in a
part's ``extra``, so no other protocol's extras can be mistaken for them when a response is
rendered; request fields canonical has no place for live under the ``META_*`` keys of
``ChatRequest.meta``. The decoders write them; only this protocol's encoders read them back.
"""

from __future__ import annotations

from typing import Any

from proxy_app.core import canonical as c

NAME = "openai_responses"

# The key of this protocol's own extras in a part's (or message's) ``extra``.
X = NAME

# Markers kept in same-protocol extras (never emitted): content given as a string, tool output as a list.
STRING = "__string"
LIST = "__list"

# ``ChatRequest.meta`` keys.
META_ECHO = "openai_responses_echo"  # the request fields a Response object repeats back
META_BUILTIN_TOOLS = "openai_responses_builtin_tools"  # web_search & co: same-protocol only
META_TOOL_CHOICE = "openai_responses_tool_choice"  # a tool_choice canonical cannot express
META_REASONING = "openai_responses_reasoning"  # the raw ``reasoning`` object (summary, …)
META_TEXT = "openai_responses_text"  # the raw ``text`` object (verbosity, format description)
META_INPUT_STRING = "openai_responses_input_string"  # ``input`` was a plain string


def own(extra: c.Extra) -> dict[str, Any]:
    """This protocol's own extras of a part (empty for parts from other protocols)."""
    value = (extra or {}).get(X)
    return value if isinstance(value, dict) else {}


def with_own(values: dict[str, Any]) -> c.Extra:
    """An ``extra`` holding ``values`` (without the None ones) as this protocol's own."""
    kept = {k: v for k, v in values.items() if v is not None}
    return {X: kept} if kept else None
