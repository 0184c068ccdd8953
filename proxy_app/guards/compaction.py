"""Prompt compaction: old, large tool results shortened with a visible marker (pure; off by default).

An agent resends its whole history every turn, and most of it is tool output it has long acted on.
Two kinds are shortened, each only once it is older than the last ``keep_turns`` assistant turns:

* a file read that a later read of the same file (the whole file, or the same range) superseded:
  replaced by one line saying so (the later read is the current text);
* a long output of any other tool (a command, a search, a fetch): its head and tail kept, the middle
  replaced by a line saying how much was left out. A file read that nothing superseded is kept whole:
  the agent may still edit from it.

The system prompt, the tools and every message but tool results are never touched, nor is a result
the client marked ``cache_control``. Markers depend on the content only, so a compacted result is
byte-identical on every later turn.

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
import json
import os.path
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


@dataclass(frozen=True)
class CompactionConfig:
    keep_turns: int = 3  # the last assistant turns (and what follows them) are never compacted
    min_chars: int = 6000  # a non-read tool output this long (in one text) is shortened
    keep_chars: int = 1500  # what is kept of such an output: its head and tail, half each
    min_savings_tokens: int = 20000  # a batch smaller than this waits (each batch rewrites the cache once)


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


def _shell_read(args: dict[str, Any]) -> tuple[str, str] | None:
    """The file a plain ``cat``/``nl``/``sed -n``/``head``/``tail`` command prints, and its range."""
    words = _shell_words(args)
    if not words or SHELL_CONTROL.intersection(words):
        return None
    program, rest = os.path.basename(words[0]), words[1:]
    options = [w for w in rest if w.startswith("-") or w[:1].isdigit()]  # flags, and ranges such as 1,200p
    files = [w for w in rest if w not in options]
    if program == "sed" and len(files) == 2 and options == ["-n"]:
        options, files = [files[0]], files[1:]  # sed -n 'A,Bp' FILE: the script is the range
    if program not in ("cat", "nl", "sed", "head", "tail") or len(files) != 1:
        return None
    if program == "sed" and not options:
        return None
    path = files[0]
    workdir = args.get("workdir")
    if isinstance(workdir, str) and workdir and not os.path.isabs(path):
        path = os.path.join(workdir, path)
    whole = program in ("cat", "nl") and not [o for o in options if o not in ("-b", "-ba", "-n")]
    return os.path.normpath(path), "" if whole else " ".join([program, *options])


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


def _text_length(part: c.ToolResultPart) -> int:
    return sum(len(p.text) for p in part.content if isinstance(p, c.TextPart))


def _superseded_at(results: list[_Result]) -> dict[int, int]:
    """For each read (by position in ``results``), the message index of the first later read that
    covers it (the whole file, or the same range) and returned the content: not an error, and not a
    stub such as "file unchanged since the last read" (less than half the earlier read's length),
    which points back to the earlier read."""
    out: dict[int, int] = {}
    for k, earlier in enumerate(results):
        if earlier.read is None:
            continue
        path, span = earlier.read
        for later in results[k + 1:]:
            if later.read is not None and later.read[0] == path and later.read[1] in ("", span) \
                    and not later.result.is_error and 2 * _text_length(later.result) >= _text_length(earlier.result):
                out[k] = later.message
                break
    return out


# ---------------------------------------------------------------- shortening one result


def _marked(part: c.ToolResultPart) -> bool:
    return bool(part.extra and "cache_control" in part.extra) or any(
        p.extra and "cache_control" in p.extra for p in part.content)


def _size(part: c.ToolResultPart) -> int:
    """The result's estimated tokens."""
    return sum(estimate_tokens_for_chars(len(p.text)) if isinstance(p, c.TextPart) else IMAGE_TOKENS
               for p in part.content)


def _superseded(part: c.ToolResultPart, path: str) -> c.ToolResultPart:
    lines = sum(p.text.count("\n") + 1 for p in part.content if isinstance(p, c.TextPart))
    note = f"{MARKER}: {path} was read again later in this conversation, and that later read is the current " \
           f"content; this earlier read ({lines} lines) was left out.]"
    return dataclasses.replace(part, content=[c.TextPart(note)])


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
    note = f"\n{MARKER}: {len(middle)} characters ({middle.count(chr(10))} lines) of an output already acted on " \
           f"were left out here; run the tool again to see them.]\n"
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


def _shortened(part: c.ToolResultPart, config: CompactionConfig) -> c.ToolResultPart:
    content: list[c.TextPart | c.ImagePart] = []
    for inner in part.content:
        if isinstance(inner, c.TextPart) and len(inner.text) >= config.min_chars:
            try:
                value = json.loads(inner.text)
            except ValueError:
                value = None
            text = json.dumps(_shortened_json(value, config), ensure_ascii=False, separators=(",", ":")) \
                if isinstance(value, dict | list) else _shortened_text(inner.text, config)
            inner = c.TextPart(text, inner.extra) if len(text) < len(inner.text) else inner
        content.append(inner)
    return dataclasses.replace(part, content=content)


# ---------------------------------------------------------------- the conversation


def compact_messages(messages: list[c.Message], config: CompactionConfig) -> Compaction:
    """Shorten ``messages``' old tool results in place, as the module docstring says; what it did."""
    results = _results(messages)
    assistants = [i for i, m in enumerate(messages) if m.role == "assistant"]
    if not results or len(assistants) < config.keep_turns:
        return Compaction()
    superseded = _superseded_at(results)
    sizes = [_size(found.result) for found in results]
    long_forms: dict[int, c.ToolResultPart | None] = {}  # a long output's shortened form, once worked out
    chosen: dict[int, c.ToolResultPart] = {}  # by position in ``results``: each compacted result's new form
    # Replay the conversation: each time it was sent (before each assistant message, and now) with
    # ``seen`` assistant messages, its results older than the last ``keep_turns`` of them are old.
    for seen, end in enumerate([*assistants, len(messages)]):
        if seen < config.keep_turns:
            continue
        cut = assistants[seen - config.keep_turns] if config.keep_turns else end
        batch: dict[int, c.ToolResultPart] = {}
        for k, found in enumerate(results):
            if found.message >= cut:
                break
            if k in chosen or _marked(found.result):
                continue
            if found.read is not None:
                if superseded.get(k, end) < end:
                    batch[k] = _superseded(found.result, found.read[0])
                continue
            if k not in long_forms:
                shortened = _shortened(found.result, config)
                long_forms[k] = shortened if shortened.content != found.result.content else None
            if (short := long_forms[k]) is not None:
                batch[k] = short
        if sum(sizes[k] - _size(short) for k, short in batch.items()) >= config.min_savings_tokens:
            chosen.update(batch)
    for k, short in chosen.items():
        messages[results[k].message].parts[results[k].part] = short
    return Compaction(len(chosen), sum(sizes[k] - _size(short) for k, short in chosen.items()))
