"""A scripted coding agent: what a fake provider does when the user's newest message carries a task tag.

Pure and protocol-neutral: it reads a ``NeutralRequest`` (the human's newest text, the tools on offer
with their JSON schemas, the model's tool calls and the tool results so far) and returns the next step,
a tool call or a final text. The fakes turn that step into their own wire format, so the real CLIs
(Claude Code, Codex CLI, Gemini CLI) can complete small file tasks through the proxy.

Tags, in the newest human text (``/abs/path`` is an absolute path without spaces):

* ``[[agent:read /abs/path]]``      read the file; a result saying ``secret word is X`` is answered
  ``The secret word is X.``; a result saying ``see /abs/other.txt`` makes it read that file next.
* ``[[agent:edit /abs/path]]``      replace ``TODO`` by ``DONE`` in the file (read it, then write the new
  content with a write tool; or an edit tool; or ``sed -i`` through a shell tool); then ``Edited /abs/path.``
* ``[[agent:repeat N /abs/path]]``  read the same file with the same arguments N times in a row, then
  answer ``Read /abs/path N times.`` (for loop-detection tests).
* ``[[agent:reread /abs/path]]``  read the file, run ``seq 1 4000`` (a long output), read the file again,
  then answer ``The secret word is X. (N compacted results)``: the word from the newest read that has
  one, N the results the proxy's prompt compaction had shortened (for the compaction tests).
* ``[[agent:session /abs/dir]]``  a longer coding session over ``a.py``, ``b.py`` and ``c.py`` in the
  directory: ten tool calls (reads, re-reads, long ``seq`` outputs, TODO made DONE in ``a.py``), then
  ``Session done. (N compacted results)`` (recorded for ``bench/compaction.py``).

Tools are chosen by name *and* by their schema's property names: a read tool (``Read``, ``read_file``)
with a path property (``file_path``, ``absolute_path``, ``path``); a write tool (``Write``,
``write_file``) with a path and ``content``; an edit tool (``Edit``, ``replace``) with a path,
``old_string`` and ``new_string``; a shell tool (``Bash``, ``run_shell_command``, ``exec_command``,
``shell``, ``shell_command``) with ``command`` or ``cmd`` (a string, or an argv array). A dedicated
read/write tool is preferred to the shell. Required properties the step does not set are filled from
the schema (``sample_for_schema``), so the CLI's argument validation passes.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scenario import NeutralRequest

TAG = re.compile(r"\[\[agent:(read|edit|repeat|reread|session)\s+(?:(\d+)\s+)?(/[^\s\]]+)\]\]")
SECRET = re.compile(r"secret word is (\w+)")
SEE = re.compile(r"see (/\S+\.txt)")
COMPACTED = "llm-interactive-proxy compacted this old tool result"
# The session task's steps: a file of the directory to read, or a shell command ({dir}: the directory).
SESSION = (("read", "a.py"), ("shell", "seq 1 2500"), ("read", "b.py"), ("edit", "a.py"),
           ("read", "a.py"), ("shell", "seq 1 2500"), ("read", "c.py"), ("read", "b.py"), ("shell", "seq 2500 5000"),
           ("read", "a.py"))
MAX_STEPS = 12  # a safety net: never call tools forever in one turn

PATH_PROPS = ("file_path", "absolute_path", "path", "filePath", "filename")
READ_NAMES = frozenset({"read", "read_file", "readfile", "read_text_file", "view_file"})
SHELL_NAMES = frozenset({"bash", "shell", "shell_command", "run_shell_command", "exec_command", "local_shell",
                         "run_command", "execute_command"})

# Wrappers the CLIs put around their own context inside user turns: not what the human typed.
HARNESS_BLOCKS = re.compile(
    r"<(system-reminder|session_context|environment_context|user_instructions)>.*?</\1>", re.S)


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """The agent's next move: a tool call (``tool_name`` + ``tool_args``) or a final ``text``."""

    text: str | None = None
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None


def human_text(text: str) -> str:
    """``text`` without the CLIs' context blocks (``<system-reminder>``, ``<session_context>``, …)."""
    return HARNESS_BLOCKS.sub("", text).strip()


# ---------------------------------------------------------------- schemas


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), None)
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return ""


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for key in ref[2:].split("/"):
            target = target.get(key) if isinstance(target, dict) else None
        return target if isinstance(target, dict) else {}
    return schema


def sample_for_schema(schema: Any, hints: dict[str, Any] | None = None, *, root: dict[str, Any] | None = None,
                      depth: int = 0) -> Any:
    """A value that conforms to ``schema`` (JSON Schema or Gemini's OpenAPI subset, any type case).

    Required object properties are filled by type (string ``"fake"``, integer/number ``1``, boolean
    ``false``, an enum's first value, arrays ``[]``, nested objects recursively); ``hints`` give values
    for properties by name (string-typed ones only). An object schema without properties (anything
    goes) gets ``hints`` themselves.
    """
    hints = hints or {}
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > 12:
        return "fake"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf", "any_of", "one_of"):
        choices = [c for c in schema.get(union) or [] if isinstance(c, dict)]
        non_null = [c for c in choices if _schema_type(_resolve(c, root)) != "null"]
        if choices:
            return sample_for_schema((non_null or choices)[0], hints, root=root, depth=depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        return sample_for_schema(schema["allOf"][0], hints, root=root, depth=depth + 1)
    kind = _schema_type(schema)
    if kind == "object" or (not kind and not schema):
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            return dict(hints) if schema.get("additionalProperties") is not False else {}
        required = schema.get("required")
        names = [n for n in required if isinstance(n, str) and n in props] if isinstance(required, list) else list(props)
        names += [n for n in hints if n in props and n not in names]
        out: dict[str, Any] = {}
        for name in names:
            sub = _resolve(props[name], root)
            if name in hints and isinstance(sub, dict) and _schema_type(sub) == "string" and "enum" not in sub:
                out[name] = hints[name]
            else:
                out[name] = sample_for_schema(sub, hints if depth == 0 else {}, root=root, depth=depth + 1)
        return out
    if kind == "array":
        count = schema.get("minItems") or schema.get("min_items") or 0
        return [sample_for_schema(schema.get("items") or {}, root=root, depth=depth + 1) for _ in range(int(count))]
    if kind == "string":
        return "fake"
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        return max(1, int(low)) if isinstance(low, (int, float)) else 1
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "fake"


# ---------------------------------------------------------------- tools


@dataclass(frozen=True)
class Tool:
    name: str
    schema: dict[str, Any]
    path: str = ""  # the path property's name
    command: str = ""  # the shell tool's command property
    argv: bool = False  # the command is an argv array (Codex's ``shell``)


@dataclass(frozen=True)
class Toolbox:
    read: Tool | None = None
    write: Tool | None = None
    edit: Tool | None = None
    shell: Tool | None = None


def _props(schema: Any) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def find_tools(schemas: dict[str, dict[str, Any]]) -> Toolbox:
    """Which offered tools read, write, edit and run shell commands (first fitting one of each)."""
    read = write = edit = shell = None
    for name, schema in schemas.items():
        props = _props(schema)
        lower = name.lower()
        path = next((p for p in PATH_PROPS if p in props and _schema_type(props[p]) in ("string", "")), "")
        if path and lower in READ_NAMES and read is None:
            read = Tool(name, schema, path=path)
        elif path and "write" in lower and "content" in props and write is None:
            write = Tool(name, schema, path=path)
        elif path and "old_string" in props and "new_string" in props and edit is None:
            edit = Tool(name, schema, path=path)
        elif lower in SHELL_NAMES and shell is None:
            command = "cmd" if "cmd" in props else "command" if "command" in props else ""
            if command:
                shell = Tool(name, schema, command=command, argv=_schema_type(props[command]) == "array")
    return Toolbox(read, write, edit, shell)


def _call(tool: Tool, args: dict[str, Any]) -> Step:
    """A call of ``tool`` with ``args`` plus the schema's other required properties, filled by type."""
    props = _props(tool.schema)
    required = tool.schema.get("required") if isinstance(tool.schema, dict) else None
    full = dict(args)
    for name in required if isinstance(required, list) else []:
        if name not in full and name in props:
            full[name] = sample_for_schema(props[name], root=tool.schema)
    return Step(tool_name=tool.name, tool_args=full)


def _shell(tool: Tool, command: str) -> Step:
    return _call(tool, {tool.command: ["bash", "-lc", command] if tool.argv else command})


def _read(box: Toolbox, path: str) -> Step | None:
    if box.read:
        return _call(box.read, {box.read.path: path})
    if box.shell:
        return _shell(box.shell, f"cat {shlex.quote(path)}")
    return None


def _is_read(call: ToolCall, box: Toolbox) -> bool:
    if box.read and call.name == box.read.name:
        return True
    return bool(box.shell and call.name == box.shell.name and " cat " in f" {_command_text(call, box.shell)} ")


def _is_edit(call: ToolCall, box: Toolbox) -> bool:
    if any(tool and call.name == tool.name for tool in (box.write, box.edit)):
        return True
    return bool(box.shell and call.name == box.shell.name and "sed -i" in _command_text(call, box.shell))


def _command_text(call: ToolCall, shell: Tool) -> str:
    value = call.args.get(shell.command)
    return " ".join(map(str, value)) if isinstance(value, list) else str(value or "")


def file_text(result: str) -> str:
    """A file's content from a read tool's result: without Claude Code's line numbers and reminders,
    Codex's ``Output:`` header, or Gemini CLI's ``{"output": …}`` (which a proxy passes to other
    protocols as JSON text)."""
    text = HARNESS_BLOCKS.sub("", result)
    try:
        wrapped = json.loads(text)
    except ValueError:
        wrapped = None
    if isinstance(wrapped, dict):
        values = [wrapped[k] for k in ("output", "content", "result") if isinstance(wrapped.get(k), str)]
        values = values or [v for v in wrapped.values() if isinstance(v, str)][:1]
        if values:
            text = values[0]
    if "\nOutput:\n" in text:
        text = text.split("\nOutput:\n", 1)[1]
    lines = [line for line in text.split("\n") if line.strip()]
    numbered = re.compile(r"^\s*\d+(?:→|\t)")
    if lines and all(numbered.match(line) for line in lines):
        lines = [numbered.sub("", line, count=1) for line in lines]
    return "\n".join(lines) + "\n" if lines else ""


# ---------------------------------------------------------------- the plan


def plan_agent(view: NeutralRequest) -> Step | None:
    """The next step for a tagged task, or None when the newest human text carries no tag."""
    match = TAG.search(view.human_text)
    if not match:
        return None
    action, count, path = match.group(1), match.group(2), match.group(3)
    box = find_tools(view.tool_schemas)
    calls = view.tool_calls[view.turn_start_calls:]
    results = view.tool_results[view.turn_start_results:]
    pending = len(calls) > len(results)  # a call without its result yet: nothing new to act on
    if len(calls) >= MAX_STEPS:
        return Step(text=f"I stopped after {len(calls)} tool calls.")
    if action == "read":
        return _plan_read(box, path, calls, results) if not pending else Step(text="Waiting for the tool result.")
    if action == "edit":
        return _plan_edit(box, path, calls, results)
    if action == "reread":
        return _plan_reread(box, path, calls, results)
    if action == "session":
        return _plan_session(box, path, calls, results)
    return _plan_repeat(box, path, int(count or 1), calls, results)


def _no_tool(what: str) -> Step:
    return Step(text=f"I cannot {what}: no suitable tool was offered.")


def _plan_read(box: Toolbox, path: str, calls: list[ToolCall], results: list[str]) -> Step:
    if not results:
        return _read(box, path) or _no_tool(f"read {path}")
    last = results[-1]
    if secret := SECRET.search(last):
        return Step(text=f"The secret word is {secret.group(1)}.")
    if (see := SEE.search(last)) and see.group(1) not in _paths_read(calls):
        return _read(box, see.group(1)) or _no_tool(f"read {see.group(1)}")
    return Step(text=f"I read {path}: {file_text(last).strip()[:200]}")


def _paths_read(calls: list[ToolCall]) -> set[str]:
    """Every absolute path the calls so far named (as a path argument or inside a shell command)."""
    return {p.strip("'\"") for call in calls for v in call.args.values()
            for p in re.findall(r"/[^\s'\"]+", " ".join(map(str, v)) if isinstance(v, list) else str(v))}


def _plan_edit(box: Toolbox, path: str, calls: list[ToolCall], results: list[str]) -> Step:
    edits = [i for i, call in enumerate(calls) if _is_edit(call, box)]
    if edits:
        return Step(text=f"Edited {path}.") if len(results) > edits[-1] else Step(text="Waiting for the edit.")
    if len(calls) > len(results):
        return Step(text="Waiting for the tool result.")
    reads = [i for i, call in enumerate(calls) if _is_read(call, box)]
    if box.write or box.edit:
        if not reads and (read := _read(box, path)):
            return read  # write tools need the content, and Claude Code's need a prior read
        if box.write:
            content = file_text(results[reads[-1]]) if reads else "status: TODO\n"
            return _call(box.write, {box.write.path: path, "content": content.replace("TODO", "DONE")})
        assert box.edit is not None
        return _call(box.edit, {box.edit.path: path, "old_string": "TODO", "new_string": "DONE"})
    if box.shell:
        return _shell(box.shell, f"sed -i 's/TODO/DONE/' {shlex.quote(path)}")
    return _no_tool(f"edit {path}")


def _plan_reread(box: Toolbox, path: str, calls: list[ToolCall], results: list[str]) -> Step:
    if len(calls) > len(results):
        return Step(text="Waiting for the tool result.")
    if len(results) == 1 and box.shell:
        return _shell(box.shell, "seq 1 4000")
    if len(results) < 3:
        return _read(box, path) or _no_tool(f"read {path}")
    words = [m.group(1) for r in reversed(results) if (m := SECRET.search(r))]
    compacted = sum(COMPACTED in r for r in results)
    return Step(text=f"The secret word is {words[0] if words else 'unknown'}. ({compacted} compacted results)")


def _plan_session(box: Toolbox, directory: str, calls: list[ToolCall], results: list[str]) -> Step:
    if len(calls) > len(results):
        return Step(text="Waiting for the tool result.")
    if len(results) >= len(SESSION):
        return Step(text=f"Session done. ({sum(COMPACTED in r for r in results)} compacted results)")
    kind, what = SESSION[len(results)]
    if kind == "read":
        return _read(box, f"{directory}/{what}") or _no_tool(f"read {what}")
    if kind == "edit" and box.edit:
        return _call(box.edit, {box.edit.path: f"{directory}/{what}", "old_string": "TODO", "new_string": "DONE"})
    if kind == "edit":
        what = f"sed -i 's/TODO/DONE/' {shlex.quote(f'{directory}/{what}')}"
    return _shell(box.shell, what) if box.shell else _no_tool("run a command")


def _plan_repeat(box: Toolbox, path: str, times: int, calls: list[ToolCall], results: list[str]) -> Step:
    if len(calls) > len(results):
        return Step(text="Waiting for the tool result.")
    if len(results) >= times:
        return Step(text=f"Read {path} {times} times.")
    return _read(box, path) or _no_tool(f"read {path}")
