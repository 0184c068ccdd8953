"""Pure parser for in-chat commands such as ``!/set(model=openai:gpt-4o)``; no Django, no I/O.

Grammar (the rest of the commands app relies on these decisions):

* A command is ``prefix name`` optionally followed *immediately* by ``(args)``; ``name``
  matches ``[\\w-]+`` and is returned as written. ``!/help (set)`` is the command ``help``
  followed by the plain text ``(set)``.
* The prefix starts a command only at the start of the text or right after whitespace, so
  ``http://x!/y``, ``a!/b`` and ``(!/help)`` are plain text; ``\\!/help`` is how to write one
  literally. A prefix at a word boundary that is not followed by a name is an error.
* Nothing inside fenced code blocks (````` or ``~~~``, CommonMark rules: an unclosed fence runs
  to the end of the text) or inline code spans is ever a command.
* Arguments are comma-separated ``key=value`` items or bare values (key ``None``). Keys match
  ``[\\w-]+``; whitespace around items, keys and values is ignored.
* Unquoted values run to the next ``,`` or ``)`` outside parentheses: they may contain ``:``,
  ``/``, ``.``, inner spaces and balanced parentheses, but not ``=`` (outside parentheses).
* ``"..."`` or ``'...'`` quote a value, which may then hold anything; inside quotes ``\\"``,
  ``\\'`` and ``\\\\`` are escapes and any other backslash is literal. Quotes only open a value
  at its first character (``it's`` is a plain value).
* ``()`` means no arguments; any other empty item (``(a,,b)``, ``(a,)``) is an error.
* Errors never raise: they are returned with the position the user should look at. After an
  error scanning resumes where the parser gave up, so text inside a broken argument list is
  never a command, and an unclosed ``(`` or quote ends the scan. This also keeps parsing linear.
* ``Command.kwargs()`` normalises keys with ``normalize_key``: lower case, ``_`` becomes ``-``.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from commands_app.client_text import split_typed, typed_text
from proxy_app.core.canonical import Message, Part, TextPart

DEFAULT_PREFIX = "!/"
PREFIX_MIN_LENGTH = 2
PREFIX_MAX_LENGTH = 10

ERR_PREFIX_TYPE = "the command prefix must be a string"
ERR_PREFIX_LENGTH = "the command prefix must be 2 to 10 characters long"
ERR_PREFIX_CHARS = "the command prefix may only contain printable characters other than spaces"
ERR_PREFIX_BACKTICK = "the command prefix may not contain '`' (it marks code)"
ERR_TEXT_TYPE = "the message text must be a string"

ERR_MISSING_NAME = "expected a command name after {prefix!r}"
ERR_UNCLOSED_ARGS = "missing ')' to close the arguments of {command}"
ERR_UNCLOSED_QUOTE = "unterminated quoted value in {command}"
ERR_EMPTY_ARGUMENT = "empty argument in {command}"
ERR_BAD_KEY = (
    "invalid argument name {key!r} in {command}: use letters, digits, '_' or '-', and quote values that contain '='"
)
ERR_UNQUOTED_EQUALS = "unexpected '=' in the value of {key!r} in {command}; quote values that contain '='"
ERR_AFTER_QUOTE = "unexpected {char!r} after a quoted value in {command}; expected ',' or ')'"

_NAME = re.compile(r"[\w-]+")
_KEY = re.compile(r"[\w-]+")
_UNQUOTED_STOP = re.compile(r"[(),=]")
_BACKTICK_RUN = re.compile(r"`+")
_QUOTES = "\"'"
_ESCAPABLE = "\\\"'"


def normalize_key(key: str) -> str:
    """The form keys (and command names, for lookups) are compared in: ``Model_Name`` -> ``model-name``."""
    return key.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class Argument:
    key: str | None  # None for a bare (positional) value
    value: str


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[Argument, ...]
    raw: str  # the exact source text, ``text[start:end]``
    start: int
    end: int

    def kwargs(self) -> dict[str, str]:
        """Keyword arguments by normalised key; when a key repeats the last value wins."""
        return {normalize_key(arg.key): arg.value for arg in self.args if arg.key is not None}

    def positional(self) -> list[str]:
        return [arg.value for arg in self.args if arg.key is None]


@dataclass(frozen=True, slots=True)
class ParseError:
    message: str
    position: int  # index into the parsed text

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position})"


@dataclass(slots=True)
class ParseResult:
    commands: list[Command] = field(default_factory=list)
    remaining_text: str = ""
    errors: list[ParseError] = field(default_factory=list)


def validate_prefix(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a command prefix, or None when it can."""
    if not isinstance(prefix, str):
        return ERR_PREFIX_TYPE
    if not PREFIX_MIN_LENGTH <= len(prefix) <= PREFIX_MAX_LENGTH:
        return ERR_PREFIX_LENGTH
    if not all(char.isprintable() and not char.isspace() for char in prefix):
        return ERR_PREFIX_CHARS
    if "`" in prefix:
        return ERR_PREFIX_BACKTICK
    return None


def parse_commands(text: str, prefix: str = DEFAULT_PREFIX) -> ParseResult:
    """Find the commands in ``text`` and the text left once they are removed.

    ``remaining_text`` is ``text`` unchanged when no command was found (the proxy stays
    transparent); otherwise the commands are cut out, the whitespace around them tidied and
    the ends stripped. Text of commands with errors stays in ``remaining_text``.
    """
    if not isinstance(text, str):
        return ParseResult([], "", [ParseError(ERR_TEXT_TYPE, 0)])
    problem = validate_prefix(prefix)
    if problem is not None:
        return ParseResult([], text, [ParseError(problem, 0)])
    commands, errors = _scan(text, prefix)
    if not commands:
        return ParseResult([], text, errors)
    remaining = _remove_spans(text, [(command.start, command.end) for command in commands])
    return ParseResult(commands, remaining, errors)


def find_command_message(messages: Sequence[Message]) -> int | None:
    """Index of the message commands are read from: the last message (after any trailing system
    turns), if it is a user turn with text.

    Commands in earlier turns were handled when those turns were new; a conversation ending in
    an assistant or tool message has no command turn.
    """
    index = len(messages) - 1
    while index >= 0 and messages[index].role == "system":
        index -= 1  # a client's mid-conversation system turn after the user's (Claude Code)
    if index < 0:
        return None
    last = messages[index]
    if last.role != "user" or not any(isinstance(part, TextPart) for part in last.parts):
        return None
    return index


def strip_commands_from_message(
    message: Message, prefix: str = DEFAULT_PREFIX
) -> tuple[list[Command], list[ParseError], Message | None]:
    """The commands in ``message``'s text parts, their errors, and the message without them.

    Only what the user typed is scanned (``client_text``: blocks a client adds to the turn are
    kept as they are). Positions in commands and errors are relative to the typed segment they
    came from. Text parts emptied by stripping are dropped; the message is None when commands
    were found and nothing else the user typed (no text, no non-text part) remains. Tool results
    and other parts are never scanned.
    """
    problem = validate_prefix(prefix)
    if problem is not None:
        return [], [ParseError(problem, 0)], message
    commands: list[Command] = []
    errors: list[ParseError] = []
    parts: list[Part] = []
    for part in message.parts:
        if not isinstance(part, TextPart):
            parts.append(part)
            continue
        found = False
        kept: list[str] = []
        for typed, segment in split_typed(part.text):
            if not typed:
                kept.append(segment)
                continue
            result = parse_commands(segment, prefix)
            commands.extend(result.commands)
            errors.extend(result.errors)
            found = found or bool(result.commands)
            kept.append(result.remaining_text if result.commands else segment)
        if not found:
            parts.append(part)
        elif text := "".join(kept):
            parts.append(TextPart(text=text, extra=part.extra))
    if commands and all(isinstance(part, TextPart) and not typed_text(part.text).strip() for part in parts):
        return commands, errors, None
    return commands, errors, dataclasses.replace(message, parts=parts)


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` ("did you mean ...?"), or None if none is close."""
    by_key = {normalize_key(candidate): candidate for candidate in known}
    matches = difflib.get_close_matches(normalize_key(name), list(by_key), n=1, cutoff=0.6)
    return by_key[matches[0]] if matches else None


# ---------------------------------------------------------------- scanning


class _Failure(Exception):
    """A command that does not parse; ``resume`` is where scanning carries on."""

    def __init__(self, message: str, position: int, resume: int) -> None:
        super().__init__(message)
        self.error = ParseError(message, position)
        self.resume = resume


def _scan(text: str, prefix: str) -> tuple[list[Command], list[ParseError]]:
    commands: list[Command] = []
    errors: list[ParseError] = []
    backtick_runs = _backtick_runs(text)
    interesting = re.compile("|".join(re.escape(char) for char in {prefix[0], "`", "~"}))
    n = len(text)
    i = 0
    while i < n:
        found = interesting.search(text, i)
        if found is None:
            break
        i = found.start()
        if text.startswith(prefix, i) and (i == 0 or text[i - 1].isspace()):
            try:
                command = _parse_command(text, i, prefix)
            except _Failure as failure:
                errors.append(failure.error)
                i = max(failure.resume, i + 1)
            else:
                commands.append(command)
                i = command.end
        elif text[i] in "`~":
            i = _skip_code(text, i, backtick_runs)
        else:
            i += 1
    return commands, errors


def _backtick_runs(text: str) -> dict[int, list[int]]:
    """Start positions of the maximal backtick runs in ``text``, by run length."""
    runs: dict[int, list[int]] = {}
    for run in _BACKTICK_RUN.finditer(text):
        runs.setdefault(run.end() - run.start(), []).append(run.start())
    return runs


def _skip_code(text: str, i: int, backtick_runs: dict[int, list[int]]) -> int:
    """Where scanning resumes after the code block, code span or plain run of ``text[i]`` at ``i``."""
    char = text[i]
    j = i
    while j < len(text) and text[j] == char:
        j += 1
    length = j - i
    if length >= 3 and _at_line_start(text, i):
        line_end = text.find("\n", j)
        info = text[j:] if line_end == -1 else text[j:line_end]
        if char == "~" or "`" not in info:  # ```x``` on one line is a code span, not a fence
            return _fence_end(text, line_end, char, length)
    if char == "~":
        return j
    starts = backtick_runs.get(length, [])
    k = bisect.bisect_left(starts, j)
    return starts[k] + length if k < len(starts) else j


def _at_line_start(text: str, i: int) -> bool:
    """True when only up to three spaces separate ``i`` from the start of its line."""
    indent = 0
    while indent < 3 and i - indent > 0 and text[i - indent - 1] == " ":
        indent += 1
    start = i - indent
    return start == 0 or text[start - 1] == "\n"


def _fence_end(text: str, line_end: int, char: str, length: int) -> int:
    """End of the closing fence line of a fence whose opening line ends at ``line_end``."""
    n = len(text)
    if line_end == -1:
        return n
    pos = line_end + 1
    while pos < n:
        end = text.find("\n", pos)
        end = n if end == -1 else end
        line = text[pos:end]
        body = line.lstrip(" ")
        if len(line) - len(body) <= 3:
            body = body.rstrip()
            if len(body) >= length and body == char * len(body):
                return end
        pos = end + 1
    return n


def _parse_command(text: str, start: int, prefix: str) -> Command:
    j = start + len(prefix)
    name_match = _NAME.match(text, j)
    if name_match is None:
        raise _Failure(ERR_MISSING_NAME.format(prefix=prefix), start, j)
    name = name_match.group()
    j = name_match.end()
    if not text.startswith("(", j):
        return Command(name, (), text[start:j], start, j)
    args, end = _parse_args(text, j, prefix + name)
    return Command(name, args, text[start:end], start, end)


def _parse_args(text: str, opening: int, label: str) -> tuple[tuple[Argument, ...], int]:
    """The arguments of the list opened at ``opening`` and the index after its ``)``."""
    n = len(text)
    unclosed = _Failure(ERR_UNCLOSED_ARGS.format(command=label), opening, n)
    args: list[Argument] = []
    j = opening + 1
    while True:
        j = _skip_space(text, j)
        if j >= n:
            raise unclosed
        if text[j] in _QUOTES:
            value, j = _parse_quoted(text, j, label)
            args.append(Argument(None, value))
        else:
            token_end, stop = _scan_unquoted(text, j)
            if stop is None:
                raise unclosed
            token = text[j:token_end].strip()
            if stop == "=":
                if not _KEY.fullmatch(token):
                    raise _Failure(ERR_BAD_KEY.format(key=token, command=label), j, token_end + 1)
                j = _skip_space(text, token_end + 1)
                if j >= n:
                    raise unclosed
                if text[j] in _QUOTES:
                    value, j = _parse_quoted(text, j, label)
                else:
                    value_end, stop = _scan_unquoted(text, j)
                    if stop is None:
                        raise unclosed
                    if stop == "=":
                        message = ERR_UNQUOTED_EQUALS.format(key=token, command=label)
                        raise _Failure(message, value_end, value_end + 1)
                    value, j = text[j:value_end].strip(), value_end
                args.append(Argument(token, value))
            elif token:
                args.append(Argument(None, token))
                j = token_end
            elif stop == ")" and not args:
                return (), token_end + 1
            else:
                raise _Failure(ERR_EMPTY_ARGUMENT.format(command=label), token_end, token_end)
        j = _skip_space(text, j)
        if j >= n:
            raise unclosed
        if text[j] == ")":
            return tuple(args), j + 1
        if text[j] != ",":
            raise _Failure(ERR_AFTER_QUOTE.format(char=text[j], command=label), j, j)
        j += 1


def _skip_space(text: str, j: int) -> int:
    while j < len(text) and text[j].isspace():
        j += 1
    return j


def _scan_unquoted(text: str, j: int) -> tuple[int, str | None]:
    """Index and character of the first ``,``, ``)`` or ``=`` outside parentheses from ``j``."""
    depth = 0
    while True:
        found = _UNQUOTED_STOP.search(text, j)
        if found is None:
            return len(text), None
        j = found.start()
        char = text[j]
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            return j, char
        j += 1


def _parse_quoted(text: str, opening: int, label: str) -> tuple[str, int]:
    """The unescaped value of the string quoted at ``opening`` and the index after it."""
    quote = text[opening]
    chunks: list[str] = []
    j = opening + 1
    while True:
        stop = min(_find(text, quote, j), _find(text, "\\", j))
        if stop >= len(text):
            raise _Failure(ERR_UNCLOSED_QUOTE.format(command=label), opening, len(text))
        chunks.append(text[j:stop])
        if text[stop] == quote:
            return "".join(chunks), stop + 1
        if stop + 1 < len(text) and text[stop + 1] in _ESCAPABLE:
            chunks.append(text[stop + 1])
            j = stop + 2
        else:
            chunks.append("\\")
            j = stop + 1


def _find(text: str, char: str, start: int) -> int:
    found = text.find(char, start)
    return len(text) if found == -1 else found


# ---------------------------------------------------------------- removing commands


def _is_hspace(char: str) -> bool:
    return char.isspace() and char not in "\r\n"


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without ``spans`` (sorted, disjoint), tidying the whitespace they leave behind."""
    clusters: list[list[int]] = []
    for start, end in spans:
        if clusters and all(_is_hspace(char) for char in text[clusters[-1][1] : start]):
            clusters[-1][1] = end
        else:
            clusters.append([start, end])
    removals = sorted(_removal(text, start, end) for start, end in clusters)
    merged: list[list[int]] = []
    for start, end in removals:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    junctions: list[int] = []
    kept = 0
    pos = 0
    for start, end in merged:
        pieces.append(text[pos:start])
        kept += start - pos
        junctions.append(kept)
        pos = end
    pieces.append(text[pos:])
    return _collapse_blank_lines("".join(pieces), junctions).strip()


def _removal(text: str, start: int, end: int) -> tuple[int, int]:
    """The span to delete for a command run at ``text[start:end]``, whitespace included.

    A line holding only commands goes with its newline; otherwise one side's spaces go, so
    ``please !/x answer`` becomes ``please answer`` and ``run !/x.`` becomes ``run.``.
    """
    n = len(text)
    before = start
    while before > 0 and _is_hspace(text[before - 1]):
        before -= 1
    after = end
    while after < n and _is_hspace(text[after]):
        after += 1
    newline_after = 1 if text.startswith("\n", after) else 2 if text.startswith("\r\n", after) else 0
    at_line_start = before == 0 or text[before - 1] == "\n"
    at_line_end = after == n or newline_after > 0
    if at_line_start and at_line_end:
        if newline_after:
            return before, after + newline_after
        if before > 0:
            return before - (2 if text.startswith("\r\n", before - 2) else 1), after
        return before, after
    if at_line_start:
        return start, after  # keep the line's indentation
    if at_line_end or after == end:
        return before, after
    return start, after


def _collapse_blank_lines(text: str, junctions: list[int]) -> str:
    """Shrink whitespace runs at ``junctions`` that hold more than one blank line to one."""
    pieces: list[str] = []
    pos = 0
    seen = 0
    n = len(text)
    for junction in junctions:
        if junction < seen:
            continue
        start = junction
        while start > pos and text[start - 1].isspace():
            start -= 1
        end = junction
        while end < n and text[end].isspace():
            end += 1
        seen = end + 1
        run = text[start:end]
        if run.count("\n") > 2:
            newline = "\r\n" if "\r\n" in run else "\n"
            pieces.append(text[pos:start])
            pieces.append(newline * 2 + run[run.rfind("\n") + 1 :])
            pos = end
    pieces.append(text[pos:])
    return "".join(pieces)
