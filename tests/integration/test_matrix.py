"""Every client SDK × every backend × every scenario, through the live proxy and the fake providers.

Each cell drives an official SDK (``openai``, ``anthropic``, ``google-genai``) against one backend
(``openai``, ``openrouter``, ``anthropic``, ``gemini``, all fakes) and checks three things:

* what the client got (text, thinking, tool calls, JSON, errors) in the client's own form;
* what reached the fake upstream, in the backend's own form (system prompt, image, tool schema,
  tool result, thinking config, response format);
* the token usage the client saw equals the upstream's figures, mapped to the client's usage shape.

The expected answer is recomputed from the recorded upstream body with the fake's own
``neutral_view`` + ``plan_reply``, so the client must see exactly what the upstream sent.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gtypes

from tests.conftest import Proxy
from tests.fakes import anthropic_fake, gemini_fake, openai_fake
from tests.fakes.scenario import Reply, plan_reply
from tests.fakes.server import FakeProvider, RecordedRequest

SDKS = ("openai", "anthropic", "gemini")
BACKENDS = {
    "openai": "openai:gpt-4o",
    "openrouter": "openrouter:openai/gpt-4",
    "anthropic": "anthropic:claude-sonnet-4-5",
    "gemini": "gemini:gemini-2.5-flash",
}
UPSTREAM_MODELS = {"openai": "gpt-4o", "openrouter": "openai/gpt-4", "anthropic": "claude-sonnet-4-5",
                   "gemini": "gemini-2.5-flash"}
FAKE_MODULES: dict[str, Any] = {"openai": openai_fake, "openrouter": openai_fake, "anthropic": anthropic_fake,
                                "gemini": gemini_fake}
SCENARIOS = ("text", "stream", "system", "image", "tool_round_trip", "stream_tool", "thinking", "stream_thinking",
             "json", "error")

PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)
RED_PNG = base64.b64encode(PNG_BYTES).decode()
SYSTEM = "You are a terse weather assistant."
TOOL_RESULT = "18 degrees and sunny"
THINKING_TEXT = "Let me think step by step about this request."
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city"],
    "additionalProperties": False,
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "echo": {"type": "string"}},
    "required": ["answer", "echo"],
    "additionalProperties": False,
}


# ---------------------------------------------------------------- what a client asks and gets


@dataclass
class Ask:
    prompt: str
    system: str | None = None
    image: bool = False
    tools: bool = False
    thinking: bool = False
    json: bool = False
    stream: bool = False
    session: str = ""  # X-Session-ID: per-session state (command overrides) must not leak between cells

    @property
    def headers(self) -> dict[str, str]:
        return {"x-session-id": self.session} if self.session else {}


@dataclass
class Call:
    id: str | None
    name: str
    args: dict[str, Any]


@dataclass
class Answer:
    text: str = ""
    thinking: str = ""
    signature: str | None = None
    calls: list[Call] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)  # in the client's own usage vocabulary
    finish: str | None = None
    raw: Any = None  # the assistant turn, ready to replay in the client's own form


@dataclass
class UpstreamError:
    status: int
    exc_type: type
    retry_after: str | None  # as the client sees it (header, or Gemini RetryInfo)


# ---------------------------------------------------------------- drivers, one per SDK


class OpenAIDriver:
    name = "openai"
    finish_stop, finish_tool = "stop", "tool_calls"
    rate_limit_error = openai.RateLimitError

    def client(self, proxy: Proxy, ask: Ask) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=proxy.key, max_retries=0, default_headers=ask.headers)

    def messages(self, ask: Ask) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        if ask.system:
            msgs.append({"role": "system", "content": ask.system})
        content: Any = ask.prompt
        if ask.image:
            content = [{"type": "text", "text": ask.prompt},
                       {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{RED_PNG}"}}]
        msgs.append({"role": "user", "content": content})
        return msgs

    def kwargs(self, ask: Ask) -> dict[str, Any]:
        kw: dict[str, Any] = {}
        if ask.tools:
            kw["tools"] = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                             "parameters": WEATHER_SCHEMA}}]
        if ask.thinking:
            kw["reasoning_effort"] = "high"
        if ask.json:
            kw["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True}}
        return kw

    @staticmethod
    def usage(usage: Any) -> dict[str, int]:
        return {
            "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "cached_tokens": (usage.prompt_tokens_details.cached_tokens or 0) if usage.prompt_tokens_details else 0,
            "reasoning_tokens": (usage.completion_tokens_details.reasoning_tokens or 0)
            if usage.completion_tokens_details else 0,
        }

    def send(self, proxy: Proxy, model: str, messages: list[dict[str, Any]], ask: Ask) -> Answer:
        api = self.client(proxy, ask)
        if not ask.stream:
            resp = api.chat.completions.create(model=model, messages=messages, **self.kwargs(ask))
            msg = resp.choices[0].message
            calls = [Call(tc.id, tc.function.name, json.loads(tc.function.arguments)) for tc in msg.tool_calls or []]
            return Answer(text=msg.content or "", thinking=(msg.model_extra or {}).get("reasoning_content") or "",
                          calls=calls, usage=self.usage(resp.usage), finish=resp.choices[0].finish_reason)
        answer = Answer()
        partial: dict[int, dict[str, Any]] = {}
        finishes = []
        for chunk in api.chat.completions.create(model=model, messages=messages, stream=True,
                                                 stream_options={"include_usage": True}, **self.kwargs(ask)):
            if chunk.usage is not None:
                answer.usage = self.usage(chunk.usage)
            for choice in chunk.choices:
                delta = choice.delta
                answer.text += delta.content or ""
                answer.thinking += (delta.model_extra or {}).get("reasoning_content") or ""
                for tc in delta.tool_calls or []:
                    entry = partial.setdefault(tc.index, {"id": tc.id, "name": None, "arguments": ""})
                    if tc.function and tc.function.name:
                        entry["name"] = tc.function.name
                    entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
                if choice.finish_reason:
                    finishes.append(choice.finish_reason)
        assert len(finishes) == 1, finishes
        answer.finish = finishes[0]
        answer.calls = [Call(e["id"], e["name"], json.loads(e["arguments"])) for _, e in sorted(partial.items())]
        return answer

    def ask(self, proxy: Proxy, model: str, ask: Ask) -> Answer:
        return self.send(proxy, model, self.messages(ask), ask)

    def follow_up(self, proxy: Proxy, model: str, ask: Ask, first: Answer) -> Answer:
        call = first.calls[0]
        messages = self.messages(ask) + [
            {"role": "assistant", "content": first.text or None, "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.args)}}]},
            {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT},
        ]
        return self.send(proxy, model, messages, replace(ask, stream=False))

    def error(self, proxy: Proxy, model: str, ask: Ask) -> UpstreamError:
        with pytest.raises(openai.APIStatusError) as err:
            self.ask(proxy, model, ask)
        return UpstreamError(err.value.status_code, type(err.value), err.value.response.headers.get("retry-after"))


class AnthropicDriver:
    name = "anthropic"
    finish_stop, finish_tool = "end_turn", "tool_use"
    rate_limit_error = anthropic.RateLimitError

    def client(self, proxy: Proxy, ask: Ask) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                                   default_headers=ask.headers)

    def messages(self, ask: Ask) -> list[dict[str, Any]]:
        content: Any = ask.prompt
        if ask.image:
            content = [{"type": "text", "text": ask.prompt},
                       {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED_PNG}}]
        return [{"role": "user", "content": content}]

    def kwargs(self, ask: Ask) -> dict[str, Any]:
        kw: dict[str, Any] = {"max_tokens": 4096}
        if ask.system:
            kw["system"] = ask.system
        if ask.tools:
            kw["tools"] = [{"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER_SCHEMA}]
        if ask.thinking:
            kw["thinking"] = {"type": "enabled", "budget_tokens": 2048}
        if ask.json:
            kw["output_config"] = {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}
        return kw

    @staticmethod
    def usage(usage: Any) -> dict[str, int]:
        return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0}

    def _answer(self, message: Any) -> Answer:
        answer = Answer(usage=self.usage(message.usage), finish=message.stop_reason)
        answer.raw = [b.model_dump(exclude_none=True) for b in message.content]
        for block in message.content:
            if block.type == "text":
                answer.text += block.text
            elif block.type == "thinking":
                answer.thinking += block.thinking
                answer.signature = block.signature
            elif block.type == "tool_use":
                answer.calls.append(Call(block.id, block.name, dict(block.input)))
        return answer

    def send(self, proxy: Proxy, model: str, messages: list[dict[str, Any]], ask: Ask) -> Answer:
        api = self.client(proxy, ask)
        if not ask.stream:
            return self._answer(api.messages.create(model=model, messages=messages, **self.kwargs(ask)))
        with api.messages.stream(model=model, messages=messages, **self.kwargs(ask)) as stream:
            streamed_text = "".join(stream.text_stream)
            final = stream.get_final_message()
        answer = self._answer(final)
        assert streamed_text == answer.text
        return answer

    def ask(self, proxy: Proxy, model: str, ask: Ask) -> Answer:
        return self.send(proxy, model, self.messages(ask), ask)

    def follow_up(self, proxy: Proxy, model: str, ask: Ask, first: Answer) -> Answer:
        call = first.calls[0]
        messages = self.messages(ask) + [
            {"role": "assistant", "content": first.raw},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": TOOL_RESULT}]},
        ]
        return self.send(proxy, model, messages, replace(ask, stream=False))

    def error(self, proxy: Proxy, model: str, ask: Ask) -> UpstreamError:
        with pytest.raises(anthropic.APIStatusError) as err:
            self.ask(proxy, model, ask)
        assert err.value.body["type"] == "error"
        return UpstreamError(err.value.status_code, type(err.value), err.value.response.headers.get("retry-after"))


class GeminiDriver:
    name = "gemini"
    finish_stop = finish_tool = "STOP"  # Gemini reports STOP for function calls too
    rate_limit_error = genai_errors.ClientError

    def client(self, proxy: Proxy, ask: Ask) -> genai.Client:
        return genai.Client(api_key=proxy.key, http_options=gtypes.HttpOptions(
            base_url=proxy.url, api_version="v1beta", headers=ask.headers))

    def contents(self, ask: Ask) -> list[gtypes.Content]:
        parts = [gtypes.Part.from_text(text=ask.prompt)]
        if ask.image:
            parts.append(gtypes.Part.from_bytes(data=PNG_BYTES, mime_type="image/png"))
        return [gtypes.Content(role="user", parts=parts)]

    def config(self, ask: Ask) -> gtypes.GenerateContentConfig:
        config = gtypes.GenerateContentConfig()
        if ask.system:
            config.system_instruction = ask.system
        if ask.tools:
            config.tools = [gtypes.Tool(function_declarations=[gtypes.FunctionDeclaration(
                name="get_weather", description="Weather for a city",
                parameters=gtypes.Schema(
                    type=gtypes.Type.OBJECT,
                    properties={"city": gtypes.Schema(type=gtypes.Type.STRING, description="City name"),
                                "unit": gtypes.Schema(type=gtypes.Type.STRING, enum=["celsius", "fahrenheit"])},
                    required=["city"]),
            )])]
            config.automatic_function_calling = gtypes.AutomaticFunctionCallingConfig(disable=True)
        if ask.thinking:
            config.thinking_config = gtypes.ThinkingConfig(include_thoughts=True, thinking_budget=2048)
        if ask.json:
            config.response_mime_type = "application/json"
            config.response_schema = gtypes.Schema(
                type=gtypes.Type.OBJECT,
                properties={"answer": gtypes.Schema(type=gtypes.Type.STRING),
                            "echo": gtypes.Schema(type=gtypes.Type.STRING)},
                required=["answer", "echo"])
        return config

    @staticmethod
    def usage(meta: Any) -> dict[str, int]:
        return {"prompt_token_count": meta.prompt_token_count or 0,
                "candidates_token_count": meta.candidates_token_count or 0,
                "total_token_count": meta.total_token_count or 0,
                "thoughts_token_count": meta.thoughts_token_count or 0,
                "cached_content_token_count": meta.cached_content_token_count or 0}

    def _collect(self, answer: Answer, candidate: Any, parts_out: list[gtypes.Part]) -> None:
        for part in (candidate.content.parts or []) if candidate.content else []:
            if part.thought:
                answer.thinking += part.text or ""
            elif part.text:
                answer.text += part.text
            if part.thought_signature:
                answer.signature = base64.b64encode(part.thought_signature).decode()
            if part.function_call:
                fc = part.function_call
                answer.calls.append(Call(fc.id, fc.name, dict(fc.args or {})))
            parts_out.append(part)
        if candidate.finish_reason:
            answer.finish = candidate.finish_reason.value

    def send(self, proxy: Proxy, model: str, contents: list[gtypes.Content], ask: Ask) -> Answer:
        api = self.client(proxy, ask)
        answer = Answer()
        parts: list[gtypes.Part] = []
        if not ask.stream:
            resp = api.models.generate_content(model=model, contents=contents, config=self.config(ask))
            self._collect(answer, resp.candidates[0], parts)
            answer.usage = self.usage(resp.usage_metadata)
        else:
            finishes = []
            for chunk in api.models.generate_content_stream(model=model, contents=contents, config=self.config(ask)):
                if chunk.candidates:
                    self._collect(answer, chunk.candidates[0], parts)
                    if chunk.candidates[0].finish_reason:
                        finishes.append(chunk.candidates[0].finish_reason)
                if chunk.usage_metadata is not None:
                    answer.usage = self.usage(chunk.usage_metadata)
            assert len(finishes) == 1, finishes
        answer.raw = gtypes.Content(role="model", parts=parts)
        return answer

    def ask(self, proxy: Proxy, model: str, ask: Ask) -> Answer:
        return self.send(proxy, model, self.contents(ask), ask)

    def follow_up(self, proxy: Proxy, model: str, ask: Ask, first: Answer) -> Answer:
        call = first.calls[0]
        contents = self.contents(ask) + [
            first.raw,
            gtypes.Content(role="user", parts=[gtypes.Part.from_function_response(
                name=call.name, response={"result": TOOL_RESULT})]),
        ]
        return self.send(proxy, model, contents, replace(ask, stream=False))

    def error(self, proxy: Proxy, model: str, ask: Ask) -> UpstreamError:
        with pytest.raises(genai_errors.APIError) as err:
            self.ask(proxy, model, ask)
        delay = None
        for detail in (err.value.details or {}).get("error", {}).get("details") or []:
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = detail["retryDelay"].removesuffix("s")
        assert err.value.status == "RESOURCE_EXHAUSTED"
        return UpstreamError(err.value.code, type(err.value), delay)


DRIVERS: dict[str, Any] = {"openai": OpenAIDriver(), "anthropic": AnthropicDriver(), "gemini": GeminiDriver()}


# ---------------------------------------------------------------- the upstream side


def last_request(fake: FakeProvider) -> RecordedRequest:
    requests = fake.chat_requests()
    assert requests, f"nothing reached the {fake.name} fake"
    return requests[-1]


def planned(backend: str, request: RecordedRequest) -> Reply:
    """What the fake answered to ``request`` (the fakes are deterministic; the Anthropic fake's prompt cache
    reads what an earlier cell of the same prefix wrote, when the proxy marked breakpoints)."""
    reply = plan_reply(FAKE_MODULES[backend].neutral_view(request.body))
    reply.cached_tokens = max(reply.cached_tokens, request.cache_read)
    return reply


def upstream_usage(backend: str, reply: Reply) -> dict[str, int]:
    """The upstream's figures, in canonical terms (input includes cached; output includes reasoning)."""
    return {
        "input": reply.input_tokens,
        "output": reply.output_tokens,
        "cached": reply.cached_tokens,
        # Anthropic reports no separate thinking count; the others do
        "reasoning": 0 if backend == "anthropic" else reply.reasoning_tokens,
    }


def client_usage(sdk: str, u: dict[str, int]) -> dict[str, int]:
    """``u`` as the client's protocol states it."""
    if sdk == "openai":
        return {"prompt_tokens": u["input"], "completion_tokens": u["output"], "total_tokens": u["input"] + u["output"],
                "cached_tokens": u["cached"], "reasoning_tokens": u["reasoning"]}
    if sdk == "anthropic":  # input_tokens excludes cache reads
        return {"input_tokens": u["input"] - u["cached"], "output_tokens": u["output"],
                "cache_read_input_tokens": u["cached"], "cache_creation_input_tokens": 0}
    # Gemini: candidatesTokenCount excludes thoughtsTokenCount
    return {"prompt_token_count": u["input"], "candidates_token_count": u["output"] - u["reasoning"],
            "total_token_count": u["input"] + u["output"], "thoughts_token_count": u["reasoning"],
            "cached_content_token_count": u["cached"]}


def check_usage(sdk: str, backend: str, answer: Answer, reply: Reply) -> None:
    assert answer.usage == client_usage(sdk, upstream_usage(backend, reply)), "usage differs from the upstream's"


def check_model_and_stream(backend: str, request: RecordedRequest, stream: bool) -> None:
    body = request.body
    if backend == "gemini":
        action = "streamGenerateContent" if stream else "generateContent"
        assert request.path == f"/v1beta/models/{UPSTREAM_MODELS[backend]}:{action}"
        assert (request.query.get("alt") == "sse") is stream
    else:
        assert body["model"] == UPSTREAM_MODELS[backend]
        assert bool(body.get("stream")) is stream


def upstream_user_parts(backend: str, body: dict[str, Any]) -> list[Any]:
    if backend == "gemini":
        return [c for c in body["contents"] if c.get("role", "user") == "user"][-1]["parts"]
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def upstream_system(backend: str, body: dict[str, Any]) -> str | None:
    if backend == "gemini":
        system = body.get("systemInstruction")
        return "".join(p["text"] for p in system["parts"]) if system else None
    if backend == "anthropic":
        system = body.get("system")
        return system if isinstance(system, str) or system is None else "".join(b["text"] for b in system)
    systems = [m["content"] for m in body["messages"] if m["role"] in ("system", "developer")]
    return systems[0] if systems else None


def check_no_system_in_messages(backend: str, body: dict[str, Any]) -> None:
    if backend == "anthropic":
        assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    elif backend == "gemini":
        assert all(c.get("role") in ("user", "model") for c in body["contents"])


def check_image(backend: str, body: dict[str, Any]) -> None:
    parts = upstream_user_parts(backend, body)
    if backend == "gemini":
        assert {"inlineData": {"mimeType": "image/png", "data": RED_PNG}} in parts
    elif backend == "anthropic":
        assert {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": RED_PNG}} in parts
    else:
        urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
        assert urls == [f"data:image/png;base64,{RED_PNG}"]


def check_tool_schema(backend: str, body: dict[str, Any]) -> None:
    if backend == "gemini":
        (decl,) = body["tools"][0]["functionDeclarations"]
        assert decl["name"] == "get_weather" and decl["description"] == "Weather for a city"
        params = decl["parameters"]
        assert params["type"].lower() == "object" and params["required"] == ["city"]
        assert params["properties"]["city"]["type"].lower() == "string"
        assert params["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
        assert "additionalProperties" not in json.dumps(params)  # the API rejects it in `parameters`
        return
    if backend == "anthropic":
        (tool,) = body["tools"]
        name, description, params = tool["name"], tool.get("description"), tool["input_schema"]
    else:
        (tool,) = body["tools"]
        assert tool["type"] == "function"
        fn = tool["function"]
        name, description, params = fn["name"], fn.get("description"), fn["parameters"]
    assert name == "get_weather" and description == "Weather for a city"
    assert params["type"] == "object" and params["required"] == ["city"]
    assert params["properties"]["city"]["type"] == "string"
    assert params["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]


def check_tool_result(backend: str, body: dict[str, Any], call_id_upstream: str | None) -> None:
    """The final request carries the call and its result in the backend's own form."""
    if backend == "gemini":
        model_turn, result_turn = body["contents"][-2], body["contents"][-1]
        assert model_turn["role"] == "model"
        assert [p["functionCall"]["name"] for p in model_turn["parts"] if "functionCall" in p] == ["get_weather"]
        (part,) = result_turn["parts"]
        assert part["functionResponse"]["name"] == "get_weather"
        assert part["functionResponse"]["response"] == {"result": TOOL_RESULT}
    elif backend == "anthropic":
        assistant, user = body["messages"][-2], body["messages"][-1]
        uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert [(u["name"], u["input"]) for u in uses] == [("get_weather", {"city": "Paris", "unit": "celsius"})]
        (result,) = [b for b in user["content"] if b["type"] == "tool_result"]
        assert result["tool_use_id"] == uses[0]["id"]
        if call_id_upstream:
            assert uses[0]["id"] == call_id_upstream
        content = result["content"]
        assert (content if isinstance(content, str) else "".join(b["text"] for b in content)) == TOOL_RESULT
    else:
        assistant, tool = body["messages"][-2], body["messages"][-1]
        (call,) = assistant["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}
        assert tool == {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT}
        if call_id_upstream:
            assert call["id"] == call_id_upstream


def check_thinking_config(sdk: str, backend: str, body: dict[str, Any]) -> None:
    if backend == "anthropic":
        thinking = body["thinking"]
        assert thinking["type"] == "enabled"
        assert 1024 <= thinking["budget_tokens"] < body["max_tokens"]
        if sdk != "openai":  # an explicit budget passes as is; an effort becomes some budget
            assert thinking["budget_tokens"] == 2048
    elif backend == "gemini":
        config = body["generationConfig"]["thinkingConfig"]
        assert config["includeThoughts"] is True
        assert config["thinkingBudget"] > 0
        if sdk != "openai":
            assert config["thinkingBudget"] == 2048
    else:
        assert body["reasoning_effort"] in ("low", "medium", "high")
        if sdk == "openai":
            assert body["reasoning_effort"] == "high"


def check_json_format(backend: str, body: dict[str, Any]) -> None:
    if backend == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        schema = config.get("responseSchema") or config.get("responseJsonSchema")
        assert set(schema["properties"]) == {"answer", "echo"}
    elif backend == "anthropic":
        fmt = body["output_config"]["format"]
        assert fmt["type"] == "json_schema" and set(fmt["schema"]["properties"]) == {"answer", "echo"}
    else:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert set(fmt["json_schema"]["schema"]["properties"]) == {"answer", "echo"}


# ---------------------------------------------------------------- the matrix


@pytest.fixture(autouse=True)
def _usage_rows_written(proxy: Proxy) -> Iterator[None]:
    """Let the usage writer finish before the database is flushed (its writes lock SQLite's tables)."""
    yield
    from usage_app.recorder import get_recorder

    get_recorder().flush(5, give_up_if_failing=True)


def render_matrix(outcomes: dict[tuple[str, str, str], str]) -> list[str]:
    """The outcome of every cell as a table (``tests/integration/conftest.py`` prints it at the end)."""
    if not outcomes:
        return []
    first = max(len(f"{sdk} → {backend}") for sdk in SDKS for backend in BACKENDS) + 2
    head = f"{'client SDK → backend':<{first}}" + " ".join(SCENARIOS)
    lines = [head, "-" * len(head)]
    for sdk in SDKS:
        for backend in BACKENDS:
            cells = [f"{outcomes.get((sdk, backend, s), '·'):^{len(s)}}" for s in SCENARIOS]
            lines.append(f"{f'{sdk} → {backend}':<{first}}" + " ".join(cells))
    passed = sum(1 for v in outcomes.values() if v == "ok")
    lines.append(f"{passed}/{len(outcomes)} cells passed")
    return lines


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("sdk", SDKS)
def test_matrix(proxy: Proxy, sdk: str, backend: str, scenario: str) -> None:
    run_cell(proxy, sdk, backend, scenario)


def run_cell(proxy: Proxy, sdk: str, backend: str, scenario: str) -> None:
    session = f"matrix-{sdk}-{backend}-{scenario}-{uuid.uuid4().hex[:8]}"
    driver = DRIVERS[sdk]
    model = BACKENDS[backend]
    fake = proxy.fakes.by_backend(backend)

    if scenario in ("text", "stream"):
        ask = Ask(f"Hi there, {scenario} please [[cached]]", stream=scenario == "stream", session=session)
        answer = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        assert reply.cached_tokens == 3, "the prompt's [[cached]] reached the upstream"
        assert answer.text == reply.text == f"Hello from the fake provider! You said: {ask.prompt}"
        assert answer.finish == driver.finish_stop
        assert not answer.calls and not answer.thinking
        check_model_and_stream(backend, request, ask.stream)
        check_usage(sdk, backend, answer, reply)

    elif scenario == "system":
        ask = Ask("Say hi", system=SYSTEM, session=session)
        answer = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        assert upstream_system(backend, request.body) == SYSTEM
        check_no_system_in_messages(backend, request.body)
        assert answer.text == reply.text
        assert answer.text.endswith(f"[system: {SYSTEM[:40]}]")
        check_usage(sdk, backend, answer, reply)

    elif scenario == "image":
        ask = Ask("What is in this image?", image=True, session=session)
        answer = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        check_image(backend, request.body)
        assert answer.text == reply.text == "I see an image of a red square."
        check_usage(sdk, backend, answer, reply)

    elif scenario in ("tool_round_trip", "stream_tool"):
        ask = Ask("What is the weather in Paris?", tools=True, stream=scenario == "stream_tool", session=session)
        first = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        check_tool_schema(backend, request.body)
        check_model_and_stream(backend, request, ask.stream)
        assert [(c.name, c.args) for c in first.calls] == [("get_weather", {"city": "Paris", "unit": "celsius"})]
        assert first.finish == driver.finish_tool
        if sdk != "gemini":
            assert first.calls[0].id, "OpenAI and Anthropic clients need a call id to answer"
        check_usage(sdk, backend, first, reply)
        # the upstream's own call id survives the round trip (Gemini clients answer by name, so the
        # proxy may mint ids for them; it must still pair call and result consistently)
        upstream_call_id = None if sdk == "gemini" else {
            "openai": "call_fake1", "openrouter": "call_fake1", "anthropic": anthropic_fake.TOOL_USE_ID}.get(backend)
        final = driver.follow_up(proxy, model, ask, first)
        request = last_request(fake)
        reply = planned(backend, request)
        check_tool_result(backend, request.body, upstream_call_id)
        assert final.text == reply.text == f"The tool returned: {TOOL_RESULT}"
        assert final.finish == driver.finish_stop and not final.calls
        check_usage(sdk, backend, final, reply)

    elif scenario in ("thinking", "stream_thinking"):
        ask = Ask("Think about the number 42", thinking=True, stream=scenario == "stream_thinking", session=session)
        answer = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        check_thinking_config(sdk, backend, request.body)
        check_model_and_stream(backend, request, ask.stream)
        assert reply.thinking == THINKING_TEXT
        assert answer.thinking == THINKING_TEXT, "the reasoning comes back in the client's form"
        assert answer.text == reply.text
        if sdk == backend == "anthropic":
            assert answer.signature == anthropic_fake.SIGNATURE
        if sdk == backend == "gemini":
            assert answer.signature == gemini_fake.THOUGHT_SIGNATURE
        check_usage(sdk, backend, answer, reply)

    elif scenario == "json":
        ask = Ask("Give me JSON", json=True, session=session)
        answer = driver.ask(proxy, model, ask)
        request = last_request(fake)
        reply = planned(backend, request)
        check_json_format(backend, request.body)
        assert answer.text == reply.text
        assert json.loads(answer.text) == {"answer": "ok", "echo": "Give me JSON"}
        check_usage(sdk, backend, answer, reply)

    elif scenario == "error":
        ask = Ask("[[error:429]] please fail", session=session)
        err = driver.error(proxy, model, ask)
        assert last_request(fake).body is not None
        assert err.status == 429
        assert issubclass(err.exc_type, driver.rate_limit_error), err.exc_type
        # the upstream's own retry hint reaches the client: Anthropic's retry-after, Gemini's RetryInfo
        # (the proxy restates it as the time left on the key's cooldown, so allow a second of drift)
        expected_retry = {"anthropic": 1, "gemini": 60}.get(backend)
        if expected_retry is not None:
            assert err.retry_after is not None and abs(float(err.retry_after) - expected_retry) <= 1, err.retry_after

    else:  # pragma: no cover
        raise AssertionError(scenario)


# ---------------------------------------------------------------- same protocol is lossless


def test_anthropic_to_anthropic_is_lossless(proxy: Proxy) -> None:
    body = {
        "model": "anthropic:claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "Long shared context.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Here is a document.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "text", "text": "Summarise it."},
            ]},
        ],
        "tools": [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object", "properties": {}},
                   "cache_control": {"type": "ephemeral"}}],
        "tool_choice": {"type": "none"},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "future_top_level_field": {"nested": [1, 2, {"x": None}]},
    }
    r = httpx.post(f"{proxy.url}/anthropic/v1/messages", json=body,
                   headers={"x-api-key": proxy.key, "anthropic-version": "2023-06-01",
                            "anthropic-beta": "context-management-2025-06-27"})
    assert r.status_code == 200, r.text
    upstream = last_request(proxy.fakes.by_backend("anthropic"))
    expected = copy.deepcopy(body)
    expected["model"] = "claude-sonnet-4-5"
    assert upstream.body == expected
    assert upstream.headers["anthropic-beta"] == "context-management-2025-06-27"
    assert upstream.headers["anthropic-version"] == "2023-06-01"


def test_gemini_to_gemini_is_lossless(proxy: Proxy) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        "generationConfig": {"temperature": 0.2, "candidateCount": 1, "mediaResolution": "MEDIA_RESOLUTION_LOW"},
        "cachedContent": "cachedContents/abc123",
        "futureTopLevelField": {"nested": [1, 2, {"x": None}]},
    }
    r = httpx.post(f"{proxy.url}/v1beta/models/gemini:gemini-2.5-flash:generateContent", json=body,
                   headers={"x-goog-api-key": proxy.key})
    assert r.status_code == 200, r.text
    upstream = last_request(proxy.fakes.by_backend("gemini"))
    assert upstream.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert upstream.body == body


# ---------------------------------------------------------------- more upstream errors


@pytest.mark.parametrize("sdk", SDKS)
def test_an_overloaded_anthropic_upstream_is_a_server_error_in_every_client(proxy: Proxy, sdk: str) -> None:
    driver = DRIVERS[sdk]
    expected = {"openai": openai.InternalServerError, "anthropic": anthropic.InternalServerError,
                "gemini": genai_errors.ServerError}[sdk]
    with pytest.raises(expected) as err:
        driver.ask(proxy, BACKENDS["anthropic"], Ask("[[error:529]]"))
    status = err.value.code if sdk == "gemini" else err.value.status_code
    assert status >= 500
    if sdk == "anthropic":
        assert isinstance(err.value, anthropic.OverloadedError)
        assert err.value.body["error"]["type"] == "overloaded_error"


def test_fakes_reject_what_the_real_apis_reject(proxy: Proxy) -> None:
    """The fakes are strict where the proxy could go wrong: missing version header, keys, budgets."""
    a = proxy.fakes.by_backend("anthropic").origin
    r = httpx.post(f"{a}/v1/messages", headers={"x-api-key": "k"},
                   json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(f"{a}/v1/messages", headers={"anthropic-version": "2023-06-01"},
                   json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(f"{a}/v1/messages", headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                   json={"model": "m", "max_tokens": 1000, "thinking": {"type": "enabled", "budget_tokens": 2000},
                         "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400
    g = proxy.fakes.by_backend("gemini").origin
    r = httpx.post(f"{g}/v1beta/models/gemini-2.5-flash:generateContent?key=k",
                   json={"contents": [{"role": "user", "parts": [{"text": "x"}]}],
                         "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
                             "type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}}]}]})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    r = httpx.post(f"{g}/v1beta/models/gemini-2.5-flash:generateContent",
                   json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
    assert r.status_code == 403


# ---------------------------------------------------------------- other base URLs the SDKs use


def test_google_genai_default_api_version_v1_works(proxy: Proxy) -> None:
    api = genai.Client(api_key=proxy.key, http_options=gtypes.HttpOptions(base_url=proxy.url, api_version="v1"))
    resp = api.models.generate_content(model=BACKENDS["anthropic"], contents="Hi v1")
    assert resp.text == "Hello from the fake provider! You said: Hi v1"
    chunks = list(api.models.generate_content_stream(model=BACKENDS["openai"], contents="Hi stream v1"))
    assert "".join(ch.text or "" for ch in chunks) == "Hello from the fake provider! You said: Hi stream v1"


def test_one_model_is_retrieved_in_each_clients_protocol_on_the_shared_v1_path(proxy: Proxy) -> None:
    """``GET /v1/models/{id}`` is OpenAI's and (bare server URL) Anthropic's model retrieval, and
    google-genai's model info with API version v1: each client gets its own shape and 404."""
    gemini_v1 = genai.Client(api_key=proxy.key, http_options=gtypes.HttpOptions(base_url=proxy.url, api_version="v1"))
    assert gemini_v1.models.get(model=BACKENDS["openai"]).name == f"models/{BACKENDS['openai']}"
    for api in (anthropic.Anthropic(base_url=proxy.url, api_key=proxy.key, max_retries=0),
                anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0)):
        info = api.models.retrieve(BACKENDS["gemini"])
        assert (info.type, info.id) == ("model", BACKENDS["gemini"])
        with pytest.raises(anthropic.NotFoundError) as err:
            api.models.retrieve("gemini:no-such-model")
        assert err.value.body["error"]["type"] == "not_found_error"
    model = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=proxy.key, max_retries=0).models.retrieve(BACKENDS["anthropic"])
    assert (model.id, model.object) == (BACKENDS["anthropic"], "model")


def test_anthropic_sdk_with_the_bare_server_url_works(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=proxy.url, api_key=proxy.key, max_retries=0)
    msg = api.messages.create(model=BACKENDS["gemini"], max_tokens=100, messages=[{"role": "user", "content": "Hi bare"}])
    assert msg.content[0].text == "Hello from the fake provider! You said: Hi bare"
    assert "gemini:gemini-2.5-flash" in [m.id for m in api.models.list()]
