"""Prompt compaction, pure: which old tool results are shortened, how, and that the prompt stays
append-only between batches (prompt caches keep matching)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from proxy_app.core import canonical as c
from proxy_app.guards.compaction import MARKER, CompactionConfig, compact_messages, read_target

CONFIG = CompactionConfig(keep_turns=2, min_chars=2000, keep_chars=400, min_savings_tokens=100)
FILE = "".join(f"line {i}: some source code of the module\n" for i in range(300))  # ~11 kB
LOG = "".join(f"test_{i} PASSED\n" for i in range(1500))  # ~25 kB of command output


class Agent:
    """A coding agent's conversation, as the protocol decoders build it: each turn an assistant tool
    call and a tool message with its result."""

    def __init__(self) -> None:
        self.messages: list[c.Message] = [c.Message("system", [c.TextPart("You are a coding agent.")]),
                                          c.Message("user", [c.TextPart("Fix the failing test.")])]
        self.n = 0

    def call(self, name: str, args: dict[str, Any], result: str, *, error: bool = False) -> Agent:
        self.n += 1
        call_id = f"call_{self.n}"
        self.messages.append(c.Message("assistant", [c.ToolCallPart(call_id, name, json.dumps(args))]))
        self.messages.append(c.Message("tool", [c.ToolResultPart(call_id, [c.TextPart(result)], is_error=error)]))
        return self

    def read(self, path: str, content: str = FILE, **args: Any) -> Agent:
        return self.call("Read", {"file_path": path, **args}, content)

    def bash(self, command: str, output: str) -> Agent:
        return self.call("Bash", {"command": command}, output)

    def result(self, n: int) -> str:
        """The text of the ``n``-th tool result (1-based)."""
        found = [p for m in self.messages for p in m.parts if isinstance(p, c.ToolResultPart)]
        return "".join(t.text for t in found[n - 1].content if isinstance(t, c.TextPart))

    def compacted(self, config: CompactionConfig = CONFIG) -> tuple[list[c.Message], Any]:
        messages = copy.deepcopy(self.messages)
        return messages, compact_messages(messages, config)


def texts(messages: list[c.Message]) -> list[str]:
    return [json.dumps([repr(p) for p in m.parts]) for m in messages]


def test_a_read_superseded_by_a_later_read_of_the_same_file_is_replaced_by_a_note() -> None:
    agent = Agent().read("/w/app.py").bash("pytest", "1 failed").read("/w/app.py").bash("ls", "app.py").bash("ls", "x")
    messages, done = agent.compacted()
    first = messages[3].parts[0]
    assert isinstance(first, c.ToolResultPart) and first.tool_call_id == "call_1"
    note = first.content[0]
    assert isinstance(note, c.TextPart) and note.text.startswith(MARKER) and "/w/app.py was read again later" in note.text
    assert messages[7].parts == agent.messages[7].parts  # the later read is whole
    assert done.results == 1 and done.saved_tokens > 2000


def test_a_read_of_another_range_or_a_failed_read_supersedes_nothing() -> None:
    agent = (Agent().read("/w/app.py", offset=1, limit=100).read("/w/app.py", offset=200, limit=50)
             .call("Read", {"file_path": "/w/app.py"}, "File does not exist.", error=True).bash("ls", "a").bash("ls", "b"))
    messages, done = agent.compacted()
    assert done.results == 0 and texts(messages) == texts(agent.messages)


def test_a_later_read_answered_with_a_stub_supersedes_nothing() -> None:
    agent = Agent().read("/w/app.py").read("/w/app.py", "File unchanged since last read.").bash("a", "a").bash("b", "b")
    assert agent.compacted()[1].results == 0


def test_only_a_read_of_the_same_range_supersedes() -> None:
    """A whole-file read may have been cut short by the client (Claude Code returns 2,000 lines at most),
    so it supersedes no range read; the same range read again does."""
    agent = (Agent().read("/w/a.py", offset=2000, limit=2000).read("/w/a.py").read("/w/a.py", offset=2000, limit=2000)
             .bash("ls", "a"))
    messages, done = agent.compacted(CompactionConfig(keep_turns=1, min_savings_tokens=100))
    assert done.results == 1 and MARKER in json.dumps(texts(messages[3:4]))  # the first range read only
    assert MARKER not in json.dumps(texts(messages[4:]))


def test_a_failed_or_stub_reread_of_a_small_file_supersedes_nothing() -> None:
    small = "x = 1\n" * 60  # 360 characters: smaller than a note is worth
    stub = "File unchanged since last read. The content from the earlier Read tool_result is still current."
    for later in (stub, "Process exited with code 1\nOutput:\ncat: /w/a.py: No such file or directory"):
        agent = Agent().read("/w/a.py", small).read("/w/a.py", later).bash("pytest", LOG).bash("a", "a").bash("b", "b")
        messages, done = agent.compacted()
        assert done.results == 1 and MARKER not in json.dumps(texts(messages[:7])), later  # only the log
    big = Agent().read("/w/a.py").call("shell", {"command": ["bash", "-lc", "cat /w/a.py"]},
                                      "Process exited with code 1\nOutput:\n" + FILE)
    assert big.bash("a", "a").bash("b", "b").compacted()[1].results == 0, "the same file by another tool"


def test_gemini_superseded_reads_keep_their_keys() -> None:
    wrapped = json.dumps({"output": FILE})
    agent = Agent().call("read_file", {"absolute_path": "/w/a.py"}, wrapped).call(
        "read_file", {"absolute_path": "/w/a.py"}, wrapped).bash("a", "a").bash("b", "b")
    messages, done = agent.compacted()
    note = json.loads(messages[3].parts[0].content[0].text)  # type: ignore[union-attr]
    assert done.results == 1 and list(note) == ["output"] and note["output"].startswith(MARKER)
    assert f"({len(FILE):,} characters)" in note["output"]


def test_results_only_their_own_protocol_re_encodes_are_left_whole() -> None:
    agent = Agent().bash("pytest", LOG).bash("a", "a").bash("b", "b")
    part = agent.messages[3].parts[0]
    assert isinstance(part, c.ToolResultPart)
    part.extra = {"content": [{"type": "search_result", "source": "x", "title": "t", "content": []}]}
    assert agent.compacted()[1].results == 0


def test_a_long_json_output_without_long_strings_is_not_reformatted() -> None:
    listing = json.dumps([{"name": f"file_{i}.py", "size": i} for i in range(300)], indent=2)
    agent = Agent().bash("ls --json", listing).bash("a", "a").bash("b", "b")
    assert agent.compacted()[1].results == 0


def test_keep_turns_must_keep_the_newest_turn() -> None:
    with pytest.raises(ValueError):
        CompactionConfig(keep_turns=0)


def test_a_long_command_output_keeps_its_head_and_tail_around_a_note() -> None:
    agent = Agent().bash("pytest -v", LOG).bash("git diff", "small").bash("ls", "a")
    messages, done = agent.compacted()
    short = messages[3].parts[0]
    assert isinstance(short, c.ToolResultPart)
    text = short.content[0].text  # type: ignore[union-attr]
    assert text.startswith("test_0 PASSED\n") and text.endswith("test_1499 PASSED\n")
    assert MARKER in text and "run the tool again to see them" in text and len(text) < 700
    head, _, tail = text.partition(f"\n{MARKER}")
    assert head.endswith("PASSED\n") and tail.split("]\n", 1)[1].startswith("test_")  # cut at line ends
    assert done.results == 1 and done.saved_tokens > (len(LOG) - 700) // 4


def test_a_file_read_nothing_superseded_is_kept_whole_however_long() -> None:
    agent = Agent().read("/w/big.py", FILE * 3).bash("ls", "a").bash("ls", "b").bash("ls", "c")
    messages, done = agent.compacted()
    assert done.results == 0 and texts(messages) == texts(agent.messages)


def test_codex_and_gemini_reads_are_recognised() -> None:
    assert read_target(c.ToolCallPart("1", "shell", json.dumps(
        {"command": ["bash", "-lc", "cat src/app.py"], "workdir": "/w"}))) == ("/w/src/app.py", "")
    assert read_target(c.ToolCallPart("1", "exec_command", json.dumps({"cmd": "sed -n '1,200p' /w/a.py"}))) \
        == ("/w/a.py", "sed -n 1,200p")
    assert read_target(c.ToolCallPart("1", "shell_command", json.dumps({"command": "nl -ba /w/a.py"}))) == ("/w/a.py", "")
    assert read_target(c.ToolCallPart("1", "read_file", json.dumps({"absolute_path": "/w/a.py"}))) == ("/w/a.py", "")
    assert read_target(c.ToolCallPart("1", "exec_command", json.dumps(
        {"cmd": "nl -ba app.py | sed -n '1,200p'", "workdir": "/w"}))) == ("/w/app.py", "nl -ba | sed -n 1,200p")
    for command in ("cat /w/a.py | grep x", "cat /w/a.py /w/b.py", "sed -i s/a/b/ /w/a.py", "sed -i 5d /w/a.py",
                    "rg TODO", "cat /w/a.py > /w/b.py", "cat a.py", "cd /w && cat a.py",
                    "nl -ba /w/a.py | sed -n 1,9p | head"):
        assert read_target(c.ToolCallPart("1", "Bash", json.dumps({"command": command}))) is None, command


def test_gemini_json_results_keep_their_shape() -> None:
    agent = Agent().call("run_shell_command", {"command": "pytest"}, json.dumps({"output": LOG})).bash("a", "a").bash("b", "b")
    messages, done = agent.compacted()
    text = messages[3].parts[0].content[0].text  # type: ignore[union-attr]
    assert done.results == 1 and list(json.loads(text)) == ["output"] and MARKER in json.loads(text)["output"]


def test_the_last_turns_the_system_prompt_and_marked_results_are_never_touched() -> None:
    agent = Agent().bash("pytest", LOG).read("/w/a.py").read("/w/a.py")
    agent.messages[0].parts[0] = c.TextPart(LOG)  # a huge system prompt
    messages, done = agent.compacted()
    assert done.results == 1 and MARKER in json.dumps(texts(messages[3:4]))  # the log, older than 2 turns
    assert texts(messages[:3]) == texts(agent.messages[:3]) and texts(messages[4:]) == texts(agent.messages[4:])
    marked = Agent().bash("pytest", LOG).bash("a", "a").bash("b", "b")
    marked.messages[3].parts[0].extra = {"cache_control": {"type": "ephemeral"}}  # type: ignore[union-attr]
    assert marked.compacted()[1].results == 0


def test_small_batches_wait_until_they_are_worth_a_cache_rewrite() -> None:
    agent = Agent().bash("a", "x" * 2100).bash("b", "y")
    for n in range(6):
        agent.bash(f"c{n}", "z")
    assert agent.compacted(CompactionConfig(keep_turns=2, min_chars=2000, keep_chars=400,
                                            min_savings_tokens=1000))[1].results == 0  # saves ~390 tokens
    agent.bash("d", "x" * 2100).bash("e", "w").bash("f", "v")
    messages, done = agent.compacted(CompactionConfig(keep_turns=2, min_chars=2000, keep_chars=400,
                                                      min_savings_tokens=700))
    assert done.results == 2  # the two together are worth it


@pytest.mark.parametrize("min_savings", [1, 3000])
def test_turn_after_turn_the_prompt_only_grows_except_at_batches(min_savings: int) -> None:
    """Replaying a growing conversation: each request's prompt starts with the previous request's
    prompt, byte for byte, except at the turns where a batch was compacted."""
    config = CompactionConfig(keep_turns=2, min_chars=2000, keep_chars=400, min_savings_tokens=min_savings)
    agent, previous, rewrites, turns = Agent(), None, 0, 0
    for n in range(30):
        if n % 5 == 0:
            agent.read("/w/app.py")
        elif n % 3 == 0:
            agent.bash("pytest", LOG)
        else:
            agent.bash(f"echo {n}", f"{n}")
        messages, _ = agent.compacted(config)
        now = texts(messages)
        if previous is not None:
            turns += 1
            rewrites += now[:len(previous)] != previous
        previous = now
    assert rewrites > 0 and (rewrites < turns // 3 if min_savings > 1 else True)
    assert MARKER in json.dumps(previous)


def test_the_same_history_compacts_the_same_way() -> None:
    agent = Agent().read("/w/a.py").bash("pytest", LOG).read("/w/a.py").bash("x", "x").bash("y", "y")
    assert texts(agent.compacted()[0]) == texts(agent.compacted()[0])
