"""Run the in-chat commands of a request: find, expand aliases, execute, strip, and decide the reply."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache

from commands_app.aliases import alias_lookup
from commands_app.client_text import typed_text
from commands_app.parser import (
    Command,
    ParseError,
    find_command_message,
    parse_commands,
    strip_commands_from_message,
    suggest,
)
from commands_app.registry import CommandContext, CommandError, known_names, lookup
from commands_app.schema_instance import schema_instance
from commands_app.sessions import SessionState, session_save
from proxy_app.core import canonical as c
from proxy_app.core.catalog import BackendCatalog
from proxy_app.core.principal import Principal

logger = logging.getLogger("llmproxy.commands")


@dataclass
class CommandOutcome:
    """``reply`` is set when the proxy answers itself (the message held only commands)."""

    chat: c.ChatRequest
    reply: str | None = None
    ran: int = 0


def command_prefix(session: SessionState) -> str:
    return session.get("command-prefix") or settings.COMMAND_PREFIX


async def _expand(cmd: Command, owner_id: int | None, prefix: str) -> list[Command]:
    """Built-in commands stand for themselves; an alias expands to the commands it names."""
    if lookup(cmd.name):
        return [cmd]
    expansion = await alias_lookup(cmd.name, owner_id)
    if expansion is None:
        return [cmd]
    parsed = parse_commands(prefix + expansion, prefix)
    return [c_ for c_ in parsed.commands if lookup(c_.name)] or [cmd]


async def _run_one(cmd: Command, ctx: CommandContext) -> str:
    spec = lookup(cmd.name)
    if spec is None:
        hint = suggest(cmd.name, known_names())
        raise CommandError(
            f"unknown command '{cmd.name}'" + (f"; did you mean '{ctx.prefix}{hint}'?" if hint else "")
            + f" Type {ctx.prefix}help for the list."
        )
    if spec.changes_shared_state and not ctx.principal.can_change_shared_state:
        raise CommandError(f"this proxy key may not run {spec.name}")
    return await spec.handler(cmd, ctx)


async def commands_apply(
    chat: c.ChatRequest, *, session: SessionState, principal: Principal, backends: BackendCatalog, protocol: str
) -> CommandOutcome:
    """Execute the commands in the newest user message of ``chat``.

    Commands are taken only from the last message when it is a user turn, so a command in
    an earlier turn or inside a tool result never runs again. In a message that also holds
    other text, the commands run only when every one of them is known (otherwise the text
    is forwarded untouched: ``!/`` may simply be part of what the user wrote).
    """
    if settings.DISABLE_INTERACTIVE_COMMANDS:
        return CommandOutcome(chat)
    prefix = command_prefix(session)
    index = find_command_message(chat.messages)
    if index is None:
        return CommandOutcome(chat)
    message = chat.messages[index]
    if not any(isinstance(p, c.TextPart) and prefix in p.text for p in message.parts):
        return CommandOutcome(chat)
    commands, errors, stripped = strip_commands_from_message(message, prefix)
    if not commands and not errors:
        return CommandOutcome(chat)
    if is_client_internal(chat):
        # An agent's side request (Gemini CLI's model router, Codex's title) quotes the user's turn:
        # the commands run with the turn itself, never here, and no model is asked about them.
        answer = schema_instance(_schema_of(chat), text=typed_text(message.text()).strip()[:80])
        return CommandOutcome(chat, reply=orjson.dumps(answer).decode())
    expanded: list[Command] = []
    for cmd in commands:
        expanded.extend(await _expand(cmd, principal.key_id, prefix))
    only_commands = stripped is None
    if stripped is not None and (errors or any(lookup(cmd.name) is None for cmd in expanded)
                                 or not _all_begin_lines(commands, message)):
        return CommandOutcome(chat)
    forwarded = None if stripped is None else replace(chat, messages=[*chat.messages[:index], stripped,
                                                                       *chat.messages[index + 1:]])

    last_key, turn = _last_turn_key(session), _turn_digest(chat.messages, index)
    last = await cache.aget(last_key)
    reply = last[1] if isinstance(last, tuple) and last[0] == turn else None
    if reply is None:
        ctx = CommandContext(session=session, principal=principal, backends=backends, prefix=prefix,
                             protocol=protocol)
        lines = [_parse_error_line(err) for err in errors]
        for cmd in expanded:
            try:
                lines.append(await _run_one(cmd, ctx))
            except CommandError as err:
                lines.append(f"Error in {prefix}{cmd.name}: {err}")
        if ctx.session_changed:
            await session_save(session)
        reply = "\n\n".join(lines)
        await cache.aset(last_key, (turn, reply), REPEAT_WINDOW_SECONDS)
    else:
        logger.info("a command turn came again (a client's retry or side request): answered, not run again")
    if only_commands:
        return CommandOutcome(chat, reply=reply, ran=len(expanded))
    logger.info("ran %d command(s) and forwarded the rest of the message", len(expanded))
    return CommandOutcome(forwarded, ran=len(expanded))  # type: ignore[arg-type]


# The session's last command turn, sent again within this time (a client retrying, or its side
# request repeating the turn), gets the first answer without its commands running twice.
REPEAT_WINDOW_SECONDS = 60


def _last_turn_key(session: SessionState) -> str:
    return f"llmproxy:last-command-turn:{session.owner_id}:{hashlib.sha256(session.session_id.encode()).hexdigest()}"


def _turn_digest(messages: list[c.Message], index: int) -> str:
    """The command turn's identity: the conversation up to and including it."""
    digest = hashlib.sha256()
    for message in messages[: index + 1]:
        digest.update(f"{message.role}\0{message.text()}\1".encode())
    return digest.hexdigest()


# ``ChatRequest.meta`` key: the client's User-Agent. Agentic CLIs (these prefixes) send side requests
# about a turn (routing, titles) that nobody types; a person's JSON-mode request is a turn of its own.
USER_AGENT = "user_agent"
AGENT_USER_AGENTS = ("codex", "GeminiCLI", "claude-cli")


def is_client_internal(chat: c.ChatRequest) -> bool:
    """An agentic CLI's side request about a turn rather than the turn itself: structured output
    asked for and no tools offered (Gemini CLI's model router, Codex's thread title)."""
    fmt = chat.response_format
    return (fmt is not None and fmt.type != "text" and not chat.tools
            and str(chat.meta.get(USER_AGENT, "")).startswith(AGENT_USER_AGENTS))


def _all_begin_lines(commands: list[Command], message: c.Message) -> bool:
    """Beside other text a command runs only where it begins a line of what the user typed: one
    quoted within a line (a client's summary request repeats "User: !/route-append(…)") is text."""
    typed = "\n".join(typed_text(p.text) for p in message.parts if isinstance(p, c.TextPart))
    return all(re.search(r"(?m)^[ \t]*" + re.escape(cmd.raw), typed) is not None for cmd in commands)


def _schema_of(chat: c.ChatRequest) -> dict[str, Any]:
    fmt = chat.response_format
    return (fmt.schema if fmt is not None and fmt.schema else None) or {"type": "object"}


def _parse_error_line(err: ParseError) -> str:
    return f"Error: {err.message}"
