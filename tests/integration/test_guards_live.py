"""Loop detection, secret redaction, tool-loop detection and parameter clamping, through the real SDKs."""

from __future__ import annotations

import json
import re
import time

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from tests.conftest import OPENAI_KEYS, PROXY_KEY, Proxy
from tests.fakes.scenario import LOOP_PARAGRAPH


def wait_for_upstream_close(proxy: Proxy) -> bool:
    deadline = time.monotonic() + 5
    upstream = proxy.fakes.openai.chat_requests()[-1]
    while upstream.stream_completed is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return upstream.stream_completed is False


def assert_halted(text: str) -> None:
    answer, notice, _ = text.partition("[Response halted")
    assert notice and "loop was detected" in text
    assert answer.count(LOOP_PARAGRAPH.strip()[:60]) <= 3, "the repeated tail is not forwarded"


def test_a_looping_stream_is_halted_in_the_openai_sdk(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    chunks = list(api.chat.completions.create(model="gpt-4o", stream=True,
                                              messages=[{"role": "user", "content": "[[loop]]"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert_halted(text)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert wait_for_upstream_close(proxy), "the upstream request is cancelled"


def test_a_looping_stream_is_halted_in_the_anthropic_sdk(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    with api.messages.stream(model="openai:gpt-4o", max_tokens=1000,
                             messages=[{"role": "user", "content": "[[loop]]"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert_halted(text)
    assert final.stop_reason == "end_turn"
    assert wait_for_upstream_close(proxy)


def test_a_looping_stream_is_halted_in_the_genai_sdk(proxy: Proxy) -> None:
    client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(base_url=proxy.url, api_version="v1beta"))
    chunks = list(client.models.generate_content_stream(model="openai:gpt-4o", contents="[[loop]]"))
    assert_halted("".join(c.text or "" for c in chunks))
    assert chunks[-1].candidates[0].finish_reason is not None
    assert wait_for_upstream_close(proxy)


def test_a_looping_answer_is_truncated_when_not_streamed(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[loop]]"}])
    assert_halted(resp.choices[0].message.content or "")


def test_loop_detection_can_be_switched_off_per_session(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "no-loops"})
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/set(loop-detection=off)"}])
    resp = api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[loop]]"}])
    assert "loop was detected" not in (resp.choices[0].message.content or "")


SK_SECRET = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"


@pytest.mark.parametrize("sdk", ["openai", "anthropic", "genai"])
def test_secrets_are_redacted_before_they_reach_the_provider(proxy: Proxy, sdk: str) -> None:
    prompt = f"my keys are {OPENAI_KEYS[0]} and {SK_SECRET} and {PROXY_KEY}; also call get(token={SK_SECRET})"
    if sdk == "openai":
        openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0).chat.completions.create(
            model="gpt-4o", messages=[{"role": "system", "content": f"sys {SK_SECRET}"},
                                      {"role": "user", "content": prompt}])
    elif sdk == "anthropic":
        anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0).messages.create(
            model="openai:gpt-4o", max_tokens=50, system=f"sys {SK_SECRET}",
            messages=[{"role": "user", "content": prompt}])
    else:
        client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(base_url=proxy.url))
        client.models.generate_content(
            model="openai:gpt-4o", contents=prompt,
            config=types.GenerateContentConfig(system_instruction=f"sys {SK_SECRET}"))
    sent = json.dumps(proxy.fakes.openai.chat_requests()[-1].body)
    for secret in (OPENAI_KEYS[0], SK_SECRET, PROXY_KEY):
        assert secret not in sent
    assert sent.count("(API_KEY_HAS_BEEN_REDACTED)") == 5


def test_redaction_can_be_switched_off_per_session(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": "raw"})
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "!/set(redact-api-keys-in-prompts=false)"}])
    api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"x {SK_SECRET}"}])
    assert SK_SECRET in json.dumps(proxy.fakes.openai.chat_requests()[-1].body)


WEATHER_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def test_the_same_small_task_run_again_and_again_is_never_stopped(proxy: Proxy) -> None:
    """The issue's case: independent runs of one prompt (no session header) used to add up to a 'loop'."""
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    for _ in range(8):
        messages: list[dict] = [{"role": "user", "content": "weather?"}]
        resp = api.chat.completions.create(model="gpt-4o", tools=WEATHER_TOOLS, messages=messages)
        assert resp.choices[0].finish_reason == "tool_calls"
        call = resp.choices[0].message.tool_calls[0]
        messages += [resp.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "18 C, clear"}]
        resp = api.chat.completions.create(model="gpt-4o", tools=WEATHER_TOOLS, messages=messages)
        assert resp.choices[0].finish_reason == "stop"
        assert "Tool call loop detected" not in (resp.choices[0].message.content or "")


def _agent_run(api: openai.OpenAI, task: str, result: str, turns: int = 10) -> tuple[int, object]:
    """An SDK agent loop: run every tool call the model makes (always with ``result``) until it stops."""
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]
    messages: list[dict] = [{"role": "user", "content": task}]
    calls = 0
    for _ in range(turns):
        resp = api.chat.completions.create(model="gpt-4o", tools=tools, messages=messages)
        choice = resp.choices[0]
        if choice.finish_reason != "tool_calls":
            return calls, resp
        messages.append(choice.message.model_dump(exclude_none=True))
        for call in choice.message.tool_calls or []:
            calls += 1
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise AssertionError("the agent never stopped")


def test_an_agent_repeating_a_call_is_warned_then_stopped(proxy: Proxy) -> None:
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    before = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}, timeout=10).text
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    calls, resp = _agent_run(api, "[[agent:repeat 9 /work/notes.txt]] read the notes", "status: TODO\n")
    assert calls == 5, "4 identical calls pass, the 5th passes with a warning, the 6th is stopped"
    text = resp.choices[0].message.content or ""  # type: ignore[attr-defined]
    assert resp.choices[0].finish_reason == "stop"  # type: ignore[attr-defined]
    assert "Tool call loop detected" in text and "read_file" in text
    # the model was warned: the 5th result carried the note in the request that made the 6th call
    last = proxy.fakes.openai.chat_requests()[-1].body["messages"]
    tool_texts = [m["content"] for m in last if m["role"] == "tool"]
    assert ["llm-interactive-proxy" in t for t in tool_texts] == [False] * 4 + [True]
    assert "repeating this call again will stop the request" in tool_texts[4]
    assert flush(timeout=10)
    kinds = list(UsageRecord.objects.order_by("id").values_list("loop_halt_kind", flat=True))
    assert kinds == [""] * 5 + ["tool_loop"]
    metrics = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}, timeout=10).text
    # the counters live as long as the process: this test adds one halt and one warning
    assert _tool_loop_count(metrics, "halts") == _tool_loop_count(before, "halts") + 1
    assert _tool_loop_count(metrics, "warnings") == _tool_loop_count(before, "warnings") + 1


def _looping_history(repeats: int) -> list[dict]:
    """A conversation where get_weather was called ``repeats`` times with the same answer, then 'continue'."""
    messages: list[dict] = [{"role": "user", "content": "weather?"}]
    for i in range(repeats):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i:02d}", "name": "get_weather",
             "input": {"city": "Paris", "unit": "celsius"}}]})
        content: list[dict] = [{"type": "tool_result", "tool_use_id": f"toolu_{i:02d}", "content": "18 C, clear"}]
        if i == repeats - 1:
            content.append({"type": "text", "text": "continue"})
        messages.append({"role": "user", "content": content})
    return messages


@pytest.mark.parametrize("repeats", [4, 5])
def test_a_streamed_tool_loop_is_stopped_with_the_protocols_own_ending(proxy: Proxy, repeats: int) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    with api.messages.stream(model="openai:gpt-4o", max_tokens=200, tools=tools,
                             messages=_looping_history(repeats)) as stream:
        final = stream.get_final_message()
    kinds = [block.type for block in final.content]
    if repeats == 4:  # the 5th identical call goes through (with a warning for the model to read next time)
        assert final.stop_reason == "tool_use" and "tool_use" in kinds
        return
    assert final.stop_reason == "end_turn" and "tool_use" not in kinds
    text = "".join(block.text for block in final.content if block.type == "text")
    assert 'Tool call loop detected: "get_weather" was called 6 times in a row' in text


def test_tool_loop_detection_can_be_switched_off_per_session(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": "no-tool-loops"})
    api.messages.create(model="openai:gpt-4o", max_tokens=20,
                        messages=[{"role": "user", "content": "!/set(tool-loop-detection=off)"}])
    final = api.messages.create(model="openai:gpt-4o", max_tokens=200, messages=_looping_history(8),
                                tools=[{"name": "get_weather", "input_schema": {"type": "object"}}])
    assert final.stop_reason == "tool_use"


def test_session_temperature_defaults_apply_and_the_request_value_wins(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": "temps"})
    api.messages.create(model="openai:gpt-4o", max_tokens=20, messages=[{"role": "user", "content": "!/set(temperature=1.7)"}])
    api.messages.create(model="openai:gpt-4o", max_tokens=20, messages=[{"role": "user", "content": "hot"}])
    assert proxy.fakes.openai.chat_requests()[-1].body["temperature"] == 1.7
    api.messages.create(model="openai:gpt-4o", max_tokens=20, extra_body={"temperature": 1.0},
                        messages=[{"role": "user", "content": "x"}])
    assert proxy.fakes.openai.chat_requests()[-1].body["temperature"] == 1.0
    # this SDK version no longer exposes temperature as an argument; the wire field still works
    api.messages.create(model="openai:gpt-4o", max_tokens=20, extra_body={"temperature": 0.2},
                        messages=[{"role": "user", "content": "x"}])
    assert proxy.fakes.openai.chat_requests()[-1].body["temperature"] == 0.2, "the request's own value wins"


def test_temperature_above_a_backends_range_is_clamped() -> None:
    from proxy_app.core import canonical as c
    from proxy_app.providers.params import adapt_params

    chat = c.ChatRequest(model="m", messages=[], source_protocol="openai_chat", temperature=1.8)
    assert adapt_params(chat, "anthropic").temperature == 1.0
    assert adapt_params(chat, "gemini").temperature == 1.8
    assert adapt_params(chat, "openai_chat") is chat


def test_per_model_defaults_from_the_admin_fill_unset_values(proxy: Proxy) -> None:
    from proxy_app.models import ModelDefaults

    ModelDefaults.objects.create(backend="openai", model_pattern="gpt-4o*", temperature=0.1, reasoning_effort="low")
    ModelDefaults.objects.create(model_pattern="*", max_tokens=77)
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    body = proxy.fakes.openai.chat_requests()[-1].body
    assert body["temperature"] == 0.1 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body, "only the most specific matching row applies"
    api.chat.completions.create(model="gpt-4o", temperature=0.9, messages=[{"role": "user", "content": "x"}])
    assert proxy.fakes.openai.chat_requests()[-1].body["temperature"] == 0.9
    api.chat.completions.create(model="openrouter:gpt-4", messages=[{"role": "user", "content": "x"}])
    assert proxy.fakes.openrouter.chat_requests()[-1].body["max_tokens"] == 77


@pytest.mark.parametrize("sdk", ["openai", "anthropic", "genai"])
def test_the_configured_gemini_key_and_an_sk_string_are_redacted_in_every_protocol(
    proxy: Proxy, sdk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import configure_backends

    gemini_key = "AIzaSyConfiguredGeminiKeyNumberOne0001"
    configure_backends(monkeypatch, proxy.fakes, GEMINI_API_KEY="", GEMINI_API_KEY_1=gemini_key)
    prompt = f"debug this: GEMINI_API_KEY_1={gemini_key} OPENAI={SK_SECRET}"
    if sdk == "openai":
        openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0).chat.completions.create(
            model="gemini:gemini-2.5-flash", messages=[{"role": "user", "content": prompt}])
    elif sdk == "anthropic":
        anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0).messages.create(
            model="gemini:gemini-2.5-flash", max_tokens=50, messages=[{"role": "user", "content": prompt}])
    else:
        client = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(base_url=proxy.url))
        client.models.generate_content(model="gemini:gemini-2.5-flash", contents=prompt)
    assert proxy.fakes.gemini is not None
    sent = json.dumps(proxy.fakes.gemini.chat_requests()[-1].body)
    assert gemini_key not in sent and SK_SECRET not in sent
    assert sent.count("(API_KEY_HAS_BEEN_REDACTED)") == 2


def _tool_loop_count(metrics: str, counter: str) -> float:
    match = re.search(rf'^llmproxy_loop_{counter}_total\{{kind="tool_loop"\}} ([0-9.]+)$', metrics, re.M)
    return float(match.group(1)) if match else 0.0
