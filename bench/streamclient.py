"""Asyncio (aiohttp + uvloop) streaming load client; prints one JSON summary line on stdout.

Two modes:

* closed loop: ``--concurrency C --duration D``: C workers each send a streaming request,
  read it to the end, and repeat until D seconds have passed;
* slow streams: ``--streams N --ramp R``: N streams, opened evenly over R seconds, each read
  to the end once (all N are open at the same time when the upstream paces them).

Per stream it records time to response headers (TTFB), time to the first SSE event carrying
answer text (TTFT: an OpenAI delta with non-empty ``content`` or an Anthropic
``text_delta``; the time to the first SSE event of any kind is kept as ``first_event``) and time to the end of the body; OpenAI streams must end with ``data: [DONE]``,
Anthropic ones with ``message_stop``, else the stream counts as an error.

Against ``upstream.py --stamp`` (whose content chunks carry the upstream's clock) it also splits
the time: request sent -> received by the upstream, and each content chunk's sending by the
upstream -> its arrival here, the first one apart from the rest (same machine, same clock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time

import aiohttp

# an event that carries answer text: OpenAI delta with non-empty content, or Anthropic text_delta
CONTENT = re.compile(rb'"content":\s*"[^"]|"text_delta"')
# a stamped content chunk (upstream.py --stamp): "<request received>/<sent> " or "<sent> "
STAMP = re.compile(rb'"content":"(?:(\d+\.\d+)/)?(\d+\.\d+) "')


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


async def one(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict, rec: dict) -> None:
    t0, wall0 = time.perf_counter(), time.time()
    ttfb = ttft = tfe = None
    tail = b""
    events = 0
    stamps: list[tuple[bytes | None, float, float]] = []  # (request received, sent, arrived)
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            ttfb = time.perf_counter() - t0
            if resp.status != 200:
                rec["errors"].append(f"HTTP {resp.status}: {(await resp.text())[:200]}")
                return
            async for chunk in resp.content.iter_any():
                arrived = time.time()
                if tfe is None and b"data:" in chunk:
                    tfe = time.perf_counter() - t0
                if ttft is None and CONTENT.search(tail[-64:] + chunk):
                    ttft = time.perf_counter() - t0
                events += chunk.count(b"\n\n")
                tail = (tail + chunk)[-256:]
                stamps += [(m.group(1), float(m.group(2)), arrived) for m in STAMP.finditer(chunk)]
        total = time.perf_counter() - t0
        if b"[DONE]" not in tail and b"message_stop" not in tail:
            rec["errors"].append(f"stream ended without [DONE]/message_stop: {tail[-120:]!r}")
            return
        rec["ttfb"].append(ttfb)
        rec["ttft"].append(ttft if ttft is not None else total)
        rec["tfe"].append(tfe if tfe is not None else total)
        rec["total"].append(total)
        rec["events"] += events
        if stamps and stamps[0][0] is not None:
            rec["to_upstream"].append(float(stamps[0][0]) - wall0)
            rec["first_relay"].append(stamps[0][2] - stamps[0][1])
            rec["later_relay"] += [arrived - sent for _, sent, arrived in stamps[1:]]
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        rec["errors"].append(f"{type(exc).__name__}: {exc}"[:200])


async def main_async(a: argparse.Namespace) -> dict:
    body = open(a.body, "rb").read()
    headers = {"Content-Type": "application/json"}
    if a.key:
        headers["Authorization"] = f"Bearer {a.key}"
    rec: dict = {"ttfb": [], "ttft": [], "tfe": [], "total": [], "errors": [], "events": 0,
                 "to_upstream": [], "first_relay": [], "later_relay": []}
    conn = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=a.timeout)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=conn, timeout=timeout, auto_decompress=False) as session:
        if a.streams:
            tasks = []
            for _i in range(a.streams):
                tasks.append(asyncio.create_task(one(session, a.url, body, headers, rec)))
                if a.ramp:
                    await asyncio.sleep(a.ramp / a.streams)
            await asyncio.gather(*tasks)
        else:
            deadline = t0 + a.duration

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    await one(session, a.url, body, headers, rec)

            await asyncio.gather(*(worker() for _ in range(a.concurrency)))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    ms = 1000.0
    n = len(rec["total"])
    return {
        "requests": n,
        "errors": len(rec["errors"]),
        "error_samples": rec["errors"][:5],
        "wall_s": wall,
        "rps": n / wall if wall else 0.0,
        "events": rec["events"],
        "ttfb_p50_ms": (pct(rec["ttfb"], 50) or 0) * ms,
        "first_event_p50_ms": (pct(rec["tfe"], 50) or 0) * ms,
        "ttft_p50_ms": (pct(rec["ttft"], 50) or 0) * ms,
        "ttft_p99_ms": (pct(rec["ttft"], 99) or 0) * ms,
        "p50_ms": (pct(rec["total"], 50) or 0) * ms,
        "p99_ms": (pct(rec["total"], 99) or 0) * ms,
        "client_cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        **{f"{k}_p50_ms": pct(rec[k], 50) * ms for k in ("to_upstream", "first_relay", "later_relay") if rec[k]},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--body", required=True, help="file with the JSON request body")
    ap.add_argument("--key", default="")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--streams", type=int, default=0)
    ap.add_argument("--ramp", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out = asyncio.run(main_async(a))
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
