"""The official ``openai`` SDK's ``client.responses`` against the live proxy and the fake providers."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import openai
import pytest

from proxy_app.protocols.openai_responses import STATEFUL_UNSUPPORTED
from tests.conftest import OPENAI_KEYS, Proxy

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": False,
    }
]
RED_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)).decode()
BACKENDS = ["openai:gpt-4o", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash"]


def client(proxy: Proxy, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0, default_headers=headers)


def upstream_body(proxy: Proxy, model: str) -> dict[str, Any]:
    return proxy.fakes.by_backend(model.split(":")[0]).chat_requests()[-1].body


def events_of(stream: Any) -> list[Any]:
    return list(stream)


# ---------------------------------------------------------------- plain answers


@pytest.mark.parametrize("model", BACKENDS)
def test_it_answers_a_plain_request_from_every_backend(proxy: Proxy, model: str) -> None:
    resp = client(proxy).responses.create(model=model, input="Hi there")
    assert resp.object == "response" and resp.id.startswith("resp_")
    assert resp.status == "completed"
    assert resp.model == model
    assert resp.output_text.startswith("Hello from the fake provider! You said: Hi there")
    message = resp.output[-1]
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    assert message.content[0].type == "output_text" and message.content[0].annotations == []
    assert resp.usage is not None and resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.parallel_tool_calls is True and resp.tool_choice == "auto" and resp.tools == []
    assert upstream_body(proxy, model)


def test_it_sends_the_openai_backend_a_chat_completion_request(proxy: Proxy) -> None:
    client(proxy).responses.create(
        model="gpt-4o", input="Hi", max_output_tokens=50, temperature=0.3, top_p=0.9, user="u-1",
        metadata={"trace": "t1"},
    )
    upstream = proxy.fakes.openai.chat_requests()[-1]
    assert upstream.key == OPENAI_KEYS[0]
    assert upstream.path.endswith("/chat/completions")
    body = upstream.body
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["user"]) == (50, 0.3, 0.9, "u-1")
    assert "metadata" not in body, "Responses metadata belongs to the client's protocol only"


def test_instructions_become_the_system_prompt(proxy: Proxy) -> None:
    resp = client(proxy).responses.create(model="anthropic:claude-sonnet-4-5", instructions="Talk like a pirate.",
                                          input="Are semicolons optional?")
    assert resp.instructions == "Talk like a pirate."
    assert "[system: Talk like a pirate.]" in resp.output_text
    # as a block: the proxy marks it as a prompt-cache breakpoint for Anthropic (ANTHROPIC_AUTO_CACHE)
    assert upstream_body(proxy, "anthropic:x")["system"] == [
        {"type": "text", "text": "Talk like a pirate.", "cache_control": {"type": "ephemeral"}}]


def test_message_items_with_developer_roles_and_history_are_forwarded(proxy: Proxy) -> None:
    client(proxy).responses.create(model="gpt-4o", input=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "knock knock"},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Who's there?", "annotations": []}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Orange"}]},
    ])
    messages = proxy.fakes.openai.chat_requests()[-1].body["messages"]
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "knock knock"},
        {"role": "assistant", "content": "Who's there?"},
        {"role": "user", "content": "Orange"},
    ]


@pytest.mark.parametrize("model", ["openai:gpt-4o", "anthropic:claude-sonnet-4-5"])
def test_it_forwards_image_input(proxy: Proxy, model: str) -> None:
    resp = client(proxy).responses.create(model=model, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{RED_PNG}", "detail": "low"},
    ]}])
    assert resp.output_text.startswith("I see an image of a red square.")
    body = upstream_body(proxy, model)
    if model.startswith("openai"):
        assert body["messages"][0]["content"][1] == {
            "type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_PNG}", "detail": "low"}}
    else:
        assert body["messages"][0]["content"][1]["source"] == {
            "type": "base64", "media_type": "image/png", "data": RED_PNG}


# ---------------------------------------------------------------- streaming


@pytest.mark.parametrize("model", BACKENDS)
def test_it_streams_the_documented_event_sequence(proxy: Proxy, model: str) -> None:
    events = events_of(client(proxy).responses.create(model=model, input="stream please", stream=True))
    types = [e.type for e in events]
    assert types[:5] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added", "response.output_text.delta"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.startswith("Hello from the fake provider! You said: stream please")
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == text
    final = events[-1].response
    assert final.status == "completed" and final.output_text == text
    assert final.id == events[0].response.id
    assert final.usage is not None and final.usage.output_tokens > 0
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {final.output[0].id}


def test_the_sdk_stream_helper_accumulates_the_final_response(proxy: Proxy) -> None:
    with client(proxy, **{"X-Session-ID": "responses-helper"}).responses.stream(model="gemini:gemini-2.5-flash", input="helper",
                                        tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "celsius"}


async def test_the_async_sdk_streams(proxy: Proxy) -> None:
    api = openai.AsyncOpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    stream = await api.responses.create(model="gpt-4o", input="async", stream=True)
    text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
    assert text.endswith("You said: async")
    await api.close()


# ---------------------------------------------------------------- tools


@pytest.mark.parametrize("model", BACKENDS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_it_round_trips_a_function_call(proxy: Proxy, model: str, stream: bool) -> None:
    api = client(proxy, **{"X-Session-ID": f"responses-tools-{model}-{stream}"})  # a session of its own
    history: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        events = events_of(api.responses.create(model=model, input=history, tools=TOOLS, stream=True))
        types = [e.type for e in events]
        assert "response.function_call_arguments.delta" in types
        assert types[-3:] == ["response.function_call_arguments.done", "response.output_item.done",
                              "response.completed"]
        output = events[-1].response.output
    else:
        output = api.responses.create(model=model, input=history, tools=TOOLS, tool_choice="auto").output
    call = output[-1]
    assert call.type == "function_call" and call.status == "completed" and call.id.startswith("fc_")
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "celsius"}
    history += [
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees and sunny"},
    ]
    final = api.responses.create(model=model, input=history, tools=TOOLS)
    assert final.output_text == "The tool returned: 18 degrees and sunny"
    if model.startswith("openai"):
        messages = upstream_body(proxy, model)["messages"]
        assert messages[-2]["tool_calls"][0]["id"] == call.call_id
        assert messages[-1] == {"role": "tool", "tool_call_id": call.call_id, "content": "18 degrees and sunny"}
        assert upstream_body(proxy, model)["tools"] == [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city", "parameters": TOOLS[0]["parameters"]}}]


def test_builtin_tools_are_not_sent_to_other_protocols(proxy: Proxy) -> None:
    resp = client(proxy).responses.create(model="gpt-4o", input="hi", tools=[{"type": "web_search"}])
    assert resp.output_text.startswith("Hello from the fake provider")
    assert resp.tools[0].type == "web_search"
    assert "tools" not in proxy.fakes.openai.chat_requests()[-1].body


# ---------------------------------------------------------------- reasoning and structured output


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_reasoning_effort_reaches_anthropic_as_thinking(proxy: Proxy, stream: bool) -> None:
    kwargs: dict[str, Any] = {"model": "anthropic:claude-sonnet-4-5", "input": "Think about it",
                              "reasoning": {"effort": "high", "summary": "auto"}}
    if stream:
        events = events_of(client(proxy).responses.create(**kwargs, stream=True))
        types = [e.type for e in events]
        assert types[2:4] == ["response.output_item.added", "response.reasoning_summary_part.added"]
        assert "response.reasoning_summary_text.delta" in types
        thinking = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
        resp = events[-1].response
        assert resp.output[0].summary[0].text == thinking
    else:
        resp = client(proxy).responses.create(**kwargs)
    assert resp.reasoning is not None and resp.reasoning.effort == "high"
    reasoning, message = resp.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert reasoning.summary[0].type == "summary_text"
    assert reasoning.summary[0].text == "Let me think step by step about this request."
    assert message.type == "message"
    assert resp.usage is not None and resp.usage.output_tokens > 0  # Anthropic counts thinking in output only
    thinking = upstream_body(proxy, "anthropic:x")["thinking"]
    assert thinking == {"type": "enabled", "budget_tokens": 24576}


def test_reasoning_effort_reaches_openai_as_reasoning_effort(proxy: Proxy) -> None:
    client(proxy).responses.create(model="gpt-4o", input="hmm", reasoning={"effort": "low"})
    assert proxy.fakes.openai.chat_requests()[-1].body["reasoning_effort"] == "low"


@pytest.mark.parametrize("model", BACKENDS)
def test_structured_output_via_text_format(proxy: Proxy, model: str) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "echo": {"type": "string"}},
              "required": ["answer", "echo"], "additionalProperties": False}
    text = {"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}}
    resp = client(proxy).responses.create(model=model, input="give me json", text=text)  # type: ignore[arg-type]
    assert json.loads(resp.output_text)["answer"] == "ok"
    assert resp.text is not None and resp.text.format is not None and resp.text.format.type == "json_schema"
    body = upstream_body(proxy, model)
    if model.startswith("openai"):
        assert body["response_format"] == {"type": "json_schema",
                                           "json_schema": {"name": "reply", "schema": schema, "strict": True}}


def test_the_sdk_parse_helper_reads_structured_output(proxy: Proxy) -> None:
    from pydantic import BaseModel

    class Reply(BaseModel):
        answer: str
        echo: str

    resp = client(proxy).responses.parse(model="gpt-4o", input="give me json", text_format=Reply)
    assert resp.output_parsed is not None and resp.output_parsed.answer == "ok"


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_help_is_answered_by_the_proxy_without_an_upstream_call(proxy: Proxy, stream: bool) -> None:
    api = client(proxy, **{"X-Session-ID": f"responses-help-{stream}"})
    if stream:
        events = events_of(api.responses.create(model="gpt-4o", input="!/help", stream=True))
        assert events[-1].type == "response.completed"
        answer = events[-1].response.output_text
    else:
        resp = api.responses.create(model="gpt-4o", input="!/help")
        assert resp.usage is not None and resp.usage.total_tokens == 0
        answer = resp.output_text
    assert "!/set(name=value, …)" in answer
    assert sum(len(f.chat_requests()) for f in proxy.fakes.all()) == 0


def test_set_model_steers_the_next_responses_request(proxy: Proxy) -> None:
    api = client(proxy, **{"X-Session-ID": "responses-set-model"})
    api.responses.create(model="gpt-4o", input="!/set(model=anthropic:claude-sonnet-4-5)")
    resp = api.responses.create(model="gpt-4o", input="who answers?")
    assert resp.output_text.startswith("Hello from the fake provider")
    assert proxy.fakes.anthropic is not None and proxy.fakes.anthropic.chat_requests()
    assert not proxy.fakes.openai.chat_requests()


# ---------------------------------------------------------------- errors


def test_it_rejects_a_wrong_key_with_401(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        api.responses.create(model="gpt-4o", input="x")
    assert err.value.status_code == 401
    assert err.value.body["type"] == "authentication_error"  # type: ignore[index]


@pytest.mark.parametrize(
    "body, param",
    [
        (b"{not json", None),
        (b'{"input": "x"}', "model"),
        (b'{"model": "gpt-4o"}', "input"),
        (b'{"model": "gpt-4o", "input": [{"role": "wizard", "content": "x"}]}', "input[0].role"),
        (b'{"model": "gpt-4o", "input": "x", "temperature": "hot"}', "temperature"),
        (b'{"model": "gpt-4o", "input": "x", "text": {"format": {"type": "yaml"}}}', "text.format.type"),
    ],
)
def test_it_answers_bad_input_with_400_in_openai_shape(proxy: Proxy, body: bytes, param: str | None) -> None:
    r = httpx.post(f"{proxy.openai_base}/responses", content=body,
                   headers={"Authorization": f"Bearer {proxy.key}", "Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert set(error) == {"message", "type", "param", "code"}
    assert not proxy.fakes.openai.chat_requests()


def test_previous_response_id_is_refused_with_a_clear_400(proxy: Proxy) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client(proxy).responses.create(model="gpt-4o", input="and then?", previous_response_id="resp_123")
    assert err.value.status_code == 400
    assert err.value.message.endswith(STATEFUL_UNSUPPORTED.format(field="previous_response_id"))
    assert err.value.param == "previous_response_id"
    assert not proxy.fakes.openai.chat_requests()


@pytest.mark.parametrize("status, exc", [(400, openai.BadRequestError), (404, openai.NotFoundError),
                                         (500, openai.InternalServerError)])
def test_it_passes_upstream_errors_through_with_their_status(proxy: Proxy, status: int, exc: type) -> None:
    with pytest.raises(exc) as err:
        client(proxy).responses.create(model="anthropic:claude-sonnet-4-5", input=f"[[error:{status}]]")
    assert err.value.status_code == status
    assert isinstance(err.value.body, dict) and {"message", "type"} <= set(err.value.body)


def test_a_mid_stream_failure_ends_with_error_and_response_failed(proxy: Proxy) -> None:
    events = events_of(client(proxy).responses.create(
        model="gpt-4o", input="[[cut]] " + "long answer " * 20, stream=True))
    types = [e.type for e in events]
    assert "response.output_text.delta" in types, "some text arrives before the failure"
    assert types[-2:] == ["error", "response.failed"]
    assert "broke off" in events[-2].message
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None and "broke off" in failed.error.message
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_it_answers_other_methods_with_405_in_openai_shape(proxy: Proxy) -> None:
    r = httpx.get(f"{proxy.openai_base}/responses", headers={"Authorization": f"Bearer {proxy.key}"})
    assert r.status_code == 405
    assert r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_codex_namespace_tools_reach_a_chat_backend_and_come_back_namespaced(proxy: Proxy, stream: bool) -> None:
    """Codex groups its sub-agent tools in a namespace; it resolves a call by name + namespace."""
    body = {"model": "anthropic:claude-sonnet-4-5", "stream": stream, "input": "spawn a helper", "tools": [
        {"type": "namespace", "name": "multi_agent_v1", "description": "Sub-agents.", "tools": [
            {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}]}]}
    resp = httpx.post(f"{proxy.url}/v1/responses", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {proxy.key}", "X-Session-ID": f"namespaces-{stream}"})
    assert resp.status_code == 200, resp.text
    upstream = proxy.fakes.anthropic.chat_requests()[-1].body
    assert [t["name"] for t in upstream["tools"]] == ["multi_agent_v1__spawn_agent"]
    if stream:
        done = [line for line in resp.text.splitlines() if line.startswith("data:") and "response.completed" in line]
        output = json.loads(done[0][5:])["response"]["output"]
    else:
        output = resp.json()["output"]
    call = next(item for item in output if item["type"] == "function_call")
    assert (call["name"], call["namespace"]) == ("spawn_agent", "multi_agent_v1")
