#!/usr/bin/env python3
"""A/B: two proxies side by side on one upstream, in interleaved rounds: another checkout against
this one, or this checkout under two settings.

    git worktree add /tmp/base <commit>            # the code to compare against
    .venv/bin/python bench/ab.py /tmp/base [--server daphne|uvicorn] [--rounds 8] [--seconds 3]
    .venv/bin/python bench/ab.py --env-a PROXY_UPSTREAM_TRANSPORT=httpx --env-b PROXY_UPSTREAM_TRANSPORT=own
    .venv/bin/python bench/ab.py --otlp-sink --env-a OTEL_EXPORTER_OTLP_ENDPOINT= \
        --env-b OTEL_EXPORTER_OTLP_ENDPOINT={otlp_sink}       # what tracing costs

A runs the other checkout (this one if none is given) with the ``--env-a`` settings, B this
checkout with the ``--env-b`` settings (each ``NAME=VALUE``, repeatable, on top of the benchmark's
own environment; ``{otlp_sink}`` in a value is the URL of the OTLP/HTTP trace sink that
``--otlp-sink`` starts, ``bench/otlp_sink.py``). Both proxies run at once from this checkout's
virtualenv, each from its own tree, against the same upstreams: the paced upstream (10 content
chunks 20 ms apart, stamped, as the ``ttft`` scenario) and nginx (fixed JSON). Each round measures, for each proxy in turn (the order
alternating between rounds, so this machine's drift hits both alike):

* paced streams at c = 1: TTFT, the request's way in (client -> upstream), the first and later
  tokens' way out, CPU per stream;
* non-stream at c = 1 and c = 10 (wrk): p50 latency, requests/s, CPU per request.

It prints the medians over rounds for A and B, and the median of the per-round differences B - A,
which is what to read: single rounds on this host swing by tens of percent. Nothing is saved;
paste the table where the change is described.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import run as bench

METRICS = [  # (measurement, field, label, unit)
    ("stream", "ttft_p50_ms", "paced TTFT p50, c=1", "ms"),
    ("stream", "to_upstream_p50_ms", "  request's way in", "ms"),
    ("stream", "first_relay_p50_ms", "  first token's way out", "ms"),
    ("stream", "later_relay_p50_ms", "  later tokens' way out", "ms"),
    ("stream", "cpu_ms_per_req", "  CPU per stream", "ms"),
    ("c1", "p50_ms", "non-stream p50, c=1", "ms"),
    ("c1", "cpu_ms_per_req", "  CPU per request", "ms"),
    ("c10", "rps", "non-stream req/s, c=10", ""),
    ("c10", "cpu_ms_per_req", "  CPU per request", "ms"),
]


def setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def describe(root: Path, env: dict[str, str]) -> str:
    return " ".join([str(root), *(f"{name}={value}" for name, value in env.items())])


def start_otlp_sink() -> str:
    """``bench/otlp_sink.py`` on a free port (stopped with the benchmark's other processes); its URL."""
    port = bench.free_port()
    sink = bench.spawn([str(bench.PY), str(bench.BENCH / "otlp_sink.py"), "--port", str(port)], "otlp-sink")
    bench.wait_http(f"http://127.0.0.1:{port}/healthz", sink, 20)
    return f"http://127.0.0.1:{port}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("other", type=Path, nargs="?", default=bench.ROOT,
                    help="the checkout to compare against (A); this one is B (default: this one for both)")
    ap.add_argument("--env-a", type=setting, action="append", default=[], metavar="NAME=VALUE",
                    help="a setting for A's proxies (repeatable)")
    ap.add_argument("--env-b", type=setting, action="append", default=[], metavar="NAME=VALUE",
                    help="a setting for B's proxies (repeatable)")
    ap.add_argument("--server", default="daphne", choices=["daphne", "uvicorn"])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each load")
    ap.add_argument("--otlp-sink", action="store_true",
                    help="start an OTLP/HTTP trace sink, named {otlp_sink} in the settings' values")
    a = ap.parse_args()
    root_a, env_a, env_b = a.other.resolve(), dict(a.env_a), dict(a.env_b)
    if a.otlp_sink:
        sink_url = start_otlp_sink()
        env_a, env_b = ({name: value.replace("{otlp_sink}", sink_url) for name, value in env.items()}
                        for env in (env_a, env_b))
    if not (root_a / "manage.py").exists():
        ap.error(f"{a.other} is not a checkout of this project")
    if root_a == bench.ROOT and env_a == env_b:
        ap.error("A and B would be the same: name another checkout, or settings that differ (--env-a/--env-b)")
    b = bench.Bench(argparse.Namespace(quick=True))
    paced, paced_port = bench.start_paced_upstream(10, 0.02, stamp=True)
    nginx, nginx_port = bench.start_nginx(b.chunks)
    stream_body, json_body = bench.fixtures.openai_request(stream=True), bench.fixtures.openai_request()
    try:
        paced_url, nginx_url = f"http://127.0.0.1:{paced_port}/v1", f"http://127.0.0.1:{nginx_port}/v1"
        with bench.Proxy(paced_url, server=a.server, root=root_a, extra_env=env_a) as pa_s, \
                bench.Proxy(paced_url, server=a.server, extra_env=env_b) as pb_s, \
                bench.Proxy(nginx_url, server=a.server, root=root_a, extra_env=env_a) as pa_j, \
                bench.Proxy(nginx_url, server=a.server, extra_env=env_b) as pb_j:
            proxies = {"A": (pa_s, pa_j), "B": (pb_s, pb_j)}
            for streams, plain in proxies.values():  # warm-up
                bench.streamclient(streams.url, stream_body, conc=2, duration=1)
                bench.wrk(plain.url, json_body, 10, 1)

            def measure(label: str, i: int) -> dict:
                streams, plain = proxies[label]
                return {
                    "stream": b.load_stream("ab", label, streams.url, stream_body, streams.pid, conc=1,
                                            duration=a.seconds),
                    "c1": b.load_wrk("ab", label, plain.url, json_body, 1, plain.pid, duration=a.seconds),
                    "c10": b.load_wrk("ab", label, plain.url, json_body, 10, plain.pid, duration=a.seconds),
                }

            runs = b.interleaved(a.rounds, ["A", "B"], measure)
    finally:
        bench.stop(nginx)
        bench.stop(paced)
        bench.cleanup()
    if a.otlp_sink:  # the sink's totals, printed as it stopped: were the spans exported?
        print((bench.TMP / "otlp-sink.log").read_text().strip())
    print(f"\nA = {describe(root_a, env_a)}, B = {describe(bench.ROOT, env_b)}; {a.server}, "
          f"{a.rounds} interleaved rounds of {a.seconds:g} s\n")
    print("| metric | A median | B median | B − A, median of rounds |")
    print("|---|---:|---:|---:|")
    for kind, field, label, unit in METRICS:
        va = [r[kind].get(field) for r in runs["A"]]
        vb = [r[kind].get(field) for r in runs["B"]]
        if None in va or None in vb:
            continue
        diff = statistics.median(y - x for x, y in zip(va, vb, strict=True))
        print(f"| {label} | {statistics.median(va):.3f} {unit} | {statistics.median(vb):.3f} {unit} | {diff:+.3f} {unit} |")


if __name__ == "__main__":
    main()
