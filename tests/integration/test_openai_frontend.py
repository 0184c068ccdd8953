"""The official ``openai`` SDK against the live proxy and a fake OpenAI-compatible upstream."""

from __future__ import annotations

import base64
import json

import httpx
import openai
import pytest

from tests.conftest import OPENAI_KEYS, Proxy

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
RED_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)).decode()


def client(proxy: Proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)


def test_it_answers_a_plain_request(proxy: Proxy) -> None:
    resp = client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi there"}])
    assert resp.choices[0].message.content == "Hello from the fake provider! You said: Hi there"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-4o"
    upstream = proxy.fakes.openai.chat_requests()[-1]
    assert upstream.key == OPENAI_KEYS[0]
    assert upstream.body["model"] == "gpt-4o"
    assert resp.usage is not None and resp.usage.prompt_tokens > 0


def test_it_streams_text_with_usage(proxy: Proxy) -> None:
    stream = client(proxy).chat.completions.create(
        model="openai:gpt-4o", messages=[{"role": "user", "content": "stream please"}],
        stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "Hello from the fake provider! You said: stream please"
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert proxy.fakes.openai.chat_requests()[-1].body["model"] == "gpt-4o"


def test_it_routes_by_backend_prefix_keeping_the_rest_of_the_name(proxy: Proxy) -> None:
    client(proxy).chat.completions.create(
        model="openrouter:openai/gpt-4", messages=[{"role": "user", "content": "hi"}]
    )
    upstream = proxy.fakes.openrouter.chat_requests()[-1]
    assert upstream.body["model"] == "openai/gpt-4"
    assert upstream.headers.get("x-title") and upstream.headers.get("http-referer")
    assert not proxy.fakes.openai.chat_requests()


@pytest.mark.parametrize("stream", [False, True])
def test_it_round_trips_a_tool_call(proxy: Proxy, stream: bool) -> None:
    api = client(proxy)
    messages: list[dict] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        chunks = list(api.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS, stream=True))
        calls: dict[int, dict] = {}
        for ch in chunks:
            for tc in (ch.choices[0].delta.tool_calls or []) if ch.choices else []:
                entry = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
                entry["arguments"] += tc.function.arguments or ""
        call = calls[0]
        assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["tool_calls"]
    else:
        resp = api.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS, tool_choice="auto")
        assert resp.choices[0].finish_reason == "tool_calls"
        tc = resp.choices[0].message.tool_calls[0]
        call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris", "unit": "celsius"}
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees and sunny"},
    ]
    final = api.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    assert final.choices[0].message.content == "The tool returned: 18 degrees and sunny"
    upstream = proxy.fakes.openai.chat_requests()[-1].body
    assert upstream["messages"][-1] == {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees and sunny"}
    assert upstream["tools"] == TOOLS


def test_it_forwards_images_and_every_sampling_field(proxy: Proxy) -> None:
    resp = client(proxy).chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_PNG}", "detail": "low"}},
            ]},
        ],
        temperature=0.3, top_p=0.9, stop=["END"], seed=7, max_completion_tokens=50, user="u-1",
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}},
        extra_body={"presence_penalty": 0.5, "logit_bias": {"50256": -100}},
    )
    assert resp.choices[0].message.content
    body = proxy.fakes.openai.chat_requests()[-1].body
    assert body["messages"][1]["content"][1] == {
        "type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_PNG}", "detail": "low"}}
    for key, value in {"temperature": 0.3, "top_p": 0.9, "stop": ["END"], "seed": 7, "max_completion_tokens": 50,
                       "user": "u-1", "presence_penalty": 0.5, "logit_bias": {"50256": -100}}.items():
        assert body[key] == value, key
    assert "max_tokens" not in body
    assert body["response_format"]["json_schema"]["name"] == "a"


def test_it_lists_models_of_every_backend_with_prefixes(proxy: Proxy) -> None:
    ids = [m.id for m in client(proxy).models.list()]
    assert "openai:gpt-4o" in ids and "openrouter:gpt-4" in ids


def test_it_retrieves_one_model_as_openai_does(proxy: Proxy) -> None:
    model = client(proxy).models.retrieve("openai:gpt-4o")
    assert (model.id, model.object, model.owned_by) == ("openai:gpt-4o", "model", "openai")
    assert client(proxy).models.retrieve("gpt-4").id in ("openai:gpt-4", "openrouter:gpt-4")  # a bare name
    with pytest.raises(openai.NotFoundError) as err:
        client(proxy).models.retrieve("openai:no-such-model")
    assert err.value.code == "model_not_found" and "no-such-model" in err.value.message


async def test_the_async_sdk_streams(proxy: Proxy) -> None:
    api = openai.AsyncOpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    stream = await api.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "async"}], stream=True
    )
    text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
    assert text.endswith("You said: async")
    await api.close()


# ---------------------------------------------------------------- errors


def test_it_rejects_a_wrong_key_with_401(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 401
    assert err.value.body["type"] == "authentication_error"


def test_it_rejects_a_missing_key_with_401(proxy: Proxy) -> None:
    r = httpx.post(f"{proxy.openai_base}/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_it_allows_health_checks_without_a_key(proxy: Proxy) -> None:
    assert httpx.get(f"{proxy.url}/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "body, param",
    [
        (b"{not json", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "gpt-4o"}', "messages"),
        (b'{"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}', "messages[0].role"),
        (b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', "temperature"),
    ],
)
def test_it_answers_bad_input_with_400_naming_the_field(proxy: Proxy, body: bytes, param: str | None) -> None:
    r = httpx.post(f"{proxy.openai_base}/chat/completions", content=body,
                   headers={"Authorization": f"Bearer {proxy.key}", "Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert not proxy.fakes.openai.chat_requests()


def test_it_lists_configured_backends_for_an_unknown_prefix(proxy: Proxy) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client(proxy).chat.completions.create(model="nosuch:model", messages=[{"role": "user", "content": "x"}])
    assert "openai" in err.value.message and "openrouter" in err.value.message


@pytest.mark.parametrize("status, exc", [(400, openai.BadRequestError), (404, openai.NotFoundError),
                                         (500, openai.InternalServerError)])
def test_it_passes_upstream_errors_through_with_their_status(proxy: Proxy, status: int, exc: type) -> None:
    with pytest.raises(exc) as err:
        client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"[[error:{status}]]"}])
    assert err.value.status_code == status
    assert f"failed with {status}" in err.value.message


def test_it_answers_502_when_the_upstream_is_unreachable(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import configure_backends, free_port

    configure_backends(monkeypatch, proxy.fakes, OPENAI_API_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(openai.APIStatusError) as err:
        client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 502
    assert "unreachable" in err.value.message


def test_it_answers_504_when_the_upstream_times_out(proxy: Proxy, settings: object) -> None:
    settings.PROXY_TIMEOUT = 0.5  # type: ignore[attr-defined]
    with pytest.raises(openai.APIStatusError) as err:
        client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[[hang]]"}])
    assert err.value.status_code == 504


def test_it_answers_413_over_the_body_limit(proxy: Proxy, settings: object) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 1000  # type: ignore[attr-defined]
    with pytest.raises(openai.APIStatusError) as err:
        client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x" * 2000}])
    assert err.value.status_code == 413
    assert not proxy.fakes.openai.chat_requests()


def test_a_mid_stream_failure_ends_with_an_error_event(proxy: Proxy) -> None:
    stream = client(proxy).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "[[cut]] " + "long answer " * 20}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as err:
        for ch in stream:
            received.append(ch)
    assert received, "some chunks arrive before the failure"
    assert "broke off" in str(err.value.message)


def test_a_stream_ends_promptly_when_the_upstream_keeps_its_body_open_after_done(proxy: Proxy) -> None:
    import time

    started = time.monotonic()
    with httpx.stream("POST", f"{proxy.openai_base}/chat/completions",
                      headers={"Authorization": f"Bearer {proxy.key}"},
                      json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "[[linger]]"}]}) as r:
        body = b"".join(r.iter_bytes())  # to the end of the HTTP body, past the SSE [DONE]
    assert body.rstrip().endswith(b"data: [DONE]") and b'"content":"Hello "' in body
    assert time.monotonic() - started < 3, "the client's response stayed open while the upstream lingered"


def test_a_streams_opening_reaches_the_client_when_the_upstream_starts_not_with_the_first_token(proxy: Proxy) -> None:
    """The response's head and opening (the role chunk) go out as soon as the upstream's stream has
    started, as the provider sends them; the fake waits 20 ms after its own opening, so the first
    token comes in a body message of its own."""
    with httpx.stream("POST", f"{proxy.openai_base}/chat/completions",
                      headers={"Authorization": f"Bearer {proxy.key}"},
                      json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "[[slow]]"}]}) as r:
        raw = r.iter_raw()  # one item per HTTP chunk: per body message the proxy sent
        first, second = next(raw), next(raw)
    events = [line for line in first.split(b"\n\n") if line]
    assert len(events) == 1 and b'"delta":{"role":"assistant","content":""' in events[0], first
    assert b'"role"' not in second and b'"content":"' in second


def test_streams_read_to_done_leave_their_upstream_connection_to_the_next_call(proxy: Proxy) -> None:
    """The proxy stops reading at [DONE], but the end of the body behind it (here 50 ms later) is
    still read, in the background, so the pool keeps the connection: no handshake per answer.

    The pool may hold idle connections from earlier tests and hands out the oldest first, so the
    calls need not share one connection: what must hold is that none was closed and no call
    opened a new one while one was free."""
    import time

    fake = proxy.fakes.openai
    known = {r.peer for r in fake.chat_requests()}
    for n in range(3):
        chunks = list(client(proxy).chat.completions.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": f"[[late-end]] reuse {n}"}]))
        assert f"reuse {n}" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        time.sleep(0.2)
    calls = fake.chat_requests()[-3:]
    closed = [r.peer for r in calls if r.transport is None or r.transport.is_closing()]
    assert not closed, f"the proxy closed the upstream connections of finished streams: {closed}"
    opened = [r.peer for r in calls[1:] if r.peer not in known | {calls[0].peer}]
    assert not opened, f"later streams opened new upstream connections: {opened}"


def test_upstream_calls_go_through_the_http_proxy_the_environment_names(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import configure_backends
    from tests.fakes.forward_proxy import ForwardProxy

    forward = ForwardProxy().start()
    try:
        monkeypatch.setenv("HTTP_PROXY", forward.url.replace("http://", "http://corp:s3cret@"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the SDK's own calls to the proxy go direct
        monkeypatch.delenv("no_proxy", raising=False)
        # a host only the forward proxy can reach (it relays to the fake on loopback)
        configure_backends(monkeypatch, proxy.fakes,
                           OPENAI_API_BASE_URL=f"http://openai-upstream.invalid:{proxy.fakes.openai.port}/v1")
        resp = client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "via proxy"}])
        assert (resp.choices[0].message.content or "").endswith("You said: via proxy")
        chunks = list(client(proxy).chat.completions.create(
            model="gpt-4o", stream=True, messages=[{"role": "user", "content": "streamed via proxy"}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("You said: streamed via proxy")
    finally:
        forward.stop()
    line, auth = forward.requests[0]
    assert line.startswith(b"POST http://openai-upstream.invalid:") and line.endswith(b"/v1/chat/completions HTTP/1.1")
    assert auth == "Basic " + base64.b64encode(b"corp:s3cret").decode()  # the URL's credentials, to the proxy only
    assert all("s3cret" not in json.dumps(r.headers) for r in proxy.fakes.openai.chat_requests())


def test_a_client_disconnect_cancels_the_upstream_request(proxy: Proxy) -> None:
    import time

    with httpx.stream("POST", f"{proxy.openai_base}/chat/completions",
                      headers={"Authorization": f"Bearer {proxy.key}"},
                      json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "[[slow]]"}]}) as r:
        lines = r.iter_lines()
        for _ in range(4):
            next(lines)
    deadline = time.monotonic() + 5
    upstream = proxy.fakes.openai.chat_requests()[-1]
    while upstream.stream_completed is not False and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.stream_completed is False


def test_the_http2_capable_transport_serves_the_same_answers(
    proxy: Proxy, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import configure_backends

    settings.PROXY_HTTP2 = True  # type: ignore[attr-defined]
    settings.PROXY_UPSTREAM_TRANSPORT = "httpx"  # type: ignore[attr-defined]  # the one speaking HTTP/2
    # clients are pooled per base URL: a new URL gets a client built with the HTTP/2 transport
    configure_backends(monkeypatch, proxy.fakes, OPENAI_API_BASE_URL=f"http://localhost:{proxy.fakes.openai.port}/v1")
    resp = client(proxy).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "h2"}])
    assert (resp.choices[0].message.content or "").endswith("You said: h2")
    chunks = list(client(proxy).chat.completions.create(model="gpt-4o", stream=True,
                                                        messages=[{"role": "user", "content": "h2s"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("You said: h2s")


def test_a_bug_in_a_stream_after_its_head_ends_the_stream_with_an_error_and_a_failed_record(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the 200 head has gone out, an unexpected exception (here a decoder's) must not cut the
    connection off with a success on record: the client gets OpenAI's error event, the row a 500."""
    from proxy_app.protocols import openai_chat
    from usage_app.models import UsageRecord
    from usage_app.recorder import flush

    real_feed = openai_chat.StreamDecoder.feed
    calls = {"n": 0}

    def failing_feed(self: object, chunk: object, event: object = None) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyError("choices")
        return real_feed(self, chunk, event)  # type: ignore[arg-type]

    monkeypatch.setattr(openai_chat.StreamDecoder, "feed", failing_feed)
    with httpx.stream("POST", f"{proxy.openai_base}/chat/completions",
                      headers={"Authorization": f"Bearer {proxy.key}"},
                      json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
        body = b"".join(r.iter_bytes())
    assert r.status_code == 200
    assert b"internal proxy error" in body and b"[DONE]" not in body
    assert flush(timeout=10)
    assert UsageRecord.objects.get().status == 500
