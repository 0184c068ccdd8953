"""What each client-protocol endpoint accepts (valid bodies to mutate) and how its answers must look:
the error shape of its protocol, the key of a successful answer, and how a stream ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.sse import sse_events as parse_sse

MODELS = ("openai:gpt-4o", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash", "openrouter:openai/gpt-4o")
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

JSON = dict[str, Any]


# ---------------------------------------------------------------- error shapes (a list of what is wrong)


def openai_error_problems(body: Any, status: int | None) -> list[str]:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return ["no 'error' object"]
    problems = [f"error.{k} missing" for k in ("message", "type", "param", "code") if k not in err]
    return problems + [f"error.{k} not a string" for k in ("message", "type") if not isinstance(err.get(k), str)]


def anthropic_error_problems(body: Any, status: int | None) -> list[str]:
    if not isinstance(body, dict) or body.get("type") != "error" or not isinstance(body.get("error"), dict):
        return ["not {'type': 'error', 'error': {...}}"]
    return [f"error.{k} not a string" for k in ("type", "message") if not isinstance(body["error"].get(k), str)]


def gemini_error_problems(body: Any, status: int | None) -> list[str]:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return ["no 'error' object"]
    problems = [] if err.get("code") == status or status is None and isinstance(err.get("code"), int) else [f"error.code {err.get('code')!r} is not the status {status}"]
    return problems + [f"error.{k} not a string" for k in ("message", "status") if not isinstance(err.get(k), str)]


# ---------------------------------------------------------------- streams


@dataclass(frozen=True)
class SseEvent:
    name: str
    data: str

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def sse_events(text: str) -> list[SseEvent]:
    return [SseEvent(name or "", data) for name, data in parse_sse(text) if name or data]


def openai_chat_ended(events: list[SseEvent]) -> bool:
    last = events[-1].json() if events and events[-1].data != "[DONE]" else None
    return bool(events) and (events[-1].data == "[DONE]" or isinstance(last, dict) and "error" in last)


def responses_ended(events: list[SseEvent]) -> bool:
    return bool(events) and events[-1].name in ("response.completed", "response.incomplete", "response.failed")


def anthropic_ended(events: list[SseEvent]) -> bool:
    return bool(events) and events[-1].name in ("message_stop", "error")


def gemini_ended(events: list[SseEvent]) -> bool:
    last = events[-1].json() if events else None
    if not isinstance(last, dict):
        return False
    candidates = last.get("candidates")
    return "error" in last or bool(candidates) and bool(candidates[0].get("finishReason"))


# ---------------------------------------------------------------- valid bodies


def openai_chat_bodies(model: str) -> list[JSON]:
    return [
        {"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]},
        {"model": model, "temperature": 0.5, "max_tokens": 64, "stop": ["\n\n"], "tool_choice": "auto",
         "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                                     "parameters": WEATHER_SCHEMA}}],
         "messages": [
             {"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": None, "tool_calls": [
                 {"id": "call_1", "type": "function",
                  "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
             {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]},
        {"model": model, "stream_options": {"include_usage": True}, "reasoning_effort": "low", "seed": 1,
         "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": WEATHER_SCHEMA}},
         "messages": [{"role": "user", "content": [
             {"type": "text", "text": "Describe"},
             {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}", "detail": "low"}}]}]},
    ]


def responses_bodies(model: str) -> list[JSON]:
    return [
        {"model": model, "input": "Hi", "instructions": "Be brief.", "store": False},
        {"model": model, "max_output_tokens": 64, "reasoning": {"effort": "low", "summary": "auto"},
         "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}], "tool_choice": "auto",
         "input": [
             {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
             {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
             {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}]},
        {"model": model, "text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER_SCHEMA}},
         "include": ["reasoning.encrypted_content"],
         "input": [{"role": "user", "content": [
             {"type": "input_text", "text": "Describe"},
             {"type": "input_image", "image_url": f"data:image/png;base64,{PIXEL}"}]}]},
    ]


def anthropic_bodies(model: str) -> list[JSON]:
    return [
        {"model": model, "max_tokens": 64, "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]},
        {"model": model, "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024},
         "tool_choice": {"type": "auto"}, "stop_sequences": ["END"], "metadata": {"user_id": "u-1"},
         "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
         "tools": [{"name": "get_weather", "description": "Weather in a city", "input_schema": WEATHER_SCHEMA}],
         "messages": [
             {"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": [
                 {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
             {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
                 {"type": "text", "text": "Thanks"}]}]},
        {"model": model, "max_tokens": 64, "temperature": 0.2, "top_k": 5,
         "messages": [{"role": "user", "content": [
             {"type": "text", "text": "Describe"},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}]}]},
    ]


def anthropic_count_bodies(model: str) -> list[JSON]:
    return [{k: v for k, v in body.items() if k != "max_tokens"} for body in anthropic_bodies(model)]


def gemini_bodies(model: str) -> list[JSON]:
    return [
        {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
         "systemInstruction": {"parts": [{"text": "Be brief."}]},
         "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64, "stopSequences": ["END"]}},
        {"tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather in a city",
                                              "parameters": WEATHER_SCHEMA}]}],
         "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
         "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
         "contents": [
             {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
             {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
             {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                              "response": {"result": "sunny"}}}]}]},
        {"generationConfig": {"responseMimeType": "application/json", "responseSchema": WEATHER_SCHEMA},
         "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
         "contents": [{"role": "user", "parts": [
             {"text": "Describe"}, {"inlineData": {"mimeType": "image/png", "data": PIXEL}}]}]},
    ]


def gemini_count_bodies(model: str) -> list[JSON]:
    bodies = gemini_bodies(model)
    return [*bodies, {"generateContentRequest": {"model": f"models/{model}", **bodies[1]}}]


# ---------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # ``{model}``: the model goes in the path (Gemini)
    headers: dict[str, str]
    bodies: Callable[[str], list[JSON]]
    error_problems: Callable[[Any, int | None], list[str]]  # None: in a stream
    answer_key: str  # a field every successful non-streamed answer has
    stream_ended: Callable[[list[SseEvent]], bool] | None = None  # None: never streams
    streams_always: bool = False

    def field_names(self) -> tuple[str, ...]:
        """The top-level fields its valid bodies use: the names a mutation may add."""
        return tuple(sorted({k for body in self.bodies(MODELS[0]) for k in body} | {"stream"}))


def endpoints(key: str) -> list[Endpoint]:
    openai = {"Authorization": f"Bearer {key}"}
    anthropic = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    gemini = {"x-goog-api-key": key}
    return [
        Endpoint("openai_chat", "/v1/chat/completions", openai, openai_chat_bodies, openai_error_problems, "choices",
                 openai_chat_ended),
        Endpoint("openai_responses", "/v1/responses", openai, responses_bodies, openai_error_problems, "output",
                 responses_ended),
        Endpoint("anthropic_messages", "/v1/messages", anthropic, anthropic_bodies, anthropic_error_problems,
                 "content", anthropic_ended),
        Endpoint("anthropic_count_tokens", "/v1/messages/count_tokens", anthropic, anthropic_count_bodies,
                 anthropic_error_problems, "input_tokens"),
        Endpoint("gemini_generate", "/v1beta/models/{model}:generateContent", gemini, gemini_bodies,
                 gemini_error_problems, "candidates"),
        Endpoint("gemini_stream", "/v1beta/models/{model}:streamGenerateContent?alt=sse", gemini, gemini_bodies,
                 gemini_error_problems, "candidates", gemini_ended, streams_always=True),
        Endpoint("gemini_count_tokens", "/v1beta/models/{model}:countTokens", gemini, gemini_count_bodies,
                 gemini_error_problems, "totalTokens"),
    ]


ENDPOINT_NAMES = [e.name for e in endpoints("")]
