#!/usr/bin/env python3
"""The upstream seam alone: one upstream call after another, per transport, against nginx.

    .venv/bin/python bench/seam.py [--calls 3000] [--rounds 5] [--gap-ms 20]

In this process, on uvloop as the proxy runs, with no Django request around it: what one call
through ``proxy_app.upstream.client`` costs with each ``PROXY_UPSTREAM_TRANSPORT`` (``send`` +
``read_body`` + ``aclose``, the connector's non-stream path), and, for the own transport, what
``client.send``'s shortcuts save: the same transport reached through an ``httpx.Request`` and
``handle_async_request`` (as the library transports are), and through ``AsyncClient.post`` (httpx's
whole client). Two loads: back to back (warm), and one call every ``--gap-ms`` (each call starts
cold, as a paced stream's do). Each round runs every variant in turn, the order alternating; the
table gives, per variant, the medians over rounds of its median wall time per call and of its CPU
time per call (this process only: the upstream's is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

Call = Callable[[], Awaitable[bytes]]


def variants(url: str) -> tuple[Callable[[], Awaitable[None]], dict[str, Call]]:
    import httpx
    from django.conf import settings

    from proxy_app.upstream import client
    from proxy_app.upstream.http1 import Http1Transport

    base = url.rsplit("/", 1)[0]
    body = json.dumps(bench.fixtures.openai_request()).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    timeout = client.default_timeout()

    def through_send(transport: str) -> Call:
        async def call() -> bytes:
            settings.PROXY_UPSTREAM_TRANSPORT = transport
            # the shared clients are per base URL: one per transport (the fragment is never sent)
            r = await client.send(f"{base}#{transport}", "POST", url, content=body, headers=headers, timeout=timeout)
            try:
                return await client.read_body(r)
            finally:
                await r.aclose()
        return call

    own = Http1Transport(max_connections=settings.PROXY_MAX_CONNECTIONS)
    own_client = httpx.AsyncClient(transport=Http1Transport(max_connections=settings.PROXY_MAX_CONNECTIONS),
                                   timeout=timeout, cookies=client.no_cookies())

    async def own_via_request() -> bytes:
        request = httpx.Request("POST", client.parsed_url(url), content=body,
                                headers=client.with_default_headers(headers), extensions={"timeout": timeout.as_dict()})
        r = await own.handle_async_request(request)
        try:
            return await client.read_body(r)
        finally:
            await r.aclose()

    async def own_via_client() -> bytes:
        return (await own_client.post(url, content=body, headers=headers)).content

    async def close() -> None:
        await client.close_clients()
        await own_client.aclose()
        await own.aclose()

    return close, {
        "own: client.send (the hot path)": through_send("own"),
        "own: httpx.Request + handle_async_request": own_via_request,
        "own: AsyncClient.post": own_via_client,
        "httpx: client.send": through_send("httpx"),
        "aiohttp: client.send": through_send("aiohttp"),
    }


async def measure(call: Call, calls: int, gap: float) -> tuple[float, float]:
    """Median wall and mean CPU microseconds per call."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(calls):
        if gap:
            await asyncio.sleep(gap)
        t0 = time.perf_counter()
        answer = await call()
        walls.append(time.perf_counter() - t0)
        assert b"fixed benchmark answer" in answer, answer[:200]
    cpu = time.process_time() - cpu0
    return statistics.median(walls) * 1e6, cpu / calls * 1e6


async def main(a: argparse.Namespace, url: str) -> None:
    close, calls = variants(url)
    try:
        await compare(a, calls)
    finally:
        await close()


async def compare(a: argparse.Namespace, calls: dict[str, Call]) -> None:
    loads = {"back to back": (a.calls, 0.0), f"one every {a.gap_ms:g} ms": (max(50, a.calls // 20), a.gap_ms / 1000)}
    for fn in calls.values():  # warm-up: imports, connections
        for _ in range(50):
            await fn()
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    names = list(calls)
    for i in range(a.rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            for load, (n, gap) in loads.items():
                results.setdefault((load, name), []).append(await measure(calls[name], n, gap))
        bench.log(f"round {i + 1}/{a.rounds} done")
    print(f"\n{a.rounds} rounds; back to back: {a.calls} calls per variant and round, paced: "
          f"{max(50, a.calls // 20)}; medians over rounds\n")
    print("| load | variant | wall p50 per call | CPU per call |")
    print("|---|---|---:|---:|")
    for load in loads:
        for name in names:
            rows = results[(load, name)]
            wall = statistics.median(w for w, _ in rows)
            cpu = statistics.median(c for _, c in rows)
            print(f"| {load} | {name} | {wall:.0f} µs | {cpu:.0f} µs |")


def entry() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    a = ap.parse_args()
    os.environ.update({"DJANGO_SETTINGS_MODULE": "llmproxy_site.settings", "LLM_PROXY_ENV_FILE": "/nonexistent",
                       "LOG_LEVEL": "WARNING"})
    sys.path.insert(0, str(bench.ROOT))
    import django

    django.setup()
    nginx, port = bench.start_nginx(20)
    try:
        import uvloop

        uvloop.run(main(a, f"http://127.0.0.1:{port}/v1/chat/completions"))
    finally:
        bench.stop(nginx)
        bench.cleanup()


if __name__ == "__main__":
    entry()
