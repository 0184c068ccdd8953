"""Fixed upstream answers shared by the nginx config and the asyncio streaming upstream.

All bodies are plain ASCII without ``$`` or ``'`` so they can be embedded in an nginx
``return 200 '...'`` directive verbatim.
"""

from __future__ import annotations

import json

MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-3-5-haiku-latest"
ANSWER = "Hello! This is a fixed benchmark answer from the loopback upstream."
ANTHROPIC_ANSWER = "Hello! This is a fixed benchmark answer from the loopback messages API."
REQUEST_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello in one short sentence, please."},
]


def _dump(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


def openai_completion() -> str:
    return _dump({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 14, "total_tokens": 38},
    })


def anthropic_message() -> str:
    return _dump({
        "id": "msg_bench", "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": ANTHROPIC_ANSWER}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 24, "output_tokens": 14},
    })


def _words(n: int, answer: str = ANSWER) -> list[str]:
    base = answer.split(" ")
    return [(base[i % len(base)] + " ") for i in range(n)]


def _openai_chunk_frame(choices: list, **fields) -> str:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL}
    return f"data: {_dump({**head, 'choices': choices, **fields})}\n\n"


def openai_content_frame(text: str) -> str:
    """One OpenAI chat.completion.chunk SSE frame carrying ``text``."""
    return _openai_chunk_frame([{"index": 0, "delta": {"content": text}, "finish_reason": None}])


def openai_sse_events(n_chunks: int) -> list[str]:
    """OpenAI chat.completion.chunk SSE events (each a full ``data: ...\\n\\n`` frame), ending with [DONE]."""
    usage = {"prompt_tokens": 24, "completion_tokens": n_chunks, "total_tokens": 24 + n_chunks}
    return [
        _openai_chunk_frame([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
        *(openai_content_frame(w) for w in _words(n_chunks)),
        _openai_chunk_frame([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        _openai_chunk_frame([], usage=usage),
        "data: [DONE]\n\n",
    ]


def anthropic_sse_events(n_chunks: int) -> list[str]:
    def f(name, obj):
        return f"event: {name}\ndata: {_dump(obj)}\n\n"

    frames = [
        f("message_start", {"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 24, "output_tokens": 1}}}),
        f("content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}),
        f("ping", {"type": "ping"}),
    ]
    for w in _words(n_chunks, ANTHROPIC_ANSWER):
        frames.append(f("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": w}}))
    frames.append(f("content_block_stop", {"type": "content_block_stop", "index": 0}))
    frames.append(f("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": n_chunks}}))
    frames.append(f("message_stop", {"type": "message_stop"}))
    return frames


def openai_request(stream: bool = False, model: str = MODEL) -> dict:
    body = {"model": model, "messages": REQUEST_MESSAGES, "max_tokens": 64}
    if stream:
        body["stream"] = True
    return body
