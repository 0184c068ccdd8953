"""Prompt compaction through the live proxy: off by default, on per session (``!/set(compact=on)``) or per
route, in each client protocol; what the provider receives, and the usage row's tokens saved."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as gtypes

from commands_app.models import FailoverRoute, FailoverRouteElement
from proxy_app.guards.compaction import MARKER
from tests.conftest import Proxy
from usage_app.models import UsageRecord
from usage_app.recorder import flush

SOURCE = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n" for i in range(250))  # ~12 kB
LOG = "".join(f"tests/test_app.py::test_case_{i} PASSED\n" for i in range(800))  # ~32 kB


@pytest.fixture(autouse=True)
def _small_thresholds(settings: Any) -> None:
    settings.COMPACT_KEEP_TURNS = 2
    settings.COMPACT_MIN_SAVINGS_TOKENS = 500


def anthropic_history() -> list[dict[str, Any]]:
    """Claude Code's shape: read app.py, run the tests (a long log), read app.py again, list files."""
    steps = [("Read", {"file_path": "/w/app.py"}, SOURCE), ("Bash", {"command": "pytest -v"}, LOG),
             ("Read", {"file_path": "/w/app.py"}, SOURCE), ("Bash", {"command": "ls"}, "app.py\ntests\n")]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test in app.py."}]
    for n, (name, args, result) in enumerate(steps):
        messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{n}", "name": name,
                                                           "input": args}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{n}",
                                                      "content": result}]})
    return messages


def ask_anthropic(proxy: Proxy, session: str, messages: list[dict[str, Any]] | str) -> str:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": session})
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    reply = api.messages.create(model="anthropic:claude-sonnet-4-5", max_tokens=64, messages=messages)
    return "".join(block.text for block in reply.content if block.type == "text")


def upstream_results(proxy: Proxy, backend: str) -> list[str]:
    """The tool results' texts of the last request the backend's fake received."""
    body = proxy.fakes.by_backend(backend).chat_requests()[-1].body
    if backend == "anthropic":
        return [json.dumps(block["content"]) for m in body["messages"] if isinstance(m["content"], list)
                for block in m["content"] if block.get("type") == "tool_result"]
    if backend == "gemini":
        return [json.dumps(part["functionResponse"]) for turn in body["contents"] for part in turn["parts"]
                if "functionResponse" in part]
    return [m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
            for m in body["messages"] if m["role"] == "tool"]


def last_row() -> UsageRecord:
    assert flush(timeout=10)
    row = UsageRecord.objects.order_by("-id").first()
    assert row is not None
    return row


def test_off_by_default_the_history_goes_upstream_whole(proxy: Proxy) -> None:
    ask_anthropic(proxy, "compact-default", anthropic_history())
    results = upstream_results(proxy, "anthropic")
    assert not any(MARKER in r for r in results) and sum(map(len, results)) > 2 * len(SOURCE) + len(LOG)
    assert last_row().compacted_tokens == 0


def test_a_session_switched_on_sends_the_old_results_compacted(proxy: Proxy) -> None:
    assert "compact" in ask_anthropic(proxy, "compact-on", "!/set(compact=on)")
    ask_anthropic(proxy, "compact-on", anthropic_history())
    first_read, log, second_read, listing = upstream_results(proxy, "anthropic")
    assert MARKER in first_read and "/w/app.py was read again later" in first_read and len(first_read) < 400
    assert MARKER in log and "test_case_0 PASSED" in log and "test_case_799 PASSED" in log and len(log) < 2500
    assert SOURCE.splitlines()[-1] in json.loads(second_read)  # the current read and the last turns: whole
    assert listing == json.dumps("app.py\ntests\n")
    row = last_row()
    assert row.compacted_tokens > (len(SOURCE) + len(LOG) - 2500) // 4 and row.status == 200


def test_an_openai_client_on_a_compacting_route(proxy: Proxy) -> None:
    route = FailoverRoute.objects.create(name="agents", policy="m", compact=True)
    FailoverRouteElement.objects.create(route=route, position=0, target="anthropic:claude-sonnet-4-5")
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Fix the failing test."}]
    for n, (command, output) in enumerate([("pytest -v", LOG), ("git diff", "nothing"), ("ls", "app.py")]):
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{n}", "type": "function", "function": {"name": "shell", "arguments": json.dumps(
                {"command": command})}}]})
        messages.append({"role": "tool", "tool_call_id": f"call_{n}", "content": output})
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="agents", messages=messages)  # type: ignore[arg-type]
    log = upstream_results(proxy, "anthropic")[0]
    assert MARKER in log and len(log) < 2500
    assert last_row().compacted_tokens > 0
    # a session's own switch wins over the route's
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "compact-off"})
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/set(compact=off)"}])
    api.chat.completions.create(model="agents", messages=messages)  # type: ignore[arg-type]
    assert MARKER not in upstream_results(proxy, "anthropic")[0]


def test_a_gemini_client_keeps_its_function_response_shape(proxy: Proxy, settings: Any) -> None:
    settings.COMPACT_ENABLED = True
    contents: list[gtypes.Content] = [gtypes.Content(role="user", parts=[gtypes.Part(text="Fix the test.")])]
    for command, output in [("pytest -v", LOG), ("git diff", "nothing"), ("ls", "app.py")]:
        contents.append(gtypes.Content(role="model", parts=[gtypes.Part(function_call=gtypes.FunctionCall(
            name="run_shell_command", args={"command": command}))]))
        contents.append(gtypes.Content(role="user", parts=[gtypes.Part(function_response=gtypes.FunctionResponse(
            name="run_shell_command", response={"output": output}))]))
    client = genai.Client(api_key=proxy.key, http_options=gtypes.HttpOptions(
        base_url=proxy.url, api_version="v1beta", retry_options=gtypes.HttpRetryOptions(attempts=1)))
    client.models.generate_content(model="gemini:gemini-2.5-flash", contents=contents)
    log = json.loads(upstream_results(proxy, "gemini")[0])
    assert list(log["response"]) == ["output"] and MARKER in log["response"]["output"]
    assert log["response"]["output"].startswith("tests/test_app.py::test_case_0 PASSED")
