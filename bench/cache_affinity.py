#!/usr/bin/env python3
"""Prompt-cache benchmark (issue 26, item 6): one 30-turn agent conversation replayed through the proxy
with three Anthropic keys in rotation, against a fake Anthropic backend that caches prompt prefixes
per key, with conversation affinity on and off.

    .venv/bin/python bench/cache_affinity.py [--turns 30] [--conversations 1]

The conversation is built like a coding agent's: a long system prompt and 12 tool definitions, then
per turn an assistant tool call and its (sizeable) result appended to the history, so each request
resends the previous one whole and adds to it. Each conversation runs with its own session id
(``X-Session-ID``), conversations one after the other, turns in order.

The fake (``CachingAnthropic``) counts ~4 characters a token over the request's blocks (system,
each tool, each message, as JSON) and keeps, per key, every block-boundary prefix it has seen: the
longest one the request starts with is billed as ``cache_read_input_tokens``, the rest as
``cache_creation_input_tokens`` (a breakpoint on the last message, as agents set it): Anthropic's
prefix cache, per organisation key.

Printed per mode: the share of prefix tokens (those an earlier request had sent the backend already,
over any key: what a single shared cache would serve) billed as cache reads, and the input cost at Claude Sonnet prices ($3/M input, cache
read 0.1x, cache write 1.25x) against the same requests with no cache at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import run as bench

KEYS = ["sk-ant-bench-affinity-key-1", "sk-ant-bench-affinity-key-2", "sk-ant-bench-affinity-key-3"]
INPUT_PRICE = 3.0 / 1_000_000  # USD per input token (Claude Sonnet)
READ_FACTOR, WRITE_FACTOR = 0.1, 1.25
MODEL = "anthropic:claude-sonnet-4-5"  # the backend prefix: the bench proxy's default backend is OpenAI


def longest(prefixes: list[str], known: set[str]) -> int:
    """How many blocks the longest known prefix spans."""
    return max((i + 1 for i, p in enumerate(prefixes) if p in known), default=0)


def tokens(block: Any) -> int:
    return max(1, len(json.dumps(block, sort_keys=True, separators=(",", ":"))) // 4)


@dataclass
class Tally:
    prefix_tokens: int = 0  # tokens an earlier request had sent already (over any key): what one cache would serve
    read: int = 0
    written: int = 0
    requests: int = 0
    keys: list[str] = field(default_factory=list)

    def cost(self) -> float:
        return (WRITE_FACTOR * self.written + READ_FACTOR * self.read) * INPUT_PRICE

    def cost_without_cache(self) -> float:
        return (self.written + self.read) * INPUT_PRICE


class CachingAnthropic:
    """A fake ``POST /v1/messages`` whose prompt cache is per key, as Anthropic's is per organisation."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}  # key -> digests of the prefixes it has cached
        self.sent: set[str] = set()  # digests of every prefix sent so far, over any key
        self.tally = Tally()
        self.lock = threading.Lock()

    def answer(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        blocks = [body.get("system"), *body.get("tools", []), *body["messages"]]
        sizes = [tokens(b) for b in blocks]
        digest, prefixes = hashlib.sha256(), []
        for block in blocks:
            digest.update(json.dumps(block, sort_keys=True).encode())
            prefixes.append(digest.hexdigest())
        with self.lock:
            cached = self.seen.setdefault(key, set())
            hit = longest(prefixes, cached)
            self.tally.prefix_tokens += sum(sizes[:longest(prefixes, self.sent)])
            cached.update(prefixes)  # agents put a breakpoint on the last message
            self.sent.update(prefixes)
            self.tally.keys.append(key)
        read = sum(sizes[:hit])
        written = sum(sizes) - read
        with self.lock:
            self.tally.read += read
            self.tally.written += written
            self.tally.requests += 1
        return {
            "id": f"msg_{len(self.tally.keys)}", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 1, "cache_read_input_tokens": read,
                      "cache_creation_input_tokens": written},
        }

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                payload = json.dumps(fake.answer(self.headers.get("x-api-key", ""), body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


SYSTEM = " ".join(
    f"Rule {i}: when you change code, read the file first, keep the style of the module, run its tests, "
    f"and explain the change in one sentence; never touch files outside the task's scope." for i in range(120)
)
TOOLS = [
    {"name": f"tool_{name}", "description": f"{name}: " + "Runs in the workspace and returns its output. " * 20,
     "input_schema": {"type": "object", "properties": {"path": {"type": "string"}, "args": {"type": "string"}},
                      "required": ["path"]}}
    for name in ("read", "write", "edit", "grep", "glob", "bash", "test", "lint", "diff", "fetch", "ls", "todo")
]


def conversation_turns(turns: int, tag: str) -> list[list[dict[str, Any]]]:
    """The message list of each turn: the task, then per turn one tool call and its result appended."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"[{tag}] Fix the failing test in app/models.py."}]
    out = [list(messages)]
    for turn in range(1, turns):
        call_id = f"toolu_{tag}_{turn:02d}"
        messages = [*messages,
                    {"role": "assistant", "content": [
                        {"type": "text", "text": f"Step {turn}: looking at the next file."},
                        {"type": "tool_use", "id": call_id, "name": "tool_read", "input": {"path": f"app/m{turn}.py"}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": call_id,
                         "content": "\n".join(f"{turn:02d}:{line:03d}    value = compute(value, {line})"
                                              for line in range(60))}]}]
        out.append(messages)
    return out


def replay(proxy: bench.Proxy, turns: int, conversations: int, label: str) -> None:
    url = f"http://127.0.0.1:{proxy.port}/v1/messages"
    for n in range(conversations):
        session = f"bench-{label}-{n}"
        for messages in conversation_turns(turns, session):
            body = {"model": MODEL, "max_tokens": 256, "system": SYSTEM, "tools": TOOLS, "messages": messages}
            status, text = post(url, body, session)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {text[:300]}")


def post(url: str, body: dict[str, Any], session: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/json", "x-api-key": bench.PROXY_KEY, "anthropic-version": "2023-06-01",
        "x-session-id": session})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def run_mode(affinity: bool, turns: int, conversations: int) -> Tally:
    fake = CachingAnthropic()
    server = fake.serve()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    env = {"ANTHROPIC_API_KEY": "", "AFFINITY_ENABLED": "true" if affinity else "false",
           **{f"ANTHROPIC_API_KEY_{i + 1}": k for i, k in enumerate(KEYS)}}
    try:
        with bench.Proxy(base, extra_env=env) as proxy:
            replay(proxy, turns, conversations, "on" if affinity else "off")
    finally:
        server.shutdown()
    return fake.tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--conversations", type=int, default=1)
    args = ap.parse_args()
    print(f"{args.conversations} conversation(s) of {args.turns} turns, {len(KEYS)} keys")
    print(f"{'affinity':<9} {'prefix':>9} {'cache reads':>12} {'of prefix':>10} {'writes':>10} "
          f"{'keys used':>9} {'input cost':>11} {'no cache':>9}")
    for affinity in (True, False):
        t = run_mode(affinity, args.turns, args.conversations)
        cost, without = f"${t.cost():.4f}", f"${t.cost_without_cache():.4f}"
        print(f"{'on' if affinity else 'off':<9} {t.prefix_tokens:>9,} {t.read:>12,} {t.read / t.prefix_tokens:>10.1%} "
              f"{t.written:>10,} {len(set(t.keys)):>9} {cost:>11} {without:>9}")


if __name__ == "__main__":
    main()
