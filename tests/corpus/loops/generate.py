"""Writes the labelled loop corpus (``*.json`` beside this file) from the scenarios below.

Run ``python tests/corpus/loops/generate.py`` after editing a scenario; the JSON files are
committed so the corpus test reads fixed data. Every conversation is rendered in the wire
format of one client, as that client sends it:

* ``claude-code`` — Anthropic Messages with Claude Code's tools (Read, Bash, Edit, Grep) and its
  tool_result shapes (``cat -n``-style Read output, ``is_error`` Bash failures);
* ``codex`` — OpenAI Responses as Codex CLI sends it (``exec_command`` {cmd}, reasoning items,
  function_call_output with ``Chunk ID`` / ``Wall time`` headers that change on every run);
* ``gemini-cli`` — Gemini generateContent with read_file / run_shell_command / replace and
  Gemini CLI's function responses (``Process Group PGID`` changes on every run);
* ``openai-sdk`` — OpenAI Chat Completions as an SDK agent sends it.

Labels: ``legitimate`` | ``tool_loop`` | ``cycle`` | ``no_progress`` | ``text_loop``. Tool loops carry
``loop_start`` (index among the conversation's tool calls of the first looping call) and
``stop_at`` (index of the call by which it must be stopped); text cases carry the answer as the
client's wire *response* and, for loops, ``loop_start_char`` / ``stop_by_char`` offsets in its text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ROOT = "/home/dev/invoicer"

# How far past its start each kind of loop may run before it must be stopped (see the README):
# a call repeated with the same result is stopped at its 6th occurrence (a warning after the 5th),
# a cycle of period p after 3 full rounds plus 2 calls, a no-progress streak at its 10th call.
TOOL_LOOP_STOP = 5
CYCLE_ROUNDS = 3
NO_PROGRESS_STOP = 9


# ---------------------------------------------------------------- abstract conversations


@dataclass
class Call:
    tool: str  # read | shell | edit | grep | or a plain function name (openai-sdk)
    args: dict[str, Any]
    result: str
    error: bool = False
    mark: str = ""  # "start": the first call of the loop


@dataclass
class Turn:
    role: str  # user | assistant | final
    text: str = ""
    calls: list[Call] = field(default_factory=list)


def user(text: str) -> Turn:
    return Turn("user", text)


def say(text: str, *calls: Call) -> Turn:
    return Turn("assistant", text, list(calls))


def act(*calls: Call) -> Turn:
    return Turn("assistant", "", list(calls))


def final(text: str) -> Turn:
    return Turn("final", text)


def read(path: str, content: str, mark: str = "", **extra: Any) -> Call:
    return Call("read", {"path": path, **extra}, content, mark=mark)


def shell(cmd: str, output: str, code: int = 0, mark: str = "", desc: str = "") -> Call:
    return Call("shell", {"cmd": cmd, "desc": desc or _describe(cmd), "code": code}, output, error=code != 0, mark=mark)


def edit(path: str, old: str, new: str, ok: bool = True, mark: str = "") -> Call:
    return Call("edit", {"path": path, "old": old, "new": new}, "", error=not ok, mark=mark)


def grep(pattern: str, path: str, output: str, mark: str = "") -> Call:
    return Call("grep", {"pattern": pattern, "path": path}, output, mark=mark)


def fn(name: str, result: str, mark: str = "", error: bool = False, **args: Any) -> Call:
    return Call(name, args, result, error=error, mark=mark)


def _describe(cmd: str) -> str:
    head = cmd.split()[0] if cmd.split() else cmd
    return {"pytest": "Run the test suite", "python": "Run the test suite", "npm": "Run npm script",
            "git": "Check repository state", "gh": "Check CI run status", "cargo": "Build the crate",
            "ls": "List files", "cat": "Show file", "kubectl": "Check rollout", "curl": "Query service"}.get(
        head, f"Run {head}")


# ---------------------------------------------------------------- a small project the agents work on

TOTALS_V1 = '''"""Invoice totals."""

from decimal import Decimal


def line_total(quantity: int, unit_price: Decimal) -> Decimal:
    return unit_price * quantity


def invoice_total(lines: list[tuple[int, Decimal]], discount: Decimal = Decimal("0")) -> Decimal:
    subtotal = sum(line_total(q, p) for q, p in lines)
    return subtotal - subtotal * discount
'''
TOTALS_V2 = TOTALS_V1.replace("    return subtotal - subtotal * discount\n",
                              '    total = subtotal - subtotal * discount\n    return total.quantize(Decimal("0.01"))\n')
TOTALS_V3 = TOTALS_V2.replace("    subtotal = sum(line_total(q, p) for q, p in lines)\n",
                              '    subtotal = sum((line_total(q, p) for q, p in lines), Decimal("0"))\n')
TEST_TOTALS = '''from decimal import Decimal

from invoicer.totals import invoice_total, line_total


def test_line_total():
    assert line_total(3, Decimal("2.50")) == Decimal("7.50")


def test_invoice_total_rounds_to_cents():
    lines = [(1, Decimal("19.99")), (2, Decimal("0.333"))]
    assert invoice_total(lines, Decimal("0.1")) == Decimal("18.59")


def test_empty_invoice_is_zero():
    assert invoice_total([]) == Decimal("0.00")
'''
CONFIG_PY = '''import os

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///invoicer.db")
CURRENCY = os.environ.get("INVOICER_CURRENCY", "EUR")
ROUNDING = "ROUND_HALF_UP"
PDF_TEMPLATE = "templates/invoice.html"
'''
CLI_PY = '''import argparse

from .totals import invoice_total


def main(argv=None):
    parser = argparse.ArgumentParser(prog="invoicer")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    print(invoice_total(load(args.file)))
'''
DATE_TS = '''export function formatDate(d: Date, locale = "en-GB"): string {
  return d.toLocaleDateString(locale, { year: "numeric", month: "short", day: "2-digit" });
}

export function addDays(d: Date, days: number): Date {
  const copy = new Date(d);
  copy.setDate(copy.getDate() + days);
  return copy;
}
'''
DATE_TS_FIXED = DATE_TS.replace("copy.setDate(copy.getDate() + days);", "copy.setUTCDate(copy.getUTCDate() + days);")
PACKAGE_JSON = '''{
  "name": "web-dates",
  "version": "1.4.0",
  "scripts": {"test": "vitest run", "build": "tsc -p ."},
  "devDependencies": {"typescript": "^5.4.0", "vitest": "^1.6.0"}
}
'''
MAIN_RS = '''use std::env;

mod config;

fn main() {
    let path = env::args().nth(1).expect("usage: ledger <file>");
    let cfg = config::load(&path).unwrap();
    println!("{} accounts", cfg.accounts.len());
}
'''

PYTEST_FAIL = '''============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /home/dev/invoicer
collected 3 items

tests/test_totals.py .F.                                                 [100%]

=================================== FAILURES ===================================
_____________________ test_invoice_total_rounds_to_cents ______________________

    def test_invoice_total_rounds_to_cents():
        lines = [(1, Decimal("19.99")), (2, Decimal("0.333"))]
>       assert invoice_total(lines, Decimal("0.1")) == Decimal("18.59")
E       AssertionError: assert Decimal('18.5904') == Decimal('18.59')

tests/test_totals.py:11: AssertionError
=========================== short test summary info ============================
FAILED tests/test_totals.py::test_invoice_total_rounds_to_cents - AssertionError
========================= 1 failed, 2 passed in @T@ ==========================='''
PYTEST_FAIL_EMPTY = PYTEST_FAIL.replace("tests/test_totals.py .F.", "tests/test_totals.py ..F").replace(
    "_____________________ test_invoice_total_rounds_to_cents ______________________\n\n"
    "    def test_invoice_total_rounds_to_cents():\n"
    "        lines = [(1, Decimal(\"19.99\")), (2, Decimal(\"0.333\"))]\n"
    ">       assert invoice_total(lines, Decimal(\"0.1\")) == Decimal(\"18.59\")\n"
    "E       AssertionError: assert Decimal('18.5904') == Decimal('18.59')\n\n"
    "tests/test_totals.py:11: AssertionError",
    "__________________________ test_empty_invoice_is_zero __________________________\n\n"
    "    def test_empty_invoice_is_zero():\n"
    ">       assert invoice_total([]) == Decimal(\"0.00\")\n"
    "E       AttributeError: 'int' object has no attribute 'quantize'\n\n"
    "src/invoicer/totals.py:13: AttributeError",
).replace("test_invoice_total_rounds_to_cents - AssertionError", "test_empty_invoice_is_zero - AttributeError")
PYTEST_PASS = '''============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0
rootdir: /home/dev/invoicer
collected 3 items

tests/test_totals.py ...                                                 [100%]

============================== 3 passed in @T@ ==============================='''
VITEST_FAIL = ''' FAIL  src/utils/date.test.ts > addDays > crosses the DST change
AssertionError: expected '2024-03-31T23:00:00.000Z' to be '2024-04-01T00:00:00.000Z'
 ❯ src/utils/date.test.ts:14:35

 Test Files  1 failed | 3 passed (4)
      Tests  1 failed | 17 passed (18)'''
VITEST_PASS = ''' ✓ src/utils/date.test.ts (6)
 ✓ src/utils/money.test.ts (5)
 ✓ src/utils/slug.test.ts (4)
 ✓ src/api/client.test.ts (3)

 Test Files  4 passed (4)
      Tests  18 passed (18)'''
CARGO_ERR_1 = '''   Compiling ledger v0.3.0 (/home/dev/ledger)
error[E0583]: file not found for module `config`
 --> src/main.rs:3:1
  |
3 | mod config;
  | ^^^^^^^^^^^
  |
  = help: to create the module `config`, create file "src/config.rs" or "src/config/mod.rs"

error: could not compile `ledger` (bin "ledger") due to 1 previous error'''
CARGO_ERR_2 = '''   Compiling ledger v0.3.0 (/home/dev/ledger)
error[E0609]: no field `accounts` on type `Config`
 --> src/main.rs:8:29
  |
8 |     println!("{} accounts", cfg.accounts.len());
  |                             ^^^^^^^^ unknown field

error: could not compile `ledger` (bin "ledger") due to 1 previous error'''
CARGO_OK = '''   Compiling ledger v0.3.0 (/home/dev/ledger)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in @T@'''
GIT_STATUS = '''On branch fix/rounding
Changes not staged for commit:
  (use "git add <file>..." to update what will be committed)
  (use "git restore <file>..." to discard changes in working directory)
	modified:   src/invoicer/totals.py

no changes added to commit (use "git add" and/or "git commit -a")'''
GIT_DIFF = '''diff --git a/src/invoicer/totals.py b/src/invoicer/totals.py
index 3f1c2aa..8be41d0 100644
--- a/src/invoicer/totals.py
+++ b/src/invoicer/totals.py
@@ -10,4 +10,5 @@ def line_total(quantity: int, unit_price: Decimal) -> Decimal:
 def invoice_total(lines: list[tuple[int, Decimal]], discount: Decimal = Decimal("0")) -> Decimal:
     subtotal = sum(line_total(q, p) for q, p in lines)
-    return subtotal - subtotal * discount
+    total = subtotal - subtotal * discount
+    return total.quantize(Decimal("0.01"))'''


def gh_run(status: str, done: int, total: int = 8, conclusion: str = "") -> str:
    jobs = "\n".join(
        f"{'✓' if i < done else ('*' if i == done else '-')} {name}"
        for i, name in enumerate(["lint", "typecheck", "unit (3.11)", "unit (3.12)", "integration",
                                   "docs", "build-wheel", "publish-dry-run"][:total])
    )
    return f"{status}{(' ' + conclusion) if conclusion else ''}  CI  fix/rounding  #4821\n\nJOBS\n{jobs}\n"


# ---------------------------------------------------------------- wire renderers


class Renderer:
    client = ""
    format = ""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def new_id(self, prefix: str, length: int = 24) -> str:
        self.n += 1
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(length))

    def timing(self, text: str) -> str:
        return text.replace("@T@", f"{self.rng.uniform(0.18, 1.9):.2f}s")

    def render(self, task: str, turns: list[Turn]) -> dict[str, Any]:
        raise NotImplementedError


def _abs(path: str) -> str:
    return path if path.startswith("/") else f"{ROOT}/{path}"


CLAUDE_SYSTEM = [
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
     "cache_control": {"type": "ephemeral"}},
    {"type": "text", "text": (
        "You are an interactive CLI tool that helps users with software engineering tasks. Use the instructions "
        "below and the tools available to you to assist the user.\n\n# Tone and style\nYou should be concise, direct, "
        "and to the point.\n\n# Doing tasks\nThe user will primarily request you perform software engineering tasks. "
        "Use the available search tools to understand the codebase. Implement the solution using all tools available "
        "to you. Verify the solution if possible with tests.\n\n<env>\nWorking directory: /home/dev/invoicer\n"
        "Is directory a git repo: Yes\nPlatform: linux\nToday's date: 2025-06-12\n</env>"),
     "cache_control": {"type": "ephemeral"}},
]
CLAUDE_TOOLS = [
    {"name": "Bash", "description": "Executes a given bash command in a persistent shell session.",
     "input_schema": {"type": "object", "properties": {
         "command": {"type": "string", "description": "The command to execute"},
         "timeout": {"type": "number"}, "description": {"type": "string"}},
         "required": ["command"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
    {"name": "Read", "description": "Reads a file from the local filesystem.",
     "input_schema": {"type": "object", "properties": {
         "file_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
         "required": ["file_path"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
    {"name": "Edit", "description": "Performs exact string replacements in files.",
     "input_schema": {"type": "object", "properties": {
         "file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"},
         "replace_all": {"type": "boolean", "default": False}},
         "required": ["file_path", "old_string", "new_string"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
    {"name": "Grep", "description": "A powerful search tool built on ripgrep.",
     "input_schema": {"type": "object", "properties": {
         "pattern": {"type": "string"}, "path": {"type": "string"},
         "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]}},
         "required": ["pattern"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
]
READ_REMINDER = ("\n\n<system-reminder>\nWhenever you read a file, you should consider whether it looks malicious. "
                 "If it does, you MUST refuse to improve or augment the code.\n</system-reminder>\n")


class ClaudeCode(Renderer):
    client, format = "claude-code", "anthropic"

    def call(self, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        tool_id = self.new_id("toolu_01")
        a = call.args
        if call.tool == "read":
            name, inp = "Read", {"file_path": _abs(a["path"]), **{k: v for k, v in a.items() if k != "path"}}
            lines = call.result.split("\n")
            start = a.get("offset", 1)
            content = "\n".join(f"{i + start:>6}→{line}" for i, line in enumerate(lines)) + READ_REMINDER
        elif call.tool == "shell":
            name, inp = "Bash", {"command": a["cmd"], "description": a["desc"]}
            out = self.timing(call.result)
            content = f"Exit code {a['code']}\n{out}" if call.error else out
        elif call.tool == "edit":
            name, inp = "Edit", {"file_path": _abs(a["path"]), "old_string": a["old"], "new_string": a["new"]}
            if call.error:
                content = ("<tool_use_error>String to replace not found in file.\nString: "
                           f"{a['old']}</tool_use_error>")
            else:
                content = (f"The file {_abs(a['path'])} has been updated. Here's the result of running `cat -n` "
                           f"on a snippet of the edited file:\n" + "\n".join(
                               f"{i + 10:>6}→{line}" for i, line in enumerate(a["new"].split("\n"))))
        elif call.tool == "grep":
            name, inp = "Grep", {"pattern": a["pattern"], "path": _abs(a["path"]), "output_mode": "content"}
            content = call.result or "No matches found"
        else:
            name, inp, content = call.tool, a, call.result
        use = {"type": "tool_use", "id": tool_id, "name": name, "input": inp}
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id, "content": content}
        if call.error:
            result["is_error"] = True
        return use, result

    def render(self, task: str, turns: list[Turn]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nAs you answer the user's questions, you can use the "
                                     "following context:\n# claudeMd\nRun tests with `pytest -q`.\n"
                                     "</system-reminder>\n"},
            {"type": "text", "text": task},
        ]}]
        for turn in turns:
            if turn.role == "user":
                messages.append({"role": "user", "content": [{"type": "text", "text": turn.text}]})
            elif turn.role == "final":
                messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.text}]})
            else:
                content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
                results = []
                for call in turn.calls:
                    use, result = self.call(call)
                    content.append(use)
                    results.append(result)
                messages.append({"role": "assistant", "content": content})
                messages.append({"role": "user", "content": results})
        messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
        return {
            "model": "claude-sonnet-4-20250514", "max_tokens": 32000, "stream": True,
            "system": CLAUDE_SYSTEM, "messages": messages, "tools": CLAUDE_TOOLS,
            "metadata": {"user_id": "user_5e1d5c0b9a_account__session_" + self.new_id("", 8)},
        }


CODEX_TOOLS = [
    {"type": "function", "name": "exec_command",
     "description": "Runs a command in a PTY, returning output or a session ID for ongoing interaction.",
     "strict": False, "parameters": {"type": "object", "properties": {
         "cmd": {"type": "string", "description": "Shell command to execute."},
         "workdir": {"type": "string"}, "yield_time_ms": {"type": "number"}},
         "required": ["cmd"], "additionalProperties": False}},
    {"type": "function", "name": "update_plan", "description": "Updates the task plan.", "strict": False,
     "parameters": {"type": "object", "properties": {"plan": {"type": "array", "items": {"type": "object"}}},
                    "required": ["plan"], "additionalProperties": False}},
]


class Codex(Renderer):
    client, format = "codex", "openai_responses"

    def command(self, call: Call) -> str:
        a = call.args
        if call.tool == "read":
            if "offset" in a:
                return f"sed -n '{a['offset']},{a['offset'] + a.get('limit', 200) - 1}p' {a['path']}"
            return f"sed -n '1,200p' {a['path']}"
        if call.tool == "shell":
            return a["cmd"]
        if call.tool == "edit":
            old = "\n".join(f"-{line}" for line in a["old"].split("\n"))
            new = "\n".join(f"+{line}" for line in a["new"].split("\n"))
            return f"apply_patch <<'PATCH'\n*** Begin Patch\n*** Update File: {a['path']}\n@@\n{old}\n{new}\n*** End Patch\nPATCH"
        if call.tool == "grep":
            return f"rg -n '{a['pattern']}' {a['path']}"
        raise ValueError(call.tool)

    def output(self, call: Call) -> str:
        if call.tool == "edit":
            body = (f"Success. Updated the following files:\nM {call.args['path']}\n" if not call.error else
                    f"apply_patch verification failed: Failed to find expected lines in {call.args['path']}:\n"
                    f"{call.args['old']}\n")
            code = 1 if call.error else 0
        else:
            body = self.timing(call.result)
            code = call.args.get("code", 0) if call.tool == "shell" else 0
        tokens = max(1, len(body) // 4)
        return (f"Chunk ID: {self.new_id('', 6).lower()}\nWall time: {self.rng.uniform(0.01, 2.5):.4f} seconds\n"
                f"Process exited with code {code}\nOriginal token count: {tokens}\nOutput:\n{body}")

    def render(self, task: str, turns: list[Turn]) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text":
                "<environment_context>\n  <cwd>/home/dev/invoicer</cwd>\n  <approval_policy>on-request</approval_policy>\n"
                "  <sandbox_mode>workspace-write</sandbox_mode>\n  <network_access>restricted</network_access>\n"
                "  <shell>bash</shell>\n</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": task}]},
        ]
        for turn in turns:
            if turn.role == "user":
                items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": turn.text}]})
                continue
            items.append({"type": "reasoning", "id": self.new_id("rs_"), "summary": [],
                          "encrypted_content": "gAAAAAB" + self.new_id("", 48)})
            if turn.text:
                items.append({"type": "message", "role": "assistant", "id": self.new_id("msg_"),
                              "content": [{"type": "output_text", "text": turn.text, "annotations": []}]})
            outputs = []
            for call in turn.calls:
                call_id = self.new_id("call_")
                args = {"cmd": self.command(call)} if call.tool in ("read", "shell", "edit", "grep") else call.args
                if call.tool in ("read", "shell", "edit", "grep"):
                    args["workdir"] = ROOT
                items.append({"type": "function_call", "id": self.new_id("fc_"), "name":
                              "exec_command" if call.tool in ("read", "shell", "edit", "grep") else call.tool,
                              "arguments": json.dumps(args), "call_id": call_id})
                outputs.append({"type": "function_call_output", "call_id": call_id, "output": self.output(call)})
            items.extend(outputs)
        return {
            "model": "gpt-5-codex", "instructions": "You are Codex, based on GPT-5. You are running as a coding agent "
            "in the Codex CLI on a user's computer.\n\n## General\n\n- The arguments to `exec_command` are passed "
            "to a shell.\n- Prefer `rg` for searching.", "input": items, "tools": CODEX_TOOLS,
            "tool_choice": "auto", "parallel_tool_calls": False, "reasoning": {"effort": "medium", "summary": "auto"},
            "store": False, "stream": True, "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "0199" + self.new_id("", 28).lower(),
        }


GEMINI_TOOLS = [{"functionDeclarations": [
    {"name": "read_file", "description": "Reads and returns the content of a specified file.",
     "parametersJsonSchema": {"type": "object", "properties": {
         "absolute_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
         "required": ["absolute_path"]}},
    {"name": "run_shell_command", "description": "Executes a given shell command as `bash -c <command>`.",
     "parametersJsonSchema": {"type": "object", "properties": {
         "command": {"type": "string"}, "description": {"type": "string"}, "directory": {"type": "string"}},
         "required": ["command"]}},
    {"name": "replace", "description": "Replaces text within a file.",
     "parametersJsonSchema": {"type": "object", "properties": {
         "file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"}},
         "required": ["file_path", "old_string", "new_string"]}},
    {"name": "search_file_content", "description": "Searches for a regular expression pattern within files.",
     "parametersJsonSchema": {"type": "object", "properties": {
         "pattern": {"type": "string"}, "path": {"type": "string"}}, "required": ["pattern"]}},
]}]


class GeminiCli(Renderer):
    client, format = "gemini-cli", "gemini"

    def call(self, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        a = call.args
        if call.tool == "read":
            name = "read_file"
            args = {"absolute_path": _abs(a["path"]), **{k: v for k, v in a.items() if k != "path"}}
            response: dict[str, Any] = {"output": call.result}
        elif call.tool == "shell":
            name, args = "run_shell_command", {"command": a["cmd"], "description": a["desc"]}
            out = self.timing(call.result)
            response = {"output": (
                f"Command: {a['cmd']}\nDirectory: (root)\nOutput: {out}\nError: (none)\nExit Code: {a['code']}\n"
                f"Signal: (none)\nBackground PIDs: (none)\nProcess Group PGID: {self.rng.randint(20000, 99999)}")}
        elif call.tool == "edit":
            name = "replace"
            args = {"file_path": _abs(a["path"]), "old_string": a["old"], "new_string": a["new"]}
            response = ({"error": f"Failed to edit, 0 occurrences found for old_string in {_abs(a['path'])}. "
                                  "No edits made. The exact text in old_string was not found."}
                        if call.error else {"output": f"Successfully modified file: {_abs(a['path'])} (1 replacements)."})
        elif call.tool == "grep":
            name, args = "search_file_content", {"pattern": a["pattern"], "path": _abs(a["path"])}
            response = {"output": call.result or f'No matches found for pattern "{a["pattern"]}".'}
        else:
            name, args, response = call.tool, a, {"output": call.result}
        return ({"functionCall": {"name": name, "args": args}},
                {"functionResponse": {"name": name, "response": response}})

    def render(self, task: str, turns: list[Turn]) -> dict[str, Any]:
        contents: list[dict[str, Any]] = [
            {"role": "user", "parts": [{"text": "This is the Gemini CLI. We are setting up the context for our chat.\n"
                                                "Today's date is Thursday, June 12, 2025.\nMy operating system is: linux\n"
                                                "I'm currently working in the directory: /home/dev/web-dates"}]},
            {"role": "model", "parts": [{"text": "Got it. Thanks for the context!"}]},
            {"role": "user", "parts": [{"text": task}]},
        ]
        for turn in turns:
            if turn.role == "user":
                contents.append({"role": "user", "parts": [{"text": turn.text}]})
            elif turn.role == "final":
                contents.append({"role": "model", "parts": [{"text": turn.text}]})
            else:
                parts: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
                responses = []
                for call in turn.calls:
                    call_part, response = self.call(call)
                    parts.append(call_part)
                    responses.append(response)
                contents.append({"role": "model", "parts": parts})
                contents.append({"role": "user", "parts": responses})
        return {
            "contents": contents, "tools": GEMINI_TOOLS,
            "systemInstruction": {"role": "user", "parts": [{"text": "You are an interactive CLI agent specializing "
                                                                     "in software engineering tasks."}]},
            "generationConfig": {"temperature": 0, "topP": 1, "thinkingConfig": {"includeThoughts": True}},
        }


SDK_TOOLS = {
    "get_weather": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "search_docs": {"query": {"type": "string"}, "page": {"type": "integer"}},
    "get_page": {"id": {"type": "string"}},
    "run_sql": {"query": {"type": "string"}},
    "http_get": {"url": {"type": "string"}},
    "read_file": {"path": {"type": "string"}},
    "run_command": {"command": {"type": "string"}},
    "queue_length": {"queue": {"type": "string"}},
    "process_batch": {"queue": {"type": "string"}, "size": {"type": "integer"}},
    "get_order": {"order_id": {"type": "string"}},
    "list_refunds": {"order_id": {"type": "string"}},
}


class OpenAISdk(Renderer):
    client, format = "openai-sdk", "openai_chat"

    def render(self, task: str, turns: list[Turn]) -> dict[str, Any]:
        used: list[str] = []
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You are a helpful assistant with tools. Use them when needed."},
            {"role": "user", "content": task},
        ]
        for turn in turns:
            if turn.role == "user":
                messages.append({"role": "user", "content": turn.text})
            elif turn.role == "final":
                messages.append({"role": "assistant", "content": turn.text})
            else:
                calls, results = [], []
                for call in turn.calls:
                    name, args = call.tool, dict(call.args)
                    if name in ("read", "shell"):
                        name, args = (("read_file", {"path": args["path"]}) if name == "read"
                                      else ("run_command", {"command": args["cmd"]}))
                    used.append(name)
                    call_id = self.new_id("call_")
                    raw = args.pop("__raw__", None) or json.dumps(args)
                    calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}})
                    results.append({"role": "tool", "tool_call_id": call_id, "content": self.timing(call.result)})
                messages.append({"role": "assistant", "content": turn.text or None, "tool_calls": calls})
                messages.extend(results)
        tools = [{"type": "function", "function": {"name": name, "description": name.replace("_", " "),
                                                   "parameters": {"type": "object", "properties": SDK_TOOLS[name]}}}
                 for name in dict.fromkeys(used)]
        return {"model": "gpt-4o", "messages": messages, "tools": tools, "tool_choice": "auto"}


RENDERERS: dict[str, type[Renderer]] = {r.client: r for r in (ClaudeCode, Codex, GeminiCli, OpenAISdk)}


# ---------------------------------------------------------------- text answers (wire responses)


def response_body(client: str, text: str) -> dict[str, Any]:
    usage_out = max(1, len(text) // 4)
    if client == "claude-code":
        return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-20250514", "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 2095, "output_tokens": usage_out}}
    if client == "codex":
        return {"id": "resp_67ccd2bed1ec8190b14f964abc054267", "object": "response", "created_at": 1741476542,
                "status": "completed", "model": "gpt-5-codex", "output": [
                    {"type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6", "status": "completed",
                     "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": 1800, "output_tokens": usage_out, "total_tokens": 1800 + usage_out}}
    if client == "gemini-cli":
        return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                                "index": 0}],
                "usageMetadata": {"promptTokenCount": 1500, "candidatesTokenCount": usage_out,
                                  "totalTokenCount": 1500 + usage_out}, "modelVersion": "gemini-2.5-pro"}
    return {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "created": 1741569952,
            "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                       "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1117, "completion_tokens": usage_out, "total_tokens": 1117 + usage_out}}


def text_request(client: str, prompt: str) -> dict[str, Any]:
    return RENDERERS[client](random.Random(0)).render(prompt, [])


# ---------------------------------------------------------------- the corpus

CORPUS: list[dict[str, Any]] = []


def conversation(name: str, client: str, label: str, description: str, task: str, turns: list[Turn],
                 seed: int = 0) -> None:
    rng = random.Random(f"{name}:{seed}")
    request = RENDERERS[client](rng).render(task, turns)
    entry: dict[str, Any] = {"id": name, "label": label, "client": client, "format": RENDERERS[client].format,
                             "description": description}
    calls = [call for turn in turns for call in turn.calls]
    if label in ("tool_loop", "cycle", "no_progress"):
        starts = [i for i, call in enumerate(calls) if call.mark.startswith("start")]
        assert len(starts) == 1, name
        start = starts[0]
        if label == "tool_loop":
            stop = start + TOOL_LOOP_STOP
        elif label == "cycle":
            period = int(calls[start].mark.split(":")[1])
            stop = start + CYCLE_ROUNDS * period + 1
        else:
            stop = start + NO_PROGRESS_STOP
        assert stop < len(calls), f"{name}: the loop must run past its stop ({stop} >= {len(calls)})"
        entry.update(loop_start=start, stop_at=stop)
    entry["calls"] = len(calls)
    entry["request"] = request
    CORPUS.append(entry)


def text_case(name: str, client: str, label: str, description: str, prompt: str, answer: str,
              loop_start: int | None = None, stop_by: int | None = None, unit: int = 0,
              paraphrased: bool = False) -> None:
    entry: dict[str, Any] = {"id": name, "label": label, "client": client, "format": RENDERERS[client].format,
                             "description": description}
    if label == "text_loop":
        assert loop_start is not None and stop_by is not None and stop_by <= len(answer), name
        # ``unit_chars``: one more copy (or rewording) of the looping block, the leeway a detector gets.
        entry.update(loop_start_char=loop_start, stop_by_char=stop_by, unit_chars=unit, paraphrased=paraphrased)
    entry["request"] = text_request(client, prompt)
    entry["response"] = response_body(client, answer)
    CORPUS.append(entry)


def repeat(n: int, make: Callable[[int], list[Turn]]) -> list[Turn]:
    return [turn for i in range(n) for turn in make(i)]


FIX_TASK = "The rounding test fails: invoice totals should be rounded to cents. Please fix it."


def build_tool_scenarios() -> None:
    # ------------------------------------------------------------ legitimate
    conversation(
        "cc-legit-test-before-and-after-fix", "claude-code", "legitimate",
        "The same test command before and after a fix: its output changes.", FIX_TASK, [
            say("I'll run the tests first to see the failure.", shell("pytest -q tests/test_totals.py", PYTEST_FAIL, 1)),
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            say("The total is not quantized. Let me fix that.",
                edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     '    total = subtotal - subtotal * discount\n    return total.quantize(Decimal("0.01"))')),
            act(shell("pytest -q tests/test_totals.py", PYTEST_FAIL_EMPTY, 1)),
            say("The empty invoice sums to int 0. Give sum a Decimal start value.",
                edit("src/invoicer/totals.py", "    subtotal = sum(line_total(q, p) for q, p in lines)",
                     '    subtotal = sum((line_total(q, p) for q, p in lines), Decimal("0"))')),
            act(shell("pytest -q tests/test_totals.py", PYTEST_PASS)),
            final("Fixed: `invoice_total` now starts the sum at `Decimal(\"0\")` and rounds to cents. All 3 tests pass."),
        ])
    conversation(
        "cc-legit-reread-after-edit", "claude-code", "legitimate",
        "Re-reading a file after each edit: the file changed every time.", FIX_TASK, [
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     '    total = subtotal - subtotal * discount\n    return total.quantize(Decimal("0.01"))')),
            say("Let me re-read the file to check the edit.", read("src/invoicer/totals.py", TOTALS_V2)),
            act(edit("src/invoicer/totals.py", "    subtotal = sum(line_total(q, p) for q, p in lines)",
                     '    subtotal = sum((line_total(q, p) for q, p in lines), Decimal("0"))')),
            act(read("src/invoicer/totals.py", TOTALS_V3)),
            act(shell("pytest -q", PYTEST_PASS)),
            final("Done: both edits are in place and the suite passes."),
        ])
    conversation(
        "cc-legit-poll-ci-changing", "claude-code", "legitimate",
        "Polling a CI run whose status changes between polls.", "Push the branch and wait for CI to go green.", [
            act(shell("git push -u origin fix/rounding", "branch 'fix/rounding' set up to track 'origin/fix/rounding'.")),
            *[act(shell("sleep 30 && gh run view 4821", gh_run("in_progress", d))) for d in (0, 1, 2, 3, 5, 6, 7)],
            act(shell("sleep 30 && gh run view 4821", gh_run("completed", 8, conclusion="success"))),
            final("CI run #4821 passed: all 8 jobs are green."),
        ])
    conversation(
        "codex-legit-poll-some-identical", "codex", "legitimate",
        "Polling with a few identical answers in a row (fewer than the limit) before the status changes.",
        "Wait for the CI run on fix/rounding to finish and tell me the result.", [
            act(shell("gh run view 4821", gh_run("in_progress", 2))),
            act(shell("sleep 60; gh run view 4821", gh_run("in_progress", 2))),
            act(shell("sleep 60; gh run view 4821", gh_run("in_progress", 2))),
            act(shell("sleep 60; gh run view 4821", gh_run("in_progress", 2))),
            act(shell("sleep 60; gh run view 4821", gh_run("in_progress", 4))),
            act(shell("sleep 60; gh run view 4821", gh_run("in_progress", 4))),
            act(shell("sleep 60; gh run view 4821", gh_run("completed", 8, conclusion="success"))),
            final("The run finished successfully."),
        ])
    conversation(
        "codex-legit-same-failure-across-fix-attempts", "codex", "legitimate",
        "The same failing test output after two unsuccessful fixes (each a different patch), then a pass.", FIX_TASK, [
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     "    return round(subtotal - subtotal * discount, 2)")),
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(edit("src/invoicer/totals.py", "    return round(subtotal - subtotal * discount, 2)",
                     "    return (subtotal - subtotal * discount).normalize()")),
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(edit("src/invoicer/totals.py", "    return (subtotal - subtotal * discount).normalize()",
                     '    return (subtotal - subtotal * discount).quantize(Decimal("0.01"))')),
            act(shell("pytest -q", PYTEST_PASS)),
            final("The total is now quantized to cents; tests pass."),
        ])
    conversation(
        "codex-legit-cargo-build-iterations", "codex", "legitimate",
        "Building after each fix: the compiler's answer changes every time.",
        "The ledger crate doesn't build; fix it.", [
            act(shell("cargo build", CARGO_ERR_1, 101)),
            act(read("src/main.rs", MAIN_RS)),
            act(shell("cat > src/config.rs <<'EOF'\npub struct Config { pub name: String }\npub fn load(_: &str) -> "
                      "Result<Config, String> { Ok(Config { name: String::new() }) }\nEOF", "")),
            act(shell("cargo build", CARGO_ERR_2, 101)),
            act(edit("src/config.rs", "pub struct Config { pub name: String }",
                     "pub struct Config { pub name: String, pub accounts: Vec<String> }")),
            act(shell("cargo build", CARGO_ERR_2.replace("E0609", "E0063").replace(
                "no field `accounts` on type `Config`", "missing field `accounts` in initializer of `Config`"), 101)),
            act(edit("src/config.rs", "Ok(Config { name: String::new() })",
                     "Ok(Config { name: String::new(), accounts: Vec::new() })")),
            act(shell("cargo build", CARGO_OK)),
            act(shell("cargo test", "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; finished in @T@")),
            final("It builds now: I added `src/config.rs` with a `Config { name, accounts }` and `load`."),
        ])
    explore = [("ls", "Cargo.toml\nREADME.md\nsrc\ntests"), ("ls src", "config.rs\nmain.rs\nparse.rs\nreport.rs"),
               ("rg -n 'fn load' src", "src/config.rs:4:pub fn load(path: &str) -> Result<Config, Error> {"),
               ("sed -n '1,80p' src/config.rs", "use std::fs;\n\npub struct Config { pub accounts: Vec<Account> }\n"),
               ("sed -n '1,120p' src/parse.rs", "pub fn parse_line(line: &str) -> Option<Entry> {\n    todo!()\n}"),
               ("rg -n 'todo!' src", "src/parse.rs:2:    todo!()\nsrc/report.rs:17:    todo!()"),
               ("sed -n '1,80p' src/report.rs", "pub fn monthly(entries: &[Entry]) -> Report {\n    todo!()\n}"),
               ("git log --oneline -5", "a1b2c3d parse: skeleton\n9f8e7d6 initial import"),
               ("cat Cargo.toml", "[package]\nname = \"ledger\"\nversion = \"0.3.0\"\nedition = \"2021\""),
               ("ls tests", "parse.rs"), ("sed -n '1,60p' tests/parse.rs", "#[test]\nfn parses_a_line() {}"),
               ("rg -n 'Entry' src", "src/parse.rs:1:pub fn parse_line(line: &str) -> Option<Entry> {")]
    conversation(
        "codex-legit-long-exploration", "codex", "legitimate",
        "A long exploration: many different commands, none repeated.", "Give me an overview of the ledger crate.",
        [act(shell(cmd, out)) for cmd, out in explore] +
        [final("The crate has config loading done; `parse_line` and `monthly` are still `todo!()`.")])
    conversation(
        "gemini-legit-fix-date-bug", "gemini-cli", "legitimate",
        "Tests fail, the agent reads, edits and reruns: results change.", "Fix the failing date test.", [
            act(shell("npm test", VITEST_FAIL, 1)),
            act(read("src/utils/date.ts", DATE_TS)),
            act(edit("src/utils/date.ts", "copy.setDate(copy.getDate() + days);",
                     "copy.setUTCDate(copy.getUTCDate() + days);")),
            act(shell("npm test", VITEST_PASS)),
            final("`addDays` now works in UTC, so the DST test passes."),
        ])
    conversation(
        "gemini-legit-git-status-start-and-end", "gemini-cli", "legitimate",
        "The same `git status` at the start and at the end of a task (same output, far apart).",
        "Bump the package version to 1.4.1 and check nothing else is modified.", [
            act(shell("git status --short", "")),
            act(read("package.json", PACKAGE_JSON)),
            act(edit("package.json", '"version": "1.4.0"', '"version": "1.4.1"')),
            act(shell("npm run build", "> web-dates@1.4.1 build\n> tsc -p .")),
            act(shell("git diff --stat", " package.json | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)")),
            act(shell("git status --short", " M package.json")),
            final("Version bumped to 1.4.1; only package.json changed."),
        ])
    conversation(
        "gemini-legit-rollout-polling", "gemini-cli", "legitimate",
        "Polling a Kubernetes rollout whose progress changes.", "Deploy web-dates 1.4.1 and wait for the rollout.", [
            act(shell("kubectl set image deploy/web-dates web=registry/web-dates:1.4.1",
                      "deployment.apps/web-dates image updated")),
            *[act(shell("kubectl rollout status deploy/web-dates --timeout=30s",
                        f'Waiting for deployment "web-dates" rollout to finish: {n} of 6 updated replicas are available...\n'
                        'error: timed out waiting for the condition', 1)) for n in (1, 2, 3, 4, 5)],
            act(shell("kubectl rollout status deploy/web-dates --timeout=30s",
                      'deployment "web-dates" successfully rolled out')),
            final("Rolled out: 6/6 replicas run 1.4.1."),
        ])
    conversation(
        "gemini-legit-reading-many-files", "gemini-cli", "legitimate",
        "Reading many different files, re-reading the config twice with other work in between.",
        "Explain how dates and money are formatted in this app.", [
            act(read("src/utils/date.ts", DATE_TS)),
            act(read("src/config.ts", 'export const LOCALE = "en-GB";\nexport const CURRENCY = "EUR";')),
            act(read("src/utils/money.ts", "export const fmt = (n: number) => new Intl.NumberFormat(LOCALE, "
                     "{ style: 'currency', currency: CURRENCY }).format(n);")),
            act(read("src/config.ts", 'export const LOCALE = "en-GB";\nexport const CURRENCY = "EUR";')),
            act(grep("formatDate", "src", "src/pages/invoice.tsx:12: {formatDate(invoice.date)}")),
            act(read("src/pages/invoice.tsx", "export function Invoice({ invoice }) {\n  return <p>{formatDate(invoice.date)}</p>;\n}")),
            act(read("src/config.ts", 'export const LOCALE = "en-GB";\nexport const CURRENCY = "EUR";')),
            final("Both use the LOCALE and CURRENCY constants from src/config.ts (en-GB, EUR)."),
        ])
    conversation(
        "sdk-legit-weather-several-cities", "openai-sdk", "legitimate",
        "The same tool called for several cities (different arguments).", "Compare the weather in five capitals.", [
            act(*[fn("get_weather", f'{{"city": "{city}", "temp_c": {t}, "sky": "clear"}}', city=city, unit="celsius")
                  for city, t in (("Paris", 18), ("Berlin", 15), ("Madrid", 24))]),
            act(fn("get_weather", '{"city": "Rome", "temp_c": 22, "sky": "cloudy"}', city="Rome", unit="celsius")),
            act(fn("get_weather", '{"city": "Vienna", "temp_c": 16, "sky": "rain"}', city="Vienna", unit="celsius")),
            final("Madrid is warmest (24 °C), Berlin coolest (15 °C)."),
        ])
    conversation(
        "sdk-legit-paging-search", "openai-sdk", "legitimate",
        "Paging through search results: same tool and query, page changes.", "Find every doc page about refunds.", [
            *[act(fn("search_docs", json.dumps({"results": [f"refunds-{page}-{i}" for i in range(3)], "page": page,
                                                "has_more": page < 5}), query="refund", page=page))
              for page in range(1, 6)],
            final("There are 15 pages about refunds."),
        ])
    conversation(
        "sdk-legit-alternating-with-changing-results", "openai-sdk", "legitimate",
        "A,B,A,B alternation whose results change (a queue drains).", "Drain the invoices queue in batches of 50.", [
            *[turn for n in (200, 150, 100, 50) for turn in (
                act(fn("queue_length", json.dumps({"queue": "invoices", "length": n}), queue="invoices")),
                act(fn("process_batch", json.dumps({"processed": 50, "failed": 0}), queue="invoices", size=50)))],
            act(fn("queue_length", json.dumps({"queue": "invoices", "length": 0}), queue="invoices")),
            final("The queue is empty: 200 invoices processed in 4 batches."),
        ])
    conversation(
        "sdk-legit-retry-after-transient-error", "openai-sdk", "legitimate",
        "An HTTP call retried after transient 503s, then succeeding.", "Fetch the status page of the billing API.", [
            act(fn("http_get", "HTTP 503 Service Unavailable: upstream connect error", url="https://billing.internal/status",
                   error=True)),
            act(fn("http_get", "HTTP 503 Service Unavailable: upstream connect error", url="https://billing.internal/status",
                   error=True)),
            act(fn("http_get", '{"status": "ok", "version": "2.14.1"}', url="https://billing.internal/status")),
            final("Billing API is up (2.14.1) after two transient 503s."),
        ])
    conversation(
        "cc-legit-user-asks-to-rerun", "claude-code", "legitimate",
        "The user asks to run the same command again several times (each is a new user turn).",
        "Run the flaky integration test.", repeat(6, lambda i: [
            *([user("Run it again please.")] if i else []),
            act(shell("pytest -q tests/test_totals.py::test_line_total", "1 passed in @T@")),
            final("It passed."),
        ]))
    conversation(
        "cc-legit-chunked-read", "claude-code", "legitimate",
        "Reading a long file in chunks (offsets differ).", "Summarise the changelog.", [
            act(read("CHANGELOG.md", f"## 2.{9 - i}.0\n- fixes", offset=1 + 200 * i, limit=200)) for i in range(6)
        ] + [final("The changelog covers releases 2.4 to 2.9.")])
    conversation(
        "cc-legit-grep-count-changes", "claude-code", "legitimate",
        "The same grep run between edits: its matches shrink as the agent replaces calls.",
        "Replace every use of float money in the code with Decimal.", [
            act(grep("float\\(", "src", "src/invoicer/cli.py:9:    amount = float(args.amount)\n"
                                          "src/invoicer/tax.py:4:    return float(rate)\n"
                                          "src/invoicer/tax.py:8:    return float(x) * 1.2")),
            act(edit("src/invoicer/cli.py", "    amount = float(args.amount)", "    amount = Decimal(args.amount)")),
            act(grep("float\\(", "src", "src/invoicer/tax.py:4:    return float(rate)\n"
                                          "src/invoicer/tax.py:8:    return float(x) * 1.2")),
            act(edit("src/invoicer/tax.py", "    return float(rate)", "    return Decimal(rate)")),
            act(grep("float\\(", "src", "src/invoicer/tax.py:8:    return float(x) * 1.2")),
            act(edit("src/invoicer/tax.py", "    return float(x) * 1.2", '    return Decimal(x) * Decimal("1.2")')),
            act(grep("float\\(", "src", "")),
            final("No float money left."),
        ])
    conversation(
        "cc-legit-double-read-then-work", "claude-code", "legitimate",
        "The same file read twice in a row by accident, then real work.", FIX_TASK, [
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(read("tests/test_totals.py", TEST_TOTALS)),
            act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     '    return (subtotal - subtotal * discount).quantize(Decimal("0.01"))')),
            act(shell("pytest -q", PYTEST_FAIL_EMPTY, 1)),
            act(edit("src/invoicer/totals.py", "    subtotal = sum(line_total(q, p) for q, p in lines)",
                     '    subtotal = sum((line_total(q, p) for q, p in lines), Decimal("0"))')),
            act(shell("pytest -q", PYTEST_PASS)),
            final("Fixed."),
        ])
    conversation(
        "codex-legit-debugging-rereads", "codex", "legitimate",
        "Debugging: the same failing test re-run between reads of new files (new information each time).", FIX_TASK, [
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(read("tests/test_totals.py", TEST_TOTALS)),
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(read("src/invoicer/config.py", CONFIG_PY)),
            act(grep("ROUNDING", "src", "src/invoicer/config.py:5:ROUNDING = \"ROUND_HALF_UP\"")),
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(read("src/invoicer/cli.py", CLI_PY)),
            act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     '    return (subtotal - subtotal * discount).quantize(Decimal("0.01"), rounding=ROUNDING)')),
            act(shell("pytest -q", PYTEST_FAIL_EMPTY, 1)),
            final("Rounding fixed; the empty-invoice case still fails, as before my change."),
        ])
    conversation(
        "gemini-legit-alternating-edit-test", "gemini-cli", "legitimate",
        "Edit / test alternation where every edit is different and the test output changes.",
        "Make all date tests pass.", [
            act(shell("npm test", VITEST_FAIL, 1)),
            act(edit("src/utils/date.ts", "copy.setDate(copy.getDate() + days);", "copy.setTime(copy.getTime() + days * 864e5);")),
            act(shell("npm test", VITEST_FAIL.replace("crosses the DST change", "keeps local midnight"), 1)),
            act(edit("src/utils/date.ts", "copy.setTime(copy.getTime() + days * 864e5);",
                     "copy.setUTCDate(copy.getUTCDate() + days);")),
            act(shell("npm test", VITEST_PASS)),
            final("All 18 tests pass."),
        ])
    conversation(
        "sdk-legit-order-lookups", "openai-sdk", "legitimate",
        "A support agent looking up several orders and their refunds.", "Which of my last orders were refunded?", [
            *[turn for oid in ("A-1001", "A-1002", "A-1003") for turn in (
                act(fn("get_order", json.dumps({"order_id": oid, "total": "49.00", "status": "delivered"}), order_id=oid)),
                act(fn("list_refunds", json.dumps({"order_id": oid, "refunds": [] if oid != "A-1002" else ["R-7"]}),
                       order_id=oid)))],
            final("Only A-1002 was refunded (R-7)."),
        ])

    # The case: the same small task run again and again, sub-agents and client retries.
    for run in range(6):
        conversation(
            f"sdk-legit-same-prompt-run-{run + 1}", "openai-sdk", "legitimate",
            "One of six independent runs of the same small task (each its own conversation).",
            "What's the weather in Paris?", [
                act(fn("get_weather", '{"city": "Paris", "temp_c": 18, "sky": "clear"}', city="Paris", unit="celsius")),
                final("It's 18 °C and clear in Paris."),
            ], seed=run)
    for agent in range(3):
        conversation(
            f"cc-legit-parallel-subagent-{agent + 1}", "claude-code", "legitimate",
            "One of three parallel sub-agents doing the same search (separate conversations).",
            "Find where invoice totals are computed.", [
                act(grep("def invoice_total", "src", "src/invoicer/totals.py:10:def invoice_total(")),
                act(read("src/invoicer/totals.py", TOTALS_V1)),
                final("`invoice_total` in src/invoicer/totals.py sums `line_total` and applies the discount."),
            ], seed=agent)
    for attempt in range(2):
        conversation(
            f"codex-legit-client-retry-{attempt + 1}", "codex", "legitimate",
            "The client retrying the very same request (after a dropped connection).", FIX_TASK, [
                act(shell("pytest -q", PYTEST_FAIL, 1)),
                act(read("src/invoicer/totals.py", TOTALS_V1)),
                act(shell("pytest -q", PYTEST_FAIL, 1)),
            ], seed=0)

    # ------------------------------------------------------------ tool loops
    conversation(
        "cc-loop-same-failing-test", "claude-code", "tool_loop",
        "Runs the same failing test over and over, getting the same output.", FIX_TASK, [
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                     "    return round(subtotal - subtotal * discount, 2)")),
            say("Let me run the tests.", shell("pytest -q", PYTEST_FAIL, 1, mark="start")),
            *[say(t, shell("pytest -q", PYTEST_FAIL, 1)) for t in (
                "Let me run the tests again.", "Running the tests again.", "Let me check the test output again.",
                "I'll run the tests once more.", "Let me re-run the tests.", "Running the tests.", "Let me run the tests again.")],
        ])
    conversation(
        "codex-loop-same-cat", "codex", "tool_loop",
        "`sed -n` on the same file again and again; only Codex's Wall time / Chunk ID change.",
        "Why does the CLI print the wrong total?", [
            act(shell("rg -n 'invoice_total' src", "src/invoicer/cli.py:3:from .totals import invoice_total")),
            act(read("src/invoicer/cli.py", CLI_PY, mark="start")),
            *[act(read("src/invoicer/cli.py", CLI_PY)) for _ in range(8)],
        ])
    conversation(
        "gemini-loop-same-shell", "gemini-cli", "tool_loop",
        "The same `npm test` with the same failure; only the PGID Gemini CLI reports changes.",
        "Fix the failing date test.", [
            act(read("src/utils/date.ts", DATE_TS)),
            act(shell("npm test", VITEST_FAIL, 1, mark="start")),
            *[act(shell("npm test", VITEST_FAIL, 1)) for _ in range(7)],
        ])
    conversation(
        "gemini-loop-same-read", "gemini-cli", "tool_loop",
        "read_file on the same file, again and again.", "What does addDays do?", [
            act(read("src/utils/date.ts", DATE_TS, mark="start")),
            *[act(read("src/utils/date.ts", DATE_TS)) for _ in range(7)],
        ])
    conversation(
        "sdk-loop-weather", "openai-sdk", "tool_loop",
        "get_weather for the same city with the same answer, over and over.", "What's the weather in Paris?", [
            act(fn("get_weather", '{"city": "Paris", "temp_c": 18, "sky": "clear"}', city="Paris", unit="celsius",
                   mark="start")),
            *[act(fn("get_weather", '{"city": "Paris", "temp_c": 18, "sky": "clear"}', city="Paris", unit="celsius"))
              for _ in range(7)],
        ])
    conversation(
        "sdk-loop-reformatted-arguments", "openai-sdk", "tool_loop",
        "The same SQL query with arguments re-spaced and re-ordered each time.", "How many invoices are overdue?", [
            act(fn("run_sql", "ERROR: relation \"invoice\" does not exist", error=True, mark="start",
                   __raw__='{"query": "SELECT count(*) FROM invoice WHERE due < now()"}')),
            *[act(fn("run_sql", "ERROR: relation \"invoice\" does not exist", error=True, __raw__=raw)) for raw in (
                '{"query":"SELECT count(*) FROM invoice WHERE due < now()"}',
                '{\n  "query": "SELECT count(*) FROM invoice WHERE due < now()"\n}',
                '{"query": "SELECT count(*) FROM invoice WHERE due < now()"}',
                '{ "query" : "SELECT count(*) FROM invoice WHERE due < now()" }',
                '{"query":"SELECT count(*) FROM invoice WHERE due < now()"}',
                '{"query": "SELECT count(*) FROM invoice WHERE due < now()"}',
                '{\t"query": "SELECT count(*) FROM invoice WHERE due < now()"}')],
        ])
    conversation(
        "cc-loop-failing-edit", "claude-code", "tool_loop",
        "An Edit whose old_string does not match, retried verbatim.", FIX_TASK, [
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(edit("src/invoicer/totals.py", "    return subtotal-subtotal*discount",
                     '    return (subtotal - subtotal * discount).quantize(Decimal("0.01"))', ok=False, mark="start")),
            *[act(edit("src/invoicer/totals.py", "    return subtotal-subtotal*discount",
                       '    return (subtotal - subtotal * discount).quantize(Decimal("0.01"))', ok=False))
              for _ in range(7)],
        ])
    conversation(
        "codex-loop-after-progress", "codex", "tool_loop",
        "Good progress first, then the same build command over and over.", "The ledger crate doesn't build; fix it.", [
            act(shell("cargo build", CARGO_ERR_1, 101)),
            act(read("src/main.rs", MAIN_RS)),
            act(shell("ls src", "main.rs\nparse.rs")),
            act(shell("cat > src/config.rs <<'EOF'\npub struct Config { pub name: String }\nEOF", "")),
            act(shell("cargo build", CARGO_ERR_2, 101, mark="start")),
            *[act(shell("cargo build", CARGO_ERR_2, 101)) for _ in range(7)],
        ])
    conversation(
        "cc-loop-parallel-duplicate-reads", "claude-code", "tool_loop",
        "The same Read issued again and again, two per answer (parallel tool calls).", "Explain config.py.", [
            act(read("src/invoicer/config.py", CONFIG_PY, mark="start"), read("src/invoicer/config.py", CONFIG_PY)),
            *[act(read("src/invoicer/config.py", CONFIG_PY), read("src/invoicer/config.py", CONFIG_PY)) for _ in range(4)],
        ])

    # ------------------------------------------------------------ cycles
    conversation(
        "cc-cycle-two-files", "claude-code", "cycle",
        "Alternates between reading two files that never change.", "Why does the empty invoice fail?", [
            act(shell("pytest -q", PYTEST_FAIL_EMPTY, 1)),
            act(read("src/invoicer/totals.py", TOTALS_V2, mark="start:2")),
            act(read("tests/test_totals.py", TEST_TOTALS)),
            *repeat(5, lambda i: [act(read("src/invoicer/totals.py", TOTALS_V2)),
                                  act(read("tests/test_totals.py", TEST_TOTALS))]),
        ])
    conversation(
        "codex-cycle-status-diff", "codex", "cycle",
        "git status / git diff, over and over, with nothing changing.", "Commit the rounding fix.", [
            act(shell("git status", GIT_STATUS, mark="start:2")),
            act(shell("git diff", GIT_DIFF)),
            *repeat(5, lambda i: [act(shell("git status", GIT_STATUS)), act(shell("git diff", GIT_DIFF))]),
        ])
    conversation(
        "gemini-cycle-read-test", "gemini-cli", "cycle",
        "read_file then the same failing test, again and again, nothing edited.", "Fix the failing date test.", [
            act(read("src/utils/date.ts", DATE_TS, mark="start:2")),
            act(shell("npm test", VITEST_FAIL, 1)),
            *repeat(5, lambda i: [act(read("src/utils/date.ts", DATE_TS)), act(shell("npm test", VITEST_FAIL, 1))]),
        ])
    conversation(
        "sdk-cycle-search-page", "openai-sdk", "cycle",
        "search_docs then get_page for the same hit, round and round.", "How do I issue a partial refund?", [
            act(fn("search_docs", '{"results": ["refunds-overview"], "page": 1, "has_more": false}',
                   query="partial refund", page=1, mark="start:2")),
            act(fn("get_page", "Refunds overview: full refunds are issued from the order page.", id="refunds-overview")),
            *repeat(5, lambda i: [
                act(fn("search_docs", '{"results": ["refunds-overview"], "page": 1, "has_more": false}',
                       query="partial refund", page=1)),
                act(fn("get_page", "Refunds overview: full refunds are issued from the order page.",
                       id="refunds-overview"))]),
        ])
    conversation(
        "cc-cycle-three-steps", "claude-code", "cycle",
        "Grep, Read, test: a 3-call cycle with unchanged results.", "Why does the empty invoice fail?", [
            act(read("tests/test_totals.py", TEST_TOTALS)),
            act(grep("quantize", "src", "src/invoicer/totals.py:13:    return total.quantize(Decimal(\"0.01\"))",
                     mark="start:3")),
            act(read("src/invoicer/totals.py", TOTALS_V2)),
            act(shell("pytest -q", PYTEST_FAIL_EMPTY, 1)),
            *repeat(4, lambda i: [
                act(grep("quantize", "src", "src/invoicer/totals.py:13:    return total.quantize(Decimal(\"0.01\"))")),
                act(read("src/invoicer/totals.py", TOTALS_V2)),
                act(shell("pytest -q", PYTEST_FAIL_EMPTY, 1))]),
        ])
    conversation(
        "codex-cycle-failing-patch", "codex", "cycle",
        "A patch that fails to apply, a cat, a test run: a 3-call cycle.", FIX_TASK, [
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            act(edit("src/invoicer/totals.py", "    return subtotal-subtotal*discount", "    return round(subtotal, 2)",
                     ok=False, mark="start:3")),
            act(read("src/invoicer/totals.py", TOTALS_V1)),
            act(shell("pytest -q", PYTEST_FAIL, 1)),
            *repeat(4, lambda i: [
                act(edit("src/invoicer/totals.py", "    return subtotal-subtotal*discount", "    return round(subtotal, 2)",
                         ok=False)),
                act(read("src/invoicer/totals.py", TOTALS_V1)),
                act(shell("pytest -q", PYTEST_FAIL, 1))]),
        ])
    conversation(
        "gemini-cycle-four-steps", "gemini-cli", "cycle",
        "A 4-call cycle: read two files, search, run the build; nothing changes.", "Why does the build fail?", [
            act(read("package.json", PACKAGE_JSON, mark="start:4")),
            act(read("tsconfig.json", '{"compilerOptions": {"strict": true, "target": "ES2022"}}')),
            act(grep("setDate", "src", "src/utils/date.ts:7:  copy.setDate(copy.getDate() + days);")),
            act(shell("npm run build", "src/utils/date.ts(1,40): error TS2554: Expected 1 arguments, but got 2.", 2)),
            *repeat(4, lambda i: [
                act(read("package.json", PACKAGE_JSON)),
                act(read("tsconfig.json", '{"compilerOptions": {"strict": true, "target": "ES2022"}}')),
                act(grep("setDate", "src", "src/utils/date.ts:7:  copy.setDate(copy.getDate() + days);")),
                act(shell("npm run build", "src/utils/date.ts(1,40): error TS2554: Expected 1 arguments, but got 2.", 2))]),
        ])

    # ------------------------------------------------------------ no progress (irregular repetition)
    files = {"src/invoicer/totals.py": TOTALS_V2, "tests/test_totals.py": TEST_TOTALS,
             "src/invoicer/config.py": CONFIG_PY}
    order = ["test", "src/invoicer/totals.py", "test", "tests/test_totals.py", "src/invoicer/totals.py", "test",
             "src/invoicer/config.py", "tests/test_totals.py", "test", "src/invoicer/totals.py", "test", "test",
             "src/invoicer/config.py", "test", "src/invoicer/totals.py"]

    def stall(kind: str, i: int) -> Call:
        if kind == "test":
            return shell("pytest -q", PYTEST_FAIL_EMPTY, 1)
        return read(kind, files[kind])

    def no_progress_turns(first_new: list[Call], sequence: list[str], texts: list[str] | None = None) -> list[Turn]:
        turns = [act(call) for call in first_new]
        for i, kind in enumerate(sequence):
            call = stall(kind, i)
            if i == 0:
                call.mark = "start"
            turns.append(say(texts[i % len(texts)], call) if texts else act(call))
        return turns

    conversation(
        "cc-noprogress-test-and-rereads", "claude-code", "no_progress",
        "The same failing test, interleaved with re-reads of unchanged files, in no fixed order.",
        "Why does the empty invoice fail?",
        no_progress_turns([shell("pytest -q", PYTEST_FAIL_EMPTY, 1), read("src/invoicer/totals.py", TOTALS_V2),
                           read("tests/test_totals.py", TEST_TOTALS), read("src/invoicer/config.py", CONFIG_PY)],
                          order))
    conversation(
        "codex-noprogress-mixed-commands", "codex", "no_progress",
        "Three known commands with unchanged output, repeated in an irregular order.", FIX_TASK,
        no_progress_turns([shell("pytest -q", PYTEST_FAIL_EMPTY, 1), read("src/invoicer/totals.py", TOTALS_V2),
                           read("tests/test_totals.py", TEST_TOTALS), read("src/invoicer/config.py", CONFIG_PY)],
                          order[3:] + order[:3]))
    conversation(
        "cc-noprogress-with-filler-text", "claude-code", "no_progress",
        "Irregular repeats, each with a short filler sentence that says nothing new.",
        "Why does the empty invoice fail?",
        no_progress_turns([shell("pytest -q", PYTEST_FAIL_EMPTY, 1), read("src/invoicer/totals.py", TOTALS_V2),
                           read("tests/test_totals.py", TEST_TOTALS), read("src/invoicer/config.py", CONFIG_PY)],
                          order[1:] + order[:1],
                          ["Let me check again.", "Let me look at this once more.", "Checking.", "Hmm, let me verify."]))
    gem_files = {"src/utils/date.ts": DATE_TS, "package.json": PACKAGE_JSON}
    gem_order = ["test", "src/utils/date.ts", "test", "package.json", "src/utils/date.ts", "test", "test",
                 "package.json", "src/utils/date.ts", "test", "package.json", "test", "src/utils/date.ts"]
    conversation(
        "gemini-noprogress-mixed", "gemini-cli", "no_progress",
        "read_file and the same failing test, repeated in no fixed order.", "Fix the failing date test.",
        [act(shell("npm test", VITEST_FAIL, 1)), act(read("src/utils/date.ts", DATE_TS)),
         act(read("package.json", PACKAGE_JSON))] +
        [act(Call("shell", {"cmd": "npm test", "desc": "Run npm script", "code": 1}, VITEST_FAIL, True,
                  "start" if i == 0 else "") if kind == "test" else read(kind, gem_files[kind], mark="start" if i == 0 else ""))
         for i, kind in enumerate(gem_order)])
    sdk_calls = {
        "order": lambda m="": fn("get_order", '{"order_id": "A-1002", "status": "delivered"}', order_id="A-1002", mark=m),
        "refunds": lambda m="": fn("list_refunds", '{"order_id": "A-1002", "refunds": []}', order_id="A-1002", mark=m),
        "search": lambda m="": fn("search_docs", '{"results": [], "page": 1}', query="refund A-1002", page=1, mark=m),
    }
    sdk_order = ["refunds", "order", "search", "refunds", "refunds", "order", "search", "order", "refunds", "search",
                 "refunds", "order", "refunds"]
    conversation(
        "sdk-noprogress-support-agent", "openai-sdk", "no_progress",
        "A support agent re-querying the same order, refunds and docs in no fixed order.",
        "Was order A-1002 refunded?",
        [act(sdk_calls["order"]()), act(sdk_calls["refunds"]()), act(sdk_calls["search"]())] +
        [act(sdk_calls[k]("start" if i == 0 else "")) for i, k in enumerate(sdk_order)])
    conversation(
        "codex-noprogress-after-progress", "codex", "no_progress",
        "Real work first (a fix and a passing test), then a stall over unchanged results.",
        "Fix the rounding, then check the empty-invoice case too.",
        [act(shell("pytest -q", PYTEST_FAIL, 1)),
         act(edit("src/invoicer/totals.py", "    return subtotal - subtotal * discount",
                  '    total = subtotal - subtotal * discount\n    return total.quantize(Decimal("0.01"))'))] +
        no_progress_turns([shell("pytest -q", PYTEST_FAIL_EMPTY, 1), read("src/invoicer/totals.py", TOTALS_V2),
                           read("tests/test_totals.py", TEST_TOTALS), read("src/invoicer/config.py", CONFIG_PY)],
                          order[2:] + order[:2]))

    # ------------------------------------------------------------ more loops, one per client where missing
    conversation(
        "gemini-loop-failing-replace", "gemini-cli", "tool_loop",
        "replace with an old_string that is not in the file, retried verbatim.", "Fix the DST bug in addDays.", [
            act(read("src/utils/date.ts", DATE_TS)),
            *[act(edit("src/utils/date.ts", "copy.setDate(copy.getDate()+days);",
                       "copy.setUTCDate(copy.getUTCDate() + days);", ok=False, mark="start" if i == 0 else ""))
              for i in range(8)],
        ])
    conversation(
        "sdk-loop-http-503-forever", "openai-sdk", "tool_loop",
        "An HTTP call retried verbatim while the service keeps answering 503.", "Fetch the status page of the billing API.", [
            *[act(fn("http_get", "HTTP 503 Service Unavailable: upstream connect error",
                     url="https://billing.internal/status", error=True, mark="start" if i == 0 else ""))
              for i in range(8)],
        ])
    conversation(
        "codex-cycle-build-and-read", "codex", "cycle",
        "cargo build and a look at main.rs, again and again, nothing edited.", "The ledger crate doesn't build; fix it.", [
            act(shell("ls src", "main.rs\nparse.rs")),
            act(shell("cargo build", CARGO_ERR_1, 101, mark="start:2")),
            act(read("src/main.rs", MAIN_RS)),
            *repeat(5, lambda i: [act(shell("cargo build", CARGO_ERR_1, 101)), act(read("src/main.rs", MAIN_RS))]),
        ])
    conversation(
        "sdk-cycle-three-lookups", "openai-sdk", "cycle",
        "get_order, list_refunds, search_docs in the same order, answers unchanged.", "Was order A-1002 refunded?", [
            *repeat(5, lambda i: [
                act(fn("get_order", '{"order_id": "A-1002", "status": "delivered"}', order_id="A-1002",
                       mark="start:3" if i == 0 else "")),
                act(fn("list_refunds", '{"order_id": "A-1002", "refunds": []}', order_id="A-1002")),
                act(fn("search_docs", '{"results": [], "page": 1}', query="refund A-1002", page=1))]),
        ])
    cc_order = ["grep", "src/invoicer/totals.py", "grep", "tests/test_totals.py", "src/invoicer/totals.py", "grep",
                "tests/test_totals.py", "src/invoicer/totals.py", "grep", "grep", "tests/test_totals.py",
                "src/invoicer/totals.py", "grep"]

    def cc_stall(kind: str, mark: str) -> Call:
        if kind == "grep":
            return grep("quantize", "src", "src/invoicer/totals.py:13:    return total.quantize(Decimal(\"0.01\"))", mark=mark)
        return read(kind, files[kind], mark=mark)

    conversation(
        "cc-noprogress-grep-and-reads", "claude-code", "no_progress",
        "Grep and two file reads, repeated in no fixed order, nothing new learned.", "Why does the empty invoice fail?",
        [act(cc_stall("grep", "")), act(read("src/invoicer/totals.py", TOTALS_V2)),
         act(read("tests/test_totals.py", TEST_TOTALS))] +
        [act(cc_stall(kind, "start" if i == 0 else "")) for i, kind in enumerate(cc_order)])
    weather = {"paris": lambda m="": fn("get_weather", '{"city": "Paris", "temp_c": 18}', city="Paris", unit="celsius", mark=m),
               "forecast": lambda m="": fn("search_docs", '{"results": ["forecast-api"], "page": 1}', query="forecast",
                                           page=1, mark=m),
               "page": lambda m="": fn("get_page", "The forecast API is not available on the free plan.",
                                       id="forecast-api", mark=m)}
    w_order = ["paris", "page", "forecast", "paris", "paris", "page", "forecast", "page", "paris", "forecast", "paris",
               "page"]
    conversation(
        "sdk-noprogress-weather-forecast", "openai-sdk", "no_progress",
        "Asked for a forecast it cannot get, the agent cycles irregularly through the same three lookups.",
        "Will it rain in Paris tomorrow?",
        [act(weather["paris"]()), act(weather["forecast"]()), act(weather["page"]())] +
        [act(weather[k]("start" if i == 0 else "")) for i, k in enumerate(w_order)])


if __name__ == "__main__":
    from text_scenarios import build_text_scenarios  # noqa: E402  (a sibling module)

    build_tool_scenarios()
    build_text_scenarios(text_case)
    for old in HERE.glob("*.json"):
        old.unlink()
    for entry in CORPUS:
        path = HERE / f"{entry['id']}.json"
        path.write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for entry in CORPUS:
        counts[entry["label"]] = counts.get(entry["label"], 0) + 1
    print(f"{len(CORPUS)} conversations: {counts}")
