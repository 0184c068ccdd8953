"""Prompt compaction: old, large tool results shortened with a visible marker (pure; off by default).

An agent resends its whole history every turn, and most of it is tool output it has long acted on.
Two kinds are shortened, each only once it is older than the last ``keep_turns`` assistant turns:

* a file read that a later read of the same file and range superseded (one that returned the
  content: not an error, a failed command or a client's "unchanged" stub): replaced by one line
  saying so (the later read is the current text);
* a long output of any other tool (a command, a search, a fetch): its head and tail kept, the middle
  replaced by a line saying how much was left out. A file read that nothing superseded is kept whole:
  the agent may still edit from it.

The system prompt, the tools and every message but tool results are never touched, nor is a result
the client marked ``cache_control`` or one only its own protocol re-encodes. A result is replaced only
when that saves tokens. Markers depend on the content only, so a compacted result is byte-identical on
every later turn. The work is linear in the conversation's length (~20 ms for 1,000 results of 4 kB).

Prompt caches: each compaction changes the prompt from the compacted result on, so the cached
prefix past it is written again once. To keep that rare, the results are compacted in batches: at
each turn of the conversation (every point an assistant message answered), the results that have
become old since the last batch are compacted only if together they save at least
``min_savings_tokens``; otherwise they wait for a later turn. Replaying that rule over the history
makes the decision a function of the history alone: no state between requests, the same answer for
the same conversation in every process, and between two batches the prompt grows by appending only.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import os.path
import re
import shlex
from dataclasses import dataclass
from typing import Any

from proxy_app.core import canonical as c
from proxy_app.core.token_estimate import estimate_tokens_for_chars

MARKER = "[llm-interactive-proxy compacted this old tool result"
# The tools that read a file, by lower-cased name, and where their arguments name the file and a range.
READ_TOOLS = frozenset({"read", "read_file", "readfile", "read_text_file", "view_file", "open_file"})
PATH_ARGS = ("file_path", "absolute_path", "path", "filePath", "filename")
RANGE_ARGS = ("offset", "limit", "start_line", "end_line", "view_range", "pages")
SHELL_TOOLS = frozenset({"bash", "shell", "shell_command", "run_shell_command", "exec_command", "local_shell",
                         "run_command", "execute_command"})
SHELL_CONTROL = frozenset({"|", "||", "&&", ";", ">", ">>", "<", "&", "2>&1"})
IMAGE_TOKENS = 85  # what token_estimate counts an image as
MIN_READ_CHARS = 1000  # a shorter earlier read is not worth a note (the note is ~200 characters)
# A re-read that did not return the file: a failed command (Codex never marks its results as errors), a
# missing file, or a client's stub pointing back to the earlier read.
NO_CONTENT = re.compile(r"Process exited with code [1-9]|exit code:? [1-9]|No such file or directory|"
                        r"unchanged since (?:the )?last read", re.IGNORECASE)


@dataclass(frozen=True)
class CompactionConfig:
    keep_turns: int = 3  # the last assistant messages (and what follows them) are never compacted
    min_chars: int = 6000  # a non-read tool output this long (in one text) is shortened
    keep_chars: int = 1500  # what is kept of such an output: its head and tail, half each
    min_savings_tokens: int = 20000  # a batch smaller than this waits (each batch rewrites the cache once)

    def __post_init__(self) -> None:
        if self.keep_turns < 1:
            raise ValueError("keep_turns must be at least 1: the newest turn is never compacted")


@dataclass(frozen=True)
class Compaction:
    """What compacting one conversation did: results shortened, and the estimated tokens saved."""

    results: int = 0
    saved_tokens: int = 0


@dataclass(frozen=True)
class _Result:
    message: int  # index of the message holding the result
    part: int  # index of the result among the message's parts
    result: c.ToolResultPart
    read: tuple[str, str] | None  # (path, range) when the call read a file; range "" for the whole file


# ---------------------------------------------------------------- what a call read


def _shell_words(args: dict[str, Any]) -> list[str] | None:
    command = args.get("command", args.get("cmd"))
    if isinstance(command, list) and all(isinstance(w, str) for w in command):
        if len(command) == 3 and command[1] in ("-lc", "-c") and command[0].endswith("sh"):
            command = command[2]
        else:
            return list(command)
    if not isinstance(command, str):
        return None
    try:
        return shlex.split(command)
    except ValueError:
        return None


def _printer(words: list[str]) -> tuple[str, list[str], list[str]] | None:
    """(program, options, files) of a ``cat``/``nl``/``sed -n``/``head``/``tail`` command; None for others
    (``sed -i`` edits a file, it does not print it)."""
    if not words:
        return None
    program, rest = os.path.basename(words[0]), words[1:]
    options = [w for w in rest if w.startswith("-") or w[:1].isdigit()]  # flags, and ranges such as 1,200p
    files = [w for w in rest if w not in options]
    if program == "sed" and options == ["-n"] and len(files) >= 1:
        options, files = [files[0]], files[1:]  # sed -n 'SCRIPT' FILE: the script is the range
    if program not in ("cat", "nl", "sed", "head", "tail") or any(o.startswith(("-i", "--in-place")) for o in options):
        return None
    if program == "sed" and not options:
        return None
    return program, options, files


def _shell_read(args: dict[str, Any]) -> tuple[str, str] | None:
    """The file a command prints whole or in part (``cat f``, ``nl -ba f``, ``sed -n 'A,Bp' f``, ``head -n N
    f``, and Codex's ``nl -ba f | sed -n 'A,Bp'``), and its range; only for an absolute path or one under the
    call's ``workdir`` (a shell's current directory is unknown: ``cd`` may have changed it)."""
    words = _shell_words(args)
    if not words:
        return None
    pipeline = [list(g) for is_pipe, g in itertools.groupby(words, lambda w: w == "|") if not is_pipe]
    if len(pipeline) > 2 or SHELL_CONTROL.difference({"|"}).intersection(words) or words.count("|") >= 2:
        return None
    reader, *filters = [_printer(stage) for stage in pipeline]
    if reader is None or len(reader[2]) != 1 or any(f is None or f[2] for f in filters):
        return None
    program, options, (path,) = reader
    workdir = args.get("workdir")
    if not os.path.isabs(path):
        if not (isinstance(workdir, str) and os.path.isabs(workdir)):
            return None
        path = os.path.join(workdir, path)
    whole = program in ("cat", "nl") and not [o for o in options if o not in ("-b", "-ba", "-n")] and not filters
    span = " | ".join(" ".join([p, *o]) for p, o, _ in [reader, *(f for f in filters if f)])
    return os.path.normpath(path), "" if whole else span


def read_target(call: c.ToolCallPart) -> tuple[str, str] | None:
    """(path, range) of the file ``call`` reads, the range "" for the whole file; None for other calls."""
    try:
        args = json.loads(call.arguments or "{}")
    except ValueError:
        return None
    if not isinstance(args, dict):
        return None
    name = call.name.lower()
    if name in READ_TOOLS:
        path = next((args[k] for k in PATH_ARGS if isinstance(args.get(k), str) and args[k]), None)
        if path is None:
            return None
        span = [f"{k}={json.dumps(args[k])}" for k in RANGE_ARGS if args.get(k) not in (None, "", 0, [])]
        return os.path.normpath(path), " ".join(span)
    if name in SHELL_TOOLS:
        return _shell_read(args)
    return None


def _results(messages: list[c.Message]) -> list[_Result]:
    calls = {p.id: p for m in messages for p in m.parts if isinstance(p, c.ToolCallPart)}
    found = []
    for i, message in enumerate(messages):
        for j, part in enumerate(message.parts):
            if isinstance(part, c.ToolResultPart):
                call = calls.get(part.tool_call_id)
                found.append(_Result(i, j, part, read_target(call) if call is not None else None))
    return found


def _text(part: c.ToolResultPart) -> str:
    return "".join(p.text for p in part.content if isinstance(p, c.TextPart))


def _gave_content(later: c.ToolResultPart, earlier: c.ToolResultPart) -> bool:
    """Whether a re-read returned the file: not an error, a failed command or a stub that points back to
    the earlier read ("File unchanged since last read"); as long as half the earlier read, at least."""
    text = _text(later)
    return not later.is_error and not NO_CONTENT.search(text[:300]) and 2 * len(text) >= len(_text(earlier))


def _superseded_at(results: list[_Result]) -> dict[int, int]:
    """For each read worth replacing (by position in ``results``), the message index of the first later read
    of the same file and range that gave the content. Only the same range: a whole-file read may have
    been cut short by the client (Claude Code reads 2,000 lines at most), so it covers no other range."""
    by_target: dict[tuple[str, str], list[int]] = {}
    for k, found in enumerate(results):
        if found.read is not None:
            by_target.setdefault(found.read, []).append(k)
    out: dict[int, int] = {}
    for reads in by_target.values():
        for n, k in enumerate(reads):
            earlier = results[k].result
            if len(_text(earlier)) < MIN_READ_CHARS or _marked(earlier):
                continue
            later = next((j for j in reads[n + 1:] if _gave_content(results[j].result, earlier)), None)
            if later is not None:
                out[k] = results[later].message
    return out


# ---------------------------------------------------------------- shortening one result


def _marked(part: c.ToolResultPart) -> bool:
    """Marked ``cache_control`` by the client, or carrying blocks only its own protocol re-encodes
    (Anthropic ``search_result``/``document`` content, kept whole in ``extra``): left as they are."""
    return bool(part.extra and ("cache_control" in part.extra or "content" in part.extra)) or any(
        p.extra and "cache_control" in p.extra for p in part.content)


def _size(part: c.ToolResultPart) -> int:
    """The result's estimated tokens."""
    return sum(estimate_tokens_for_chars(len(p.text)) if isinstance(p, c.TextPart) else IMAGE_TOKENS
               for p in part.content)


def _superseded(part: c.ToolResultPart, path: str) -> c.ToolResultPart:
    """``part`` as a note that a later read replaces it; a JSON object result (Gemini's ``{"output": …}``)
    keeps its keys, its first text value the note and the others emptied."""
    text = _text(part)
    value = _json(text)
    texts = [v for v in value.values() if isinstance(v, str)] if isinstance(value, dict) else [text]
    note = f"{MARKER}: {path} was read again later in this conversation, and that later read is the current " \
           f"content; this earlier read ({sum(map(len, texts)):,} characters) was left out.]"
    if isinstance(value, dict) and texts:
        first = next(k for k, v in value.items() if isinstance(v, str))
        note = _dumps({k: (note if k == first else "") if isinstance(v, str) else v for k, v in value.items()})
    return dataclasses.replace(part, content=[c.TextPart(note)])


def _json(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _shortened_text(text: str, config: CompactionConfig) -> str:
    """``text``'s head and tail (cut at line ends) around a note of what was left out; ``text`` when short."""
    if len(text) < config.min_chars:
        return text
    half = config.keep_chars // 2
    head, tail = text[:half], text[len(text) - half:]
    if (cut := head.rfind("\n")) > half // 2:
        head = head[:cut + 1]
    if 0 <= (cut := tail.find("\n")) < half // 2:
        tail = tail[cut + 1:]
    middle = text[len(head):len(text) - len(tail)]
    note = f"\n{MARKER}: {len(middle):,} characters ({middle.count(chr(10)):,} lines) of an output already acted " \
           f"on were left out here; run the tool again to see them.]\n"
    return head + note + tail if len(note) < len(middle) else text


def _shortened_json(value: Any, config: CompactionConfig) -> Any:
    """A JSON result (Gemini's ``{"output": …}``) with its long strings shortened, its shape kept."""
    if isinstance(value, str):
        return _shortened_text(value, config)
    if isinstance(value, dict):
        return {k: _shortened_json(v, config) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened_json(v, config) for v in value]
    return value


def _shortened(part: c.ToolResultPart, config: CompactionConfig) -> c.ToolResultPart | None:
    """``part`` with its long texts' middles left out; None when nothing is long enough."""
    content: list[c.TextPart | c.ImagePart] = []
    for inner in part.content:
        if isinstance(inner, c.TextPart) and len(inner.text) >= config.min_chars:
            value = _json(inner.text)
            if isinstance(value, dict | list):
                short = _shortened_json(value, config)
                text = _dumps(short) if short != value else inner.text  # never only re-formatted
            else:
                text = _shortened_text(inner.text, config)
            inner = c.TextPart(text, inner.extra) if len(text) < len(inner.text) else inner
        content.append(inner)
    return dataclasses.replace(part, content=content) if content != part.content else None


# ---------------------------------------------------------------- the conversation


def compact_messages(messages: list[c.Message], config: CompactionConfig) -> Compaction:
    """Shorten ``messages``' old tool results in place, as the module docstring says; what it did."""
    results = _results(messages)
    assistants = [i for i, m in enumerate(messages) if m.role == "assistant"]
    if not results or len(assistants) < config.keep_turns:
        return Compaction()
    superseded = _superseded_at(results)
    sizes = [_size(found.result) for found in results]
    chosen: dict[int, c.ToolResultPart] = {}  # by position in ``results``: each compacted result's new form
    pending: dict[int, c.ToolResultPart] = {}  # old enough and worth shortening, waiting for a batch
    pending_savings = 0
    waiting: list[tuple[int, int, str]] = []  # old reads (position, path) by the message index of their successor
    old = 0  # results[:old] are older than the last ``keep_turns`` assistant messages
    # Replay the conversation: each time it was sent (before each assistant message, and now) with
    # ``seen`` assistant messages, its results older than the last ``keep_turns`` of them are old.
    for seen, end in enumerate([*assistants, len(messages)]):
        if seen < config.keep_turns:
            continue
        cut = assistants[seen - config.keep_turns]
        ready: list[tuple[int, c.ToolResultPart | None]] = []
        while old < len(results) and results[old].message < cut:
            found = results[old]
            if old in superseded and found.read is not None:
                heapq.heappush(waiting, (superseded[old], old, found.read[0]))
            elif found.read is None and not _marked(found.result):
                ready.append((old, _shortened(found.result, config)))
            old += 1
        while waiting and waiting[0][0] < end:
            _, k, path = heapq.heappop(waiting)
            ready.append((k, _superseded(results[k].result, path)))
        for k, short in ready:
            if short is not None and (saving := sizes[k] - _size(short)) > 0:
                pending[k] = short
                pending_savings += saving
        if pending and pending_savings >= config.min_savings_tokens:
            chosen.update(pending)
            pending, pending_savings = {}, 0
    for k, short in chosen.items():
        messages[results[k].message].parts[results[k].part] = short
    return Compaction(len(chosen), sum(sizes[k] - _size(short) for k, short in chosen.items()))
