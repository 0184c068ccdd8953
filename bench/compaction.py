#!/usr/bin/env python3
"""Prompt-compaction benchmark (issue 26, item 5): recorded agent sessions of the real CLIs, and a longer
coding session replayed through the proxy, compaction off and on.

    .venv/bin/python bench/compaction.py [--turns 40]

**Recorded sessions** (``bench/recordings/``): the last request Claude Code, Codex CLI and Gemini CLI
sent in a ten-tool-call session (reads, re-reads, long outputs, an edit;
``tests/clients/test_cli_compaction.py`` with ``CLIENTS_RECORD_SESSIONS=bench/recordings``), decoded
as the proxy's frontends do. Each request the session made (each prefix ending before an assistant
message) is compacted as the proxy would, with the default thresholds and with eager ones; printed:
the estimated prompt tokens over the session and of its last request, and the batches (prompt-cache
rewrites). Whether the agents still finish with compaction on is that test's verdict.

**A longer session through the proxy**, against the prefix-caching fake Anthropic of
``bench/cache_affinity.py``:

The session is shaped like Claude Code's (its system prompt and tool definitions, one tool call and
its result per turn): it reads source files (~10 kB each), greps, runs the test suite (a ~20 kB log),
edits a file and reads it again, runs the tests again, and so on; each request resends the whole
history. With compaction on (``COMPACT_ENABLED``, the default thresholds) the proxy shortens the
re-read files and the old test logs before sending.

Printed per mode: the input tokens the backend received over the session and on its last turn
(what the context window holds), the share of them billed as cache reads, the requests that had to
write the cache again from an earlier point than the last turn (what each compaction batch costs),
and the input cost at Claude Sonnet prices (cache read 0.1x, write 1.25x).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import cache_affinity as caching
import run as bench

RECORDINGS = Path(__file__).resolve().parent / "recordings"
EAGER = {"keep_turns": 2, "min_savings_tokens": 1000}  # the recording test's thresholds

MODEL = caching.MODEL
FILES = [f"app/{name}.py" for name in ("models", "views", "forms", "services", "admin")]


def source(path: str, version: int) -> str:
    """A file's text (Claude Code's numbered Read output), ~10 kB; ``version`` changes after an edit."""
    return "".join(f"{n:>6}\t    value_{n} = compute(value_{n - 1}, {n}, '{path}', {version})\n"
                   for n in range(1, 160))


def test_log(run: int) -> str:
    return "".join(f"tests/test_{n // 40}.py::test_case_{n} PASSED [{n * 100 // 600:>3}%]\n" for n in range(600)) \
        + f"==== {600 - run % 2} passed, {run % 2} failed in 12.{run}s ====\n"


def steps(turns: int) -> list[tuple[str, dict[str, Any], str]]:
    """The agent's tool calls and their results, turn after turn, as a coding session goes."""
    out: list[tuple[str, dict[str, Any], str]] = []
    versions = dict.fromkeys(FILES, 0)
    for turn in range(turns):
        path = FILES[(turn // 6) % len(FILES)]
        match turn % 6:
            case 0 | 3:
                out.append(("Read", {"file_path": f"/work/{path}"}, source(path, versions[path])))
            case 1:
                out.append(("Grep", {"pattern": "compute", "path": "/work/app"},
                            "".join(f"/work/{f}:{n}: value = compute(...)\n" for f in FILES for n in range(8))))
            case 2:
                out.append(("Bash", {"command": "pytest -q"}, test_log(turn)))
            case 4:
                versions[path] += 1
                out.append(("Edit", {"file_path": f"/work/{path}", "old_string": "compute(", "new_string": "calc("},
                            f"The file /work/{path} has been updated."))
            case 5:
                out.append(("Bash", {"command": "pytest -q"}, test_log(turn)))
    return out


def conversation(turns: int, tag: str) -> list[list[dict[str, Any]]]:
    """The message list of each request of the session."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"[{tag}] Rename compute to calc in app/."}]
    requests = [list(messages)]
    for n, (name, args, result) in enumerate(steps(turns - 1)):
        call = f"toolu_{tag}_{n:03d}"
        messages = [*messages,
                    {"role": "assistant", "content": [{"type": "tool_use", "id": call, "name": name, "input": args}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call, "content": result}]}]
        requests.append(messages)
    return requests


class Recording(caching.CachingAnthropic):
    """The caching fake, also keeping each request's input tokens and whether it re-wrote old turns."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[int] = []
        self.rewrites = 0

    def answer(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(key, body)
        usage = reply["usage"]
        self.inputs.append(usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"])
        last_two = sum(caching.tokens(m) for m in body["messages"][-2:])
        self.rewrites += usage["cache_creation_input_tokens"] > last_two + 50
        return reply


def run_mode(compact: bool, turns: int) -> Recording:
    fake = Recording()
    server = fake.serve()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    env = {"ANTHROPIC_API_KEY": caching.KEYS[0], "COMPACT_ENABLED": "true" if compact else "false"}
    try:
        with bench.Proxy(base, extra_env=env) as proxy:
            url = f"http://127.0.0.1:{proxy.port}/v1/messages"
            for messages in conversation(turns, "on" if compact else "off"):
                body = {"model": MODEL, "max_tokens": 256, "system": caching.SYSTEM, "tools": caching.TOOLS,
                        "messages": messages}
                status, text = caching.post(url, body, f"compaction-{compact}")
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {text[:300]}")
    finally:
        server.shutdown()
    return fake


def recorded_sessions() -> None:
    """Compact each recorded session's requests as the proxy would (pure: no server)."""
    import sys

    sys.path.insert(0, str(bench.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from proxy_app.core.token_estimate import estimate_request_tokens
    from proxy_app.guards.compaction import CompactionConfig, compact_messages
    from tests.clients.test_fixture_replay import decode

    print(f"{'recorded session':<22} {'thresholds':<10} {'requests':>8} {'tokens, all requests':>21} "
          f"{'last request':>13} {'saved':>6} {'batches':>7}")
    for path in sorted(RECORDINGS.glob("*-session.json")):
        chat = decode(json.loads(path.read_text()))
        assert chat is not None, path
        ends = [i for i, m in enumerate(chat.messages) if m.role == "assistant"] + [len(chat.messages)]
        for label, config in (("off", None), ("default", CompactionConfig()), ("eager", CompactionConfig(**EAGER))):
            total = last = batches = 0
            previous: list[str] = []
            for end in ends:
                messages = copy.deepcopy(chat.messages[:end])
                if config is not None:
                    compact_messages(messages, config)
                last = estimate_request_tokens(dataclasses.replace(chat, messages=messages))
                total += last
                now = [repr(m) for m in messages]
                batches += now[:len(previous)] != previous
                previous = now
            if label == "off":
                baseline = total
            print(f"{path.stem.removesuffix('-session'):<22} {label:<10} {len(ends):>8} {total:>21,} {last:>13,} "
                  f"{1 - total / baseline:>6.0%} {batches:>7}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=40)
    args = ap.parse_args()
    recorded_sessions()
    print()
    print(f"one coding session of {args.turns} requests, one key, default compaction thresholds")
    print(f"{'compaction':<11} {'input tokens':>13} {'last request':>13} {'cache reads':>12} {'rewrites':>9} "
          f"{'input cost':>11} {'no cache':>9}")
    results = {}
    for compact in (False, True):
        fake = results[compact] = run_mode(compact, args.turns)
        t = fake.tally
        print(f"{'on' if compact else 'off':<11} {sum(fake.inputs):>13,} {fake.inputs[-1]:>13,} "
              f"{t.read / max(1, t.read + t.written):>12.1%} {fake.rewrites:>9} {f'${t.cost():.4f}':>11} "
              f"{f'${t.cost_without_cache():.4f}':>9}")
    off, on = results[False], results[True]
    print(f"compaction saved {1 - sum(on.inputs) / sum(off.inputs):.1%} of the input tokens, "
          f"{1 - on.inputs[-1] / off.inputs[-1]:.1%} of the last request's, "
          f"{1 - on.tally.cost() / off.tally.cost():.1%} of the cost with a prompt cache, "
          f"{1 - on.tally.cost_without_cache() / off.tally.cost_without_cache():.1%} without one")


if __name__ == "__main__":
    main()
