"""Codex's namespace tools on backends that know no namespaces.

A ``namespace`` tool groups client-run functions (Codex's ``multi_agent_v1``, an MCP server's
tools). Every backend takes its members as plain functions under reversible flat names
(``namespace__name``); a call to one goes back to the client as ``name`` + ``namespace``, the two
fields Codex resolves a call by.
"""

from __future__ import annotations

from typing import Any

NAMESPACE_SEPARATOR = "__"


def flat_name(namespace: str, name: str) -> str:
    """A namespaced function's name for backends that know no namespaces."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


def namespaced(name: str, echo: dict[str, Any] | None) -> tuple[str, str | None]:
    """A call's ``(name, namespace)`` for the client: a flat name of one of the request's namespace
    tools (``echo``: the request fields a response repeats) is split back."""
    if NAMESPACE_SEPARATOR in name:
        for tool in (echo or {}).get("tools") or []:
            if isinstance(tool, dict) and tool.get("type") == "namespace" and isinstance(tool.get("name"), str):
                prefix = tool["name"] + NAMESPACE_SEPARATOR
                if name.startswith(prefix):
                    return name[len(prefix):], tool["name"]
    return name, None
