"""What the user typed in a turn, told apart from what their client added to the same turn.

Agentic clients put their own context beside the user's words: Claude Code ``<system-reminder>``
blocks, Gemini CLI's ``<session_context>``, Codex's ``<environment_context>`` and AGENTS.md
``<INSTRUCTIONS>``. Commands are read only from the typed text, and a turn whose typed text is
only commands is a command turn whatever the client added.
"""

from __future__ import annotations

import re

_CLIENT_TAGS = (
    "system-reminder", "session_context", "environment_context", "user_instructions", "INSTRUCTIONS",
    "skills_instructions", "permissions instructions", "user_shell_command", "turn_aborted",
    # Claude Code: the wrapper of a custom slash command (its expansion follows it) and bash mode
    "command-message", "command-name", "command-args", "bash-input", "bash-stdout", "bash-stderr",
    "local-command-stdout",
)
_CLIENT_BLOCK = re.compile(
    r"(?:# AGENTS\.md instructions for [^\n]*\n\s*)?<(" + "|".join(re.escape(t) for t in _CLIENT_TAGS) + r")>.*?</\1>"
    # Gemini CLI: what its shell mode ran, attached to the next prompt as a part of its own
    r"|\AI ran the following shell command:\n.*\Z",
    re.S,
)


def split_typed(text: str) -> list[tuple[bool, str]]:
    """``text`` as consecutive segments, each ``(typed, segment)``; joined they give ``text`` back."""
    segments: list[tuple[bool, str]] = []
    position = 0
    for match in _CLIENT_BLOCK.finditer(text):
        if match.start() > position:
            segments.append((True, text[position:match.start()]))
        segments.append((False, match.group(0)))
        position = match.end()
    if position < len(text) or not segments:
        segments.append((True, text[position:]))
    return segments


def typed_text(text: str) -> str:
    """The part of ``text`` the user typed (client blocks removed)."""
    return "".join(segment for typed, segment in split_typed(text) if typed)
