"""The fake providers: the scripted agent's decisions, and their strictness (each rule refuses a bad
payload the way the real provider does, and accepts the good one)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import anthropic_fake, gemini_fake, openai_fake
from tests.fakes.agent import file_text, find_tools, sample_for_schema
from tests.fakes.scenario import NeutralRequest, ToolCall, plan_reply
from tests.fakes.server import FakeProvider

# ---------------------------------------------------------------- the CLIs' tools (their schemas' shapes)

S = {"type": "string"}
CLAUDE_TOOLS = {
    "Agent": {"type": "object", "properties": {"description": S, "prompt": S}, "required": ["description", "prompt"]},
    "Bash": {"type": "object", "properties": {"command": S, "timeout": {"type": "number"}}, "required": ["command"]},
    "Edit": {"type": "object", "properties": {"file_path": S, "old_string": S, "new_string": S,
                                             "replace_all": {"type": "boolean"}},
             "required": ["file_path", "old_string", "new_string"]},
    "Read": {"type": "object", "properties": {"file_path": S, "offset": {"type": "integer"}}, "required": ["file_path"]},
    "Write": {"type": "object", "properties": {"file_path": S, "content": S}, "required": ["file_path", "content"]},
}
GEMINI_TOOLS = {
    "list_directory": {"type": "object", "properties": {"dir_path": S}, "required": ["dir_path"]},
    "read_file": {"type": "object", "properties": {"file_path": S, "start_line": {"type": "number"}},
                  "required": ["file_path"]},
    "write_file": {"type": "object", "properties": {"file_path": S, "content": S}, "required": ["file_path", "content"]},
    "replace": {"type": "object", "properties": {"file_path": S, "old_string": S, "new_string": S, "instruction": S},
                "required": ["file_path", "old_string", "new_string", "instruction"]},
    "run_shell_command": {"type": "object", "properties": {"command": S, "description": S}, "required": ["command"]},
}
CODEX_TOOLS = {
    "exec_command": {"type": "object", "properties": {"cmd": S, "workdir": S, "yield_time_ms": {"type": "number"}},
                     "required": ["cmd"], "additionalProperties": False},
    "write_stdin": {"type": "object", "properties": {"session_id": {"type": "number"}, "chars": S},
                    "required": ["session_id"]},
    "view_image": {"type": "object", "properties": {"path": S}, "required": ["path"]},
}
CODEX_SHELL_TOOLS = {"shell": {"type": "object", "properties": {"command": {"type": "array", "items": S},
                                                                 "workdir": S}, "required": ["command"]}}


def view(text: str, tools: dict[str, Any], calls: list[ToolCall] | None = None,
         results: list[str] | None = None, **extra: Any) -> NeutralRequest:
    return NeutralRequest(last_user_text=text, human_text=text, tool_names=list(tools), tool_schemas=tools,
                          tool_calls=list(calls or []), tool_results=list(results or []), **extra)


def run_agent(text: str, tools: dict[str, Any], execute: Any, limit: int = 10) -> tuple[list[ToolCall], str]:
    """Drive the planner as a CLI would: run each call with ``execute`` and feed the result back."""
    calls: list[ToolCall] = []
    results: list[str] = []
    for _ in range(limit):
        reply = plan_reply(view(text, tools, calls, results))
        if not reply.tool_name:
            return calls, reply.text
        assert reply.call_index == len(calls) + 1
        calls.append(ToolCall(reply.tool_name, reply.tool_args or {}))
        results.append(execute(calls[-1]))
    raise AssertionError("the agent did not finish")


# ---------------------------------------------------------------- the planner (pure)


def test_claude_code_reads_a_chain_of_files_with_read() -> None:
    files = {"/w/a.txt": "     1→see /w/b.txt\n", "/w/b.txt": "     1→The secret word is kiwi.\n"}
    calls, text = run_agent("[[agent:read /w/a.txt]]", CLAUDE_TOOLS, lambda c: files[c.args["file_path"]])
    assert calls == [ToolCall("Read", {"file_path": "/w/a.txt"}), ToolCall("Read", {"file_path": "/w/b.txt"})]
    assert text == "The secret word is kiwi."


def test_claude_code_edits_by_reading_then_writing_the_whole_file() -> None:
    files = {"/w/t.txt": "status: TODO\n"}

    def execute(call: ToolCall) -> str:
        if call.name == "Read":
            return "     1\tstatus: TODO\n<system-reminder>\nWhenever you read a file…\n</system-reminder>\n"
        files[call.args["file_path"]] = call.args["content"]
        return "The file /w/t.txt has been updated."

    calls, text = run_agent("[[agent:edit /w/t.txt]]", CLAUDE_TOOLS, execute)
    assert [c.name for c in calls] == ["Read", "Write"]
    assert files["/w/t.txt"] == "status: DONE\n"
    assert text == "Edited /w/t.txt."


def test_gemini_cli_uses_read_file_and_write_file() -> None:
    calls, text = run_agent("[[agent:edit /w/t.txt]]", GEMINI_TOOLS,
                            lambda c: "status: TODO\n" if c.name == "read_file" else "Successfully overwrote file")
    assert calls == [ToolCall("read_file", {"file_path": "/w/t.txt"}),
                     ToolCall("write_file", {"file_path": "/w/t.txt", "content": "status: DONE\n"})]
    assert text == "Edited /w/t.txt."


def test_older_gemini_cli_path_property_is_read_from_the_schema() -> None:
    tools = {"read_file": {"type": "OBJECT", "properties": {"absolute_path": {"type": "STRING"}},
                           "required": ["absolute_path"]}}
    reply = plan_reply(view("[[agent:read /w/a.txt]]", tools))
    assert (reply.tool_name, reply.tool_args) == ("read_file", {"absolute_path": "/w/a.txt"})


def test_codex_uses_its_shell_tool() -> None:
    calls, text = run_agent("please [[agent:read /w/a.txt]]", CODEX_TOOLS,
                            lambda c: "Process exited with code 0\nOutput:\nThe secret word is fig\n")
    assert calls == [ToolCall("exec_command", {"cmd": "cat /w/a.txt"})]
    assert text == "The secret word is fig."
    calls, text = run_agent("[[agent:edit /w/t.txt]]", CODEX_TOOLS, lambda c: "Process exited with code 0\n")
    assert calls == [ToolCall("exec_command", {"cmd": "sed -i 's/TODO/DONE/' /w/t.txt"})]
    assert text == "Edited /w/t.txt."


def test_an_argv_shell_tool_gets_an_argv() -> None:
    reply = plan_reply(view("[[agent:edit /w/t.txt]]", CODEX_SHELL_TOOLS))
    assert reply.tool_args == {"command": ["bash", "-lc", "sed -i 's/TODO/DONE/' /w/t.txt"]}


def test_repeat_reads_the_same_file_with_the_same_arguments() -> None:
    calls, text = run_agent("[[agent:repeat 3 /w/a.txt]]", GEMINI_TOOLS, lambda c: "hello")
    assert calls == [ToolCall("read_file", {"file_path": "/w/a.txt"})] * 3
    assert text == "Read /w/a.txt 3 times."


def test_required_properties_the_step_does_not_set_are_filled() -> None:
    tools = {"replace": GEMINI_TOOLS["replace"]}
    reply = plan_reply(view("[[agent:edit /w/t.txt]]", tools))
    assert reply.tool_args == {"file_path": "/w/t.txt", "old_string": "TODO", "new_string": "DONE",
                               "instruction": "fake"}


def test_only_the_current_turn_counts() -> None:
    earlier = [ToolCall("Read", {"file_path": "/w/old.txt"})]
    reply = plan_reply(view("[[agent:read /w/a.txt]]", CLAUDE_TOOLS, earlier, ["The secret word is old"],
                            turn_start_calls=1, turn_start_results=1))
    assert (reply.tool_name, reply.tool_args, reply.call_index) == ("Read", {"file_path": "/w/a.txt"}, 2)


def test_without_a_tag_or_without_tools_the_old_behaviour_stays() -> None:
    reply = plan_reply(view("What is the weather?", CLAUDE_TOOLS))
    assert (reply.tool_name, reply.tool_args) == ("Agent", {"city": "Paris", "unit": "celsius"})
    reply = plan_reply(view("[[agent:read /w/a.txt]] title please", {}))
    assert reply.text == "Hello from the fake provider! You said: [[agent:read /w/a.txt]] title please"
    # a tag inside the CLI's own context block is not the human's
    body = {"tools": [{"name": n, "input_schema": s} for n, s in CLAUDE_TOOLS.items()], "messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>[[agent:read /w/a.txt]]</system-reminder>"},
                                     {"type": "text", "text": "hi"}]}]}
    v = anthropic_fake.neutral_view(body)
    assert v.human_text == "hi" and plan_reply(v).tool_name == "Agent"


def test_a_tagged_task_without_a_fitting_tool_is_answered_in_text() -> None:
    reply = plan_reply(view("[[agent:read /w/a.txt]]", {"Agent": CLAUDE_TOOLS["Agent"]}))
    assert reply.tool_name is None and "no suitable tool" in reply.text


def test_file_text_strips_line_numbers_and_headers() -> None:
    assert file_text("     1→status: TODO\n     2→x\n") == "status: TODO\nx\n"
    assert file_text("Chunk ID: 1\nOutput:\nstatus: TODO\n") == "status: TODO\n"
    assert file_text("status: TODO\n") == "status: TODO\n"
    assert file_text('{"output":"status: TODO\\n"}') == "status: TODO\n"  # Gemini CLI's, as JSON text


def test_tool_kinds_come_from_schemas() -> None:
    box = find_tools(CLAUDE_TOOLS)
    assert (box.read and box.read.name, box.write and box.write.name, box.edit and box.edit.name,
            box.shell and box.shell.name) == ("Read", "Write", "Edit", "Bash")
    box = find_tools(CODEX_TOOLS)
    assert box.read is None and box.write is None and box.shell is not None and box.shell.command == "cmd"


# ---------------------------------------------------------------- answers that conform to a JSON schema

ROUTER_SCHEMA = {"type": "OBJECT", "properties": {"complexity_reasoning": {"type": "STRING"},
                                                  "complexity_score": {"type": "INTEGER"}},
                 "required": ["complexity_reasoning", "complexity_score"]}


def test_json_answers_conform_to_the_requested_schema() -> None:
    assert sample_for_schema(ROUTER_SCHEMA) == {"complexity_reasoning": "fake", "complexity_score": 1}
    schema = {"type": "object", "properties": {
        "next_speaker": {"type": "string", "enum": ["user", "model"]}, "ok": {"type": "boolean"},
        "score": {"type": "number"}, "items": {"type": "array", "items": S},
        "inner": {"$ref": "#/$defs/Inner"}, "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]}},
        "required": ["next_speaker", "ok", "score", "items", "inner", "maybe"],
        "$defs": {"Inner": {"type": "object", "properties": {"title": S}, "required": ["title"]}}}
    assert sample_for_schema(schema) == {"next_speaker": "user", "ok": False, "score": 1, "items": [],
                                         "inner": {"title": "fake"}, "maybe": 1}


def test_a_json_request_with_a_schema_gets_conforming_json_and_no_system_echo() -> None:
    v = view("[[agent:read /w/a.txt]] Read it", {}, json_schema=ROUTER_SCHEMA, wants_json=True,
             system_text="You are a router")
    assert json.loads(plan_reply(v).text) == {"complexity_reasoning": "fake", "complexity_score": 1}
    answer = {"type": "object", "properties": {"answer": S, "echo": S}, "required": ["answer", "echo"]}
    v = view("Give me JSON", {}, json_schema=answer, wants_json=True)
    assert json.loads(plan_reply(v).text) == {"answer": "ok", "echo": "Give me JSON"}


def test_the_gemini_cli_router_request_gets_schema_json() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "<session_context>\nThis is the Gemini CLI.\n</session_context>"}]},
                         {"role": "user", "parts": [{"text": "[[agent:read /w/a.txt]]"}]}],
            "systemInstruction": {"parts": [{"text": "You are a specialized Task Routing AI."}]},
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": ROUTER_SCHEMA,
                                 "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"}}}
    reply = plan_reply(gemini_fake.neutral_view(body))
    assert json.loads(reply.text) == {"complexity_reasoning": "fake", "complexity_score": 1}


# ---------------------------------------------------------------- the fakes over HTTP


@pytest.fixture(scope="module")
def anthropic() -> Iterator[FakeProvider]:
    fake = anthropic_fake.make_fake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeProvider]:
    fake = gemini_fake.make_fake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def openai() -> Iterator[FakeProvider]:
    fake = openai_fake.make_fake().start()
    yield fake
    fake.stop()


def post_anthropic(fake: FakeProvider, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{fake.origin}/v1/messages", json=body,
                      headers={"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"})


def post_gemini(fake: FakeProvider, model: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{fake.origin}/v1beta/models/{model}:generateContent", json=body,
                      headers={"x-goog-api-key": "AIza-test"})


def post_openai(fake: FakeProvider, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{fake.origin}/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-test"})


def refused(response: httpx.Response, fragment: str) -> bool:
    return response.status_code == 400 and fragment in response.text


# -- Anthropic

READ_TOOL = {"name": "Read", "description": "Read a file", "input_schema": CLAUDE_TOOLS["Read"]}


def anthropic_loop(fake: FakeProvider, tmp_path: Path, **extra: Any) -> tuple[dict[str, Any], list[Any]]:
    """A Claude-Code-like tool loop against the fake, up to its final answer."""
    (tmp_path / "a.txt").write_text(f"see {tmp_path / 'b.txt'}\n")
    (tmp_path / "b.txt").write_text("The secret word is plum.\n")
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 2048, "tools": [READ_TOOL],
                            "thinking": {"type": "adaptive"}, **extra,
                            "messages": [{"role": "user", "content": [
                                {"type": "text", "text": "<system-reminder>\nToday is Sunday.\n</system-reminder>"},
                                {"type": "text", "text": f"[[agent:read {tmp_path / 'a.txt'}]]"}]}]}
    for _ in range(5):
        r = post_anthropic(fake, body)
        assert r.status_code == 200, r.text
        answer = r.json()
        body["messages"].append({"role": "assistant", "content": answer["content"]})
        uses = [b for b in answer["content"] if b["type"] == "tool_use"]
        if not uses:
            return answer, body["messages"]
        body["messages"].append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": u["id"], "content": Path(u["input"]["file_path"]).read_text()}
            for u in uses] + [{"type": "text", "text": "<system-reminder>\nnote\n</system-reminder>"}]})
    raise AssertionError("no final answer")


def test_anthropic_agent_loop_with_thinking_and_unique_ids(anthropic: FakeProvider, tmp_path: Path) -> None:
    answer, messages = anthropic_loop(anthropic, tmp_path)
    assert answer["content"][-1] == {"type": "text", "text": "The secret word is plum."}
    ids = [b["id"] for m in messages if m["role"] == "assistant" for b in m["content"] if b["type"] == "tool_use"]
    assert len(ids) == 2 and len(set(ids)) == 2 and ids[0] == anthropic_fake.TOOL_USE_ID


def test_anthropic_omitted_thinking_keeps_its_signature(anthropic: FakeProvider, tmp_path: Path) -> None:
    answer, messages = anthropic_loop(anthropic, tmp_path, thinking={"type": "adaptive", "display": "omitted"})
    thinking = messages[1]["content"][0]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "" and thinking["signature"]


def anthropic_tool_history(thinking_block: dict[str, Any] | None) -> dict[str, Any]:
    assistant = ([thinking_block] if thinking_block else []) + [
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/w/a.txt"}}]
    return {"model": "claude-sonnet-4-5", "max_tokens": 2048, "tools": [READ_TOOL],
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": "read it"},
                         {"role": "assistant", "content": assistant},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                                       "content": "hello"}]}]}


def test_anthropic_tool_loop_needs_the_issued_thinking_block(anthropic: FakeProvider) -> None:
    text = "I should read the file."
    good = {"type": "thinking", "thinking": text, "signature": anthropic_fake.thinking_signature(text)}
    assert post_anthropic(anthropic, anthropic_tool_history(good)).status_code == 200
    assert post_anthropic(anthropic, anthropic_tool_history({**good, "thinking": ""})).status_code == 200  # omitted
    assert refused(post_anthropic(anthropic, anthropic_tool_history(None)),
                   "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`")
    assert refused(post_anthropic(anthropic, anthropic_tool_history({**good, "thinking": "Something else."})),
                   "Invalid `signature` in `thinking` block")
    assert refused(post_anthropic(anthropic, anthropic_tool_history({**good, "signature": "EqQBmadeUp=="})),
                   "Invalid `signature` in `thinking` block")
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}
    assert post_anthropic(anthropic, anthropic_tool_history(redacted)).status_code == 200
    # a tool use before the last plain user turn is not part of the current loop
    earlier = anthropic_tool_history(None)
    earlier["messages"] += [{"role": "assistant", "content": "It says hello."}, {"role": "user", "content": "thanks"}]
    assert post_anthropic(anthropic, earlier).status_code == 200
    # without thinking, no thinking block is needed
    plain = anthropic_tool_history(None)
    del plain["thinking"]
    assert post_anthropic(anthropic, plain).status_code == 200


@pytest.mark.parametrize(("change", "fragment"), [
    ({"top_k": 5}, "`top_k` is not supported when thinking is enabled"),
    ({"temperature": 0.5}, "`temperature` may only be set to 1 when thinking is enabled"),
    ({"top_p": 0.5}, "`top_p` must be between 0.95 and 1"),
    ({"tool_choice": {"type": "any"}}, "Thinking may not be enabled when tool_choice forces tool use."),
    ({"max_tokens": 1024}, "`max_tokens` must be greater than `thinking.budget_tokens`"),
])
def test_anthropic_thinking_parameter_limits(anthropic: FakeProvider, change: dict[str, Any], fragment: str) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": "hi"}]}
    assert post_anthropic(anthropic, body).status_code == 200
    assert refused(post_anthropic(anthropic, {**body, **change}), fragment)
    adaptive = {**body, **change, "thinking": {"type": "adaptive"}}
    if "max_tokens" not in change:
        assert refused(post_anthropic(anthropic, adaptive), fragment)
    assert post_anthropic(anthropic, {**body, **change, "thinking": {"type": "disabled"}}).status_code == 200


def test_anthropic_text_blocks_must_not_be_empty(anthropic: FakeProvider) -> None:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": ""}]}]}
    assert refused(post_anthropic(anthropic, body), "text content blocks must be non-empty")
    body["messages"][0]["content"][1]["text"] = "  \n"
    assert refused(post_anthropic(anthropic, body), "text content blocks must contain non-whitespace text")
    body["messages"][0]["content"][1]["text"] = "there"
    assert post_anthropic(anthropic, body).status_code == 200


def test_anthropic_mid_conversation_system_messages_follow_a_user_turn(anthropic: FakeProvider) -> None:
    system = {"role": "system", "output_config": {"effort": "medium"}, "clear_at": 3,
              "content": [{"type": "text", "text": "# Environment"}, {"type": "env_info", "cwd": "/w"}]}
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "context_management": {"edits": []},
            "output_config": {"effort": "medium"}, "metadata": {"user_id": "u"},
            "thinking": {"type": "adaptive", "display": "omitted"},
            "messages": [{"role": "user", "content": "hi"}, system]}
    assert post_anthropic(anthropic, body).status_code == 200
    body["messages"] = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, system,
                        {"role": "user", "content": "again"}]
    assert refused(post_anthropic(anthropic, body), "messages.2: a `system` message must directly follow a `user`")
    body["messages"] = [system, {"role": "user", "content": "hi"}]
    assert refused(post_anthropic(anthropic, body), "messages.0")


def test_anthropic_tool_results_pair_with_the_tool_uses_right_before(anthropic: FakeProvider) -> None:
    base = anthropic_tool_history(None)
    del base["thinking"]
    assert post_anthropic(anthropic, base).status_code == 200
    missing = copy.deepcopy(base)
    missing["messages"][2] = {"role": "user", "content": "never mind"}
    assert refused(post_anthropic(anthropic, missing),
                   "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1")
    stray = copy.deepcopy(base)
    stray["messages"][2]["content"].append({"type": "tool_result", "tool_use_id": "toolu_2", "content": "?"})
    assert refused(post_anthropic(anthropic, stray), "unexpected `tool_use_id` found in `tool_result` blocks: toolu_2")
    text_first = copy.deepcopy(base)
    text_first["messages"][2]["content"].insert(0, {"type": "text", "text": "here:"})
    assert refused(post_anthropic(anthropic, text_first), "`tool_result` blocks must come first")
    text_after = copy.deepcopy(base)
    text_after["messages"][2]["content"].append({"type": "text", "text": "and more"})
    assert post_anthropic(anthropic, text_after).status_code == 200
    duplicate = copy.deepcopy(base)
    duplicate["messages"] += [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/w/b.txt"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]}]
    assert refused(post_anthropic(anthropic, duplicate), "`tool_use` ids must be unique")


# -- Gemini

GEMINI_DECLS = [{"functionDeclarations": [
    {"name": "read_file", "description": "Reads a file", "parametersJsonSchema": GEMINI_TOOLS["read_file"]}]}]


def gemini_history(call_part: dict[str, Any], responses: int = 1) -> dict[str, Any]:
    return {"contents": [
        {"role": "user", "parts": [{"text": "read it"}]},
        {"role": "model", "parts": [call_part]},
        {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"output": "hello"}}}
                                   for _ in range(responses)]}], "tools": GEMINI_DECLS}


def test_gemini_3_issues_and_checks_thought_signatures(gemini: FakeProvider, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The secret word is lime.\n")
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": f"[[agent:read {tmp_path / 'a.txt'}]]"}]}],
                            "tools": GEMINI_DECLS}
    first = post_gemini(gemini, "gemini-3-pro-preview", body)
    assert first.status_code == 200, first.text
    part = first.json()["candidates"][0]["content"]["parts"][-1]
    assert part["functionCall"] == {"name": "read_file", "args": {"file_path": str(tmp_path / "a.txt")}}
    assert part["thoughtSignature"]
    body["contents"] += [{"role": "model", "parts": [part]}, {"role": "user", "parts": [
        {"functionResponse": {"name": "read_file", "response": {"output": (tmp_path / "a.txt").read_text()}}}]}]
    final = post_gemini(gemini, "gemini-3-pro-preview", body)
    assert final.status_code == 200, final.text
    assert final.json()["candidates"][0]["content"]["parts"][-1]["text"] == "The secret word is lime."
    # dropped, made up or moved to another call: refused; the documented dummy: accepted
    call = {"functionCall": {"name": "read_file", "args": {"file_path": "/w/a.txt"}}}
    assert refused(post_gemini(gemini, "gemini-3-pro-preview", gemini_history(call)),
                   "Function call is missing a thought_signature in functionCall parts")
    made_up = {**call, "thoughtSignature": "Q2lRQlZLaGZha2U="}
    assert refused(post_gemini(gemini, "gemini-3-pro-preview", gemini_history(made_up)), "thought signature")
    other = {**call, "thoughtSignature": gemini_fake.call_signature("write_file", {})}
    assert refused(post_gemini(gemini, "gemini-3-pro-preview", gemini_history(other)), "thought signature")
    dummy = {**call, "thoughtSignature": "skip_thought_signature_validator"}
    assert post_gemini(gemini, "gemini-3-pro-preview", gemini_history(dummy)).status_code == 200
    # Gemini 2.x does not check; and an earlier turn's calls are not checked either
    assert post_gemini(gemini, "gemini-2.5-flash", gemini_history(call)).status_code == 200
    earlier = gemini_history(call)
    earlier["contents"] += [{"role": "model", "parts": [{"text": "It says hello."}]},
                            {"role": "user", "parts": [{"text": "thanks"}]}]
    assert post_gemini(gemini, "gemini-3-pro-preview", earlier).status_code == 200


def test_gemini_signature_survives_url_safe_base64(gemini: FakeProvider) -> None:
    signature = gemini_fake.call_signature("read_file", {"file_path": "/w/a.txt"})
    url_safe = signature.replace("+", "-").replace("/", "_").rstrip("=")
    call = {"functionCall": {"name": "read_file", "args": {"file_path": "/w/a.txt"}}, "thoughtSignature": url_safe}
    assert post_gemini(gemini, "gemini-3-flash-preview", gemini_history(call)).status_code == 200


def test_gemini_function_responses_follow_their_calls(gemini: FakeProvider) -> None:
    call = {"functionCall": {"name": "read_file", "args": {"file_path": "/w/a.txt"}}}
    assert refused(post_gemini(gemini, "gemini-2.5-flash", gemini_history(call, responses=2)),
                   "the number of function response parts is equal to the number of function call parts")
    orphan = gemini_history(call)
    orphan["contents"][1] = {"role": "model", "parts": [{"text": "Let me look."}]}
    assert refused(post_gemini(gemini, "gemini-2.5-flash", orphan),
                   "function response turn comes immediately after a function call turn")


# -- OpenAI


def openai_history() -> list[dict[str, Any]]:
    return [{"role": "user", "content": "read both"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "read", "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "A"},
            {"role": "tool", "tool_call_id": "call_b", "content": "B"}]


def test_openai_tool_messages_pair_with_tool_calls(openai: FakeProvider) -> None:
    ok = openai_history()
    assert post_openai(openai, {"model": "gpt-4o", "messages": ok}).status_code == 200
    missing = ok[:3] + [{"role": "user", "content": "go on"}]
    r = post_openai(openai, {"model": "gpt-4o", "messages": missing})
    assert refused(r, "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                      "'tool_call_id'. The following tool_call_ids did not have response messages: call_b")
    assert r.json()["error"]["type"] == "invalid_request_error"
    orphan = [ok[0], {"role": "tool", "tool_call_id": "call_a", "content": "A"}]
    assert refused(post_openai(openai, {"model": "gpt-4o", "messages": orphan}),
                   "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'")
    wrong = ok[:3] + [{"role": "tool", "tool_call_id": "call_z", "content": "Z"}]
    assert refused(post_openai(openai, {"model": "gpt-4o", "messages": wrong}), "'tool_call_id' of 'call_z' not found")


def test_openai_agent_loop_gives_each_call_its_own_id(openai: FakeProvider, tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("hello\n")
    tools = [{"type": "function", "function": {"name": name, "parameters": schema}}
             for name, schema in CODEX_TOOLS.items()]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "<environment_context>x</environment_context>"},
                                      {"role": "user", "content": f"[[agent:repeat 3 {tmp_path / 't.txt'}]]"}]
    for _ in range(4):
        r = post_openai(openai, {"model": "gpt-4o", "messages": messages, "tools": tools})
        assert r.status_code == 200, r.text
        message = r.json()["choices"][0]["message"]
        messages.append({k: v for k, v in message.items() if k in ("role", "content", "tool_calls")})
        for call in message.get("tool_calls") or []:
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": "Output:\nhello\n"})
    ids = [c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert ids == ["call_fake1", "call_fake2", "call_fake3"]
    assert messages[-1]["content"] == f"Read {tmp_path / 't.txt'} 3 times."
