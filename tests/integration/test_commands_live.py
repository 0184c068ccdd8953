"""In-chat commands through each of the three SDKs, answered by the proxy or steering the next request."""

from __future__ import annotations

import json
from collections.abc import Callable

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from tests.conftest import Proxy

Ask = Callable[[str], str]


def openai_asker(proxy: Proxy, session: str, *, stream: bool = False) -> Ask:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": session})

    def ask(text: str) -> str:
        if stream:
            chunks = api.chat.completions.create(model="gpt-4o", stream=True, messages=[{"role": "user", "content": text}])
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
        return resp.choices[0].message.content or ""

    return ask


def anthropic_asker(proxy: Proxy, session: str, *, stream: bool = False) -> Ask:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": session})

    def ask(text: str) -> str:
        if stream:
            with api.messages.stream(model="openai:gpt-4o", max_tokens=200,
                                     messages=[{"role": "user", "content": text}]) as s:
                return "".join(s.text_stream)
        msg = api.messages.create(model="openai:gpt-4o", max_tokens=200, messages=[{"role": "user", "content": text}])
        return "".join(b.text for b in msg.content if b.type == "text")

    return ask


def genai_asker(proxy: Proxy, session: str, *, stream: bool = False) -> Ask:
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(
        base_url=proxy.url, api_version="v1beta", headers={"X-Session-ID": session}))

    def ask(text: str) -> str:
        if stream:
            return "".join(c.text or "" for c in client.models.generate_content_stream(model="openai:gpt-4o", contents=text))
        return client.models.generate_content(model="openai:gpt-4o", contents=text).text or ""

    return ask


ASKERS = {"openai": openai_asker, "anthropic": anthropic_asker, "genai": genai_asker}


def upstream_count(proxy: Proxy) -> int:
    return sum(len(f.chat_requests()) for f in proxy.fakes.all())


@pytest.mark.parametrize("sdk", ASKERS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_help_is_answered_by_the_proxy_without_an_upstream_call(proxy: Proxy, sdk: str, stream: bool) -> None:
    answer = ASKERS[sdk](proxy, f"help-{sdk}", stream=stream)("!/help")
    assert "!/set(name=value, …)" in answer and "!/create-failover-route" in answer
    assert upstream_count(proxy) == 0


@pytest.mark.parametrize("sdk", ASKERS)
def test_set_model_steers_the_next_request_and_unset_restores_it(proxy: Proxy, sdk: str) -> None:
    ask = ASKERS[sdk](proxy, f"steer-{sdk}")
    assert "model set to gemini:gemini-2.5-flash" in ask("!/set(model=gemini:gemini-2.5-flash)")
    answer = ask("Which backend are you?")
    assert answer.startswith("Hello from the fake provider")
    assert proxy.fakes.gemini is not None
    gemini_calls = proxy.fakes.gemini.chat_requests()
    assert len(gemini_calls) == 1 and "gemini-2.5-flash" in gemini_calls[0].path
    assert not proxy.fakes.openai.chat_requests()
    assert "model reset to default" in ask("!/unset(model)")
    ask("and now?")
    assert len(proxy.fakes.openai.chat_requests()) == 1


def test_after_set_model_answers_name_the_model_that_served_and_the_usage_row_keeps_both(proxy: Proxy) -> None:
    """As OpenRouter does: the answer names the model that served (``backend:model``), not the one the
    client asked for; the usage row keeps the asked-for model beside the served one."""
    from usage_app import recorder
    from usage_app.models import UsageRecord

    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "served-model"})
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/set(model=gemini:gemini-2.5-flash)"}])
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Which model are you?"}])
    assert resp.model == "gemini:gemini-2.5-flash"
    chunks = list(api.chat.completions.create(model="gpt-4o", stream=True,
                                              messages=[{"role": "user", "content": "And streamed?"}]))
    assert {chunk.model for chunk in chunks} == {"gemini:gemini-2.5-flash"}
    recorder.flush(10)
    rows = list(UsageRecord.objects.filter(session_id="served-model", backend="gemini"))
    assert len(rows) == 2
    assert {(r.requested_model, r.model) for r in rows} == {("gpt-4o", "gemini-2.5-flash")}


def test_settings_made_in_one_protocol_apply_in_the_others(proxy: Proxy) -> None:
    openai_asker(proxy, "shared")("!/set(model=openrouter:openai/gpt-4)")
    anthropic_asker(proxy, "shared")("hello from anthropic")
    genai_asker(proxy, "shared")("hello from gemini")
    assert [r.body["model"] for r in proxy.fakes.openrouter.chat_requests()] == ["openai/gpt-4", "openai/gpt-4"]


def test_a_message_with_commands_and_text_runs_the_commands_and_forwards_the_rest(proxy: Proxy) -> None:
    answer = openai_asker(proxy, "mixed")("!/set(temperature=0.3) What is 2+2?")
    assert answer == "Hello from the fake provider! You said: What is 2+2?"
    body = proxy.fakes.openai.chat_requests()[-1].body
    assert body["messages"][-1]["content"] == "What is 2+2?"
    assert body["temperature"] == 0.3


def test_commands_in_earlier_turns_or_tool_results_are_not_run_again(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "history"})
    messages = [
        {"role": "user", "content": "!/set(model=gemini:gemini-2.5-flash)"},
        {"role": "assistant", "content": "model set", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "file says !/set(model=gemini:gemini-2.5-pro)"},
    ]
    api.chat.completions.create(model="gpt-4o", messages=messages)
    messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "next question"}]
    api.chat.completions.create(model="gpt-4o", messages=messages)
    assert len(proxy.fakes.openai.chat_requests()) == 2
    assert proxy.fakes.gemini is not None and not proxy.fakes.gemini.chat_requests()
    assert "!/set" in str(proxy.fakes.openai.chat_requests()[0].body["messages"])


def test_unknown_commands_get_a_did_you_mean(proxy: Proxy) -> None:
    answer = openai_asker(proxy, "typo")("!/hlep")
    assert "unknown command 'hlep'" in answer and "did you mean '!/help'" in answer
    assert upstream_count(proxy) == 0


@pytest.mark.parametrize("command, error", [
    ("!/set(temperature=9)", "must be between 0 and 2"),
    ("!/set(model=nosuch:thing)", "unknown backend 'nosuch'"),
    ("!/set(colour=blue)", "unknown setting 'colour'"),
    ("!/set(openai_url=ftp://x)", "http:// or https://"),
    ("!/create-failover-route(name=r, policy=zz)", "policy must be one of"),
    ("!/route-append(name=missing, openai:gpt-4o)", "no failover route named 'missing'"),
])
def test_bad_arguments_are_explained(proxy: Proxy, command: str, error: str) -> None:
    assert error in openai_asker(proxy, "errors")(command)


def test_oneoff_applies_to_the_next_request_only(proxy: Proxy) -> None:
    ask = openai_asker(proxy, "oneoff")
    ask("!/oneoff(openrouter:gpt-4o-mini)")
    ask("first")
    ask("second")
    assert [r.body["model"] for r in proxy.fakes.openrouter.chat_requests()] == ["gpt-4o-mini"]
    assert len(proxy.fakes.openai.chat_requests()) == 1


def test_hello_session_models_and_routes_listing(proxy: Proxy) -> None:
    ask = openai_asker(proxy, "info")
    hello = ask("!/hello")
    assert "session: info" in hello and "openai (openai_chat): 1 key(s)" in hello
    assert "sk-fake" not in hello
    ask("!/set(project=alpha, reasoning-effort=high)")
    session = ask("!/session")
    assert "project = alpha" in session and "reasoning-effort = high" in session
    assert "gemini:gemini-2.5-flash" in ask("!/models")
    ask("!/create-failover-route(name=fb, policy=km)")
    ask("!/route-append(name=fb, openai:gpt-4o, gemini:gemini-2.5-flash)")
    ask("!/route-prepend(name=fb, openrouter:gpt-4)")
    assert "1. openrouter:gpt-4\n  2. openai:gpt-4o\n  3. gemini:gemini-2.5-flash" in ask("!/route-list(name=fb)")
    assert "fb (policy km, global): openrouter:gpt-4, openai:gpt-4o, gemini:gemini-2.5-flash" in ask("!/list-failover-routes")
    ask("!/route-clear(name=fb)")
    assert "(empty)" in ask("!/route-list(name=fb)")
    assert "deleted" in ask("!/delete-failover-route(name=fb)")
    assert upstream_count(proxy) == 0


def test_aliases_expand_to_their_commands(proxy: Proxy) -> None:
    ask = openai_asker(proxy, "alias")
    assert "!/fast now runs !/set(model=openrouter:gpt-4o-mini)" in ask('!/alias(name=fast, command="set(model=openrouter:gpt-4o-mini)")')
    ask("!/fast")
    ask("go")
    assert [r.body["model"] for r in proxy.fakes.openrouter.chat_requests()] == ["gpt-4o-mini"]


def test_a_custom_prefix_and_the_operator_switch(proxy: Proxy, settings: object) -> None:
    ask = openai_asker(proxy, "prefix")
    ask("!/set(command-prefix=$$)")
    assert "Commands" in ask("$$help")
    assert ask("!/help").startswith("Hello from the fake provider"), "the old prefix is plain text now"
    settings.DISABLE_INTERACTIVE_COMMANDS = True  # type: ignore[attr-defined]
    assert ask("$$help").startswith("Hello from the fake provider")


def test_openai_url_gets_stored_keys_only_for_allowed_hosts(proxy: Proxy, settings: object) -> None:
    ask = openai_asker(proxy, "custom-url")
    settings.OPENAI_URL_ALLOWED_HOSTS = []  # type: ignore[attr-defined]
    settings.OPENAI_URL_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # type: ignore[attr-defined]  # the fake is on loopback
    assert "openai-url set to" in ask(f"!/set(openai_url={proxy.fakes.openai.origin}/v1)")
    ask("hello custom")
    assert proxy.fakes.openai.chat_requests()[-1].key is None, "no stored key goes to an unlisted host"
    settings.OPENAI_URL_ALLOWED_HOSTS = ["127.0.0.1"]  # type: ignore[attr-defined]
    from proxy_app.providers.registry import invalidate_registry

    invalidate_registry()
    ask("hello again")
    assert proxy.fakes.openai.chat_requests()[-1].key is not None
    settings.OPENAI_URL_COMMAND_ENABLED = False  # type: ignore[attr-defined]
    assert "disabled" in ask("!/set(openai_url=http://127.0.0.1:1/v1)")


def test_sessions_survive_a_cache_flush(proxy: Proxy) -> None:
    from commands_app.sessions import session_cache_clear

    ask = openai_asker(proxy, "durable")
    ask("!/set(model=openrouter:gpt-4o)")
    session_cache_clear()
    ask("still there?")
    assert len(proxy.fakes.openrouter.chat_requests()) == 1


def test_a_key_without_permission_cannot_change_shared_routes(proxy: Proxy) -> None:
    from proxy_app.core.secrets import hash_key
    from proxy_app.models import ProxyKey

    ProxyKey.objects.create(name="viewer", key_hash=hash_key("lip-viewer-key-1234567890"), key_hint="lip...7890",
                            can_change_shared_state=False)
    r = httpx.post(f"{proxy.openai_base}/chat/completions", headers={"Authorization": "Bearer lip-viewer-key-1234567890"},
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "!/create-failover-route(name=x)"}]})
    assert "may not run create-failover-route" in r.json()["choices"][0]["message"]["content"]


# ---------------------------------------------------------------- as the agentic clients send them


def claude_code_turn(text: str) -> list[dict[str, object]]:
    """The newest turn as Claude Code 2.1.332 sends it: a reminder block beside the typed text,
    then a mid-conversation system turn."""
    return [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>\nAttribution rules\n</system-reminder>"},
                                     {"type": "text", "text": text}]},
        {"role": "system", "content": [{"type": "text", "text": "# Environment\ncwd: /w"}],
         "output_config": {"effort": "medium"}},
    ]


def test_a_command_typed_in_claude_code_is_answered_once_even_when_the_turn_is_retried(proxy: Proxy) -> None:
    body = {"model": "claude-opus-5-5", "max_tokens": 100, "stream": True, "messages": claude_code_turn(
        "!/create-failover-route(name=cc-route, policy=k)")}
    headers = {"x-api-key": proxy.key, "anthropic-version": "2023-06-01", "x-claude-code-session-id": "cc-1"}
    answers = [httpx.post(f"{proxy.url}/v1/messages?beta=true", json=body, headers=headers, timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert "event: message_stop" in answers[1].text and "cc-route" in answers[0].text
    assert "already exists" not in answers[1].text  # the retry did not run the command a second time
    assert upstream_count(proxy) == 0


def test_two_claude_code_sessions_of_one_key_keep_their_own_settings(proxy: Proxy) -> None:
    def ask(session: str, text: str) -> httpx.Response:
        body = {"model": "claude-opus-5-5", "max_tokens": 100, "messages": claude_code_turn(text)}
        return httpx.post(f"{proxy.url}/v1/messages", json=body, timeout=10, headers={
            "x-api-key": proxy.key, "anthropic-version": "2023-06-01", "x-claude-code-session-id": session})

    assert ask("terminal-a", "!/set(model=gemini:gemini-2.5-flash)").status_code == 200
    served_a = ask("terminal-a", "read the file").json()
    served_b = ask("terminal-b", "read the file").json()
    assert served_a["model"] == "gemini:gemini-2.5-flash"  # the answer names the model that served it
    assert served_b["model"] == "claude-opus-5-5"  # as asked: nothing was overridden there
    gemini_calls, openai_calls = proxy.fakes.gemini.chat_requests(), proxy.fakes.openai.chat_requests()
    assert len(gemini_calls) == 1 and "gemini-2.5-flash" in gemini_calls[0].path
    assert len(openai_calls) == 1  # terminal b: the default backend, untouched by terminal a's command


def test_gemini_clis_router_request_gets_valid_json_and_runs_no_command(proxy: Proxy) -> None:
    schema = {"type": "OBJECT", "required": ["complexity_reasoning", "complexity_score"], "properties": {
        "complexity_reasoning": {"type": "STRING"}, "complexity_score": {"type": "INTEGER"}}}
    body = {"contents": [{"role": "user", "parts": [{"text": "<session_context>\nctx\n</session_context>"}]},
                         {"role": "user", "parts": [{"text": "!/set(project=router)"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema}}
    resp = httpx.post(f"{proxy.url}/v1beta/models/gemini-3.5-flash-lite:generateContent", json=body, timeout=10,
                      headers={"x-goog-api-key": proxy.key, "x-session-id": "router",
                               "user-agent": "GeminiCLI-tui/0.61.0/gemini-3.1-pro-preview (linux; x64; terminal)"})
    assert resp.status_code == 200
    answer = json.loads(resp.json()["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"complexity_reasoning": "!/set(project=router)", "complexity_score": 1}
    session = ASKERS["openai"](proxy, "router")("!/session")
    assert "project" not in session  # only the turn itself runs its commands
    assert upstream_count(proxy) == 0


def test_a_command_quoted_inside_a_line_is_not_run(proxy: Proxy) -> None:
    """Gemini CLI's session summary quotes the conversation ("User: !/route-append(…)"): text, not a command."""
    ask = ASKERS["openai"](proxy, "quoted")
    answer = ask("Summarize this conversation:\nUser: !/set(project=quoted)\nAssistant: done")
    assert "Hello from the fake provider" in answer  # forwarded untouched
    assert "project" not in ask("!/session")


def test_a_codex_title_request_about_a_command_turn_is_answered_without_a_model(proxy: Proxy) -> None:
    body = {"model": "gpt-5.1-codex", "input": "Generate a concise, single-line task title.\nUser prompt:\n!/help",
            "text": {"format": {"type": "json_schema", "name": "title", "schema": {
                "type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}}}}
    resp = httpx.post(f"{proxy.url}/v1/responses", json=body, timeout=10, headers={
        "Authorization": f"Bearer {proxy.key}", "user-agent": "codex_cli_rs/0.171.0", "thread-id": "title-1"})
    assert resp.status_code == 200
    title = json.loads(resp.json()["output"][0]["content"][0]["text"])["title"]
    assert "!/help" in title
    assert upstream_count(proxy) == 0
