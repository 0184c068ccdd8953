#!/usr/bin/env python3
"""Loopback benchmark of the proxy: see bench/README.md.

    .venv/bin/python bench/run.py [--quick] [--scenarios a,b,...] [--litellm] [--profile]

Everything (nginx upstream, paced asyncio upstream, proxy, load generators, LiteLLM) runs on
127.0.0.1 in its own process group and is killed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PY = ROOT / ".venv" / "bin" / "python"
if not PY.exists():
    PY = Path(sys.executable)
sys.path.insert(0, str(BENCH))
import fixtures  # noqa: E402

PROXY_KEY = "bench-proxy-key-0123456789"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_SCENARIOS = ["nonstream", "stream", "ttft", "slow", "translation", "usage", "servers", "soak"]

TMP = Path(tempfile.mkdtemp(prefix=f"bench-{os.getpid()}-"))
PROCS: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ processes


def spawn(cmd: list[str], name: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    out = open(TMP / f"{name}.log", "ab")
    p = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    p.bench_name = name  # type: ignore[attr-defined]
    PROCS.append(p)
    return p


def stop(p: subprocess.Popen, timeout: float = 8.0) -> None:
    if p.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    # stragglers in the group (e.g. uvicorn workers) after the leader exited
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if p in PROCS:
        PROCS.remove(p)


def cleanup() -> None:
    for p in list(PROCS):
        stop(p, 3.0)


atexit.register(cleanup)


def _sig(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _sig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, p: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p is not None and p.poll() is not None:
            tail = (TMP / f"{p.bench_name}.log").read_text(errors="replace")[-600:]
            raise RuntimeError(f"{url}: process exited with {p.returncode}; log tail: {tail!r}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout}s")


def post(url: str, body: dict, key: str = PROXY_KEY, timeout: float = 30) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except Exception as e:  # noqa: BLE001
        return 0, f"{type(e).__name__}: {e}"


# ------------------------------------------------------------------ /proc accounting


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, all threads) of ``pids``, from each process's scheduler clock.

    The clock (``clock_getcpuclockid``: ``(~pid << 3) | CPUCLOCK_SCHED``) is exact to the
    nanosecond; ``/proc/PID/stat``'s tick counts sample at 100 Hz, which overcharges a process
    whose wakeups line up with the tick (a paced stream's timer-driven chunks do), so they are
    only the fallback."""
    total = 0.0
    for pid in pids:
        try:
            total += time.clock_gettime((~pid << 3) | 2)
            continue
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def busy_seconds() -> float:
    """Machine-wide non-idle CPU seconds (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # minus idle, iowait


def own_seconds() -> float:
    """CPU of everything this benchmark runs: itself, waited children (wrk, clients) and live spawned trees."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
    for p in list(PROCS):
        if p.poll() is None:
            total += cpu_seconds(tree_pids(p.pid))
    return total


class Meter:
    """Samples RSS of a process tree while a load runs; CPU time delta over the same span.

    Also measures the CPU used by processes that are not part of the benchmark (other users of
    the machine) over the same span: ``bg_cpu_pct`` of the machine's total capacity.
    """

    def __init__(self, root_pid: int | None, interval: float = 0.25) -> None:
        self.root, self.interval = root_pid, interval
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t: threading.Thread | None = None

    def __enter__(self) -> Meter:
        self.busy0, self.own0, self.w0 = busy_seconds(), own_seconds(), time.time()
        if self.root is None:
            return self
        self.pids = tree_pids(self.root)
        self.rss_start = rss_bytes(self.pids)
        self.cpu0 = cpu_seconds(self.pids)
        self.t0 = time.time()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            r = rss_bytes(self.pids)
            self.peak = max(self.peak, r)
            self.samples.append((time.time() - self.t0, r))
            self._stop.wait(self.interval)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        wall = time.time() - self.w0
        foreign = (busy_seconds() - self.busy0) - (own_seconds() - self.own0)
        self.bg_cpu_pct = max(0.0, foreign / (wall * (os.cpu_count() or 1)) * 100) if wall else 0.0
        if self.root is None:
            return
        self._stop.set()
        self._t.join()
        self.pids = tree_pids(self.root)  # catch late-spawned workers too
        self.cpu = cpu_seconds(self.pids) - self.cpu0
        self.rss_end = rss_bytes(self.pids)
        self.peak = max(self.peak, self.rss_end)


# ------------------------------------------------------------------ upstreams


def nginx_config(d: Path, http: str) -> str:
    """What both benchmark nginx processes share (one worker, no access log, temporary files
    under ``d``, long keep-alive), around ``http``: the rest of the ``http`` block."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {d}/nginx-body;
  proxy_temp_path {d}/nginx-proxy;
  fastcgi_temp_path {d}/nginx-fcgi;
  uwsgi_temp_path {d}/nginx-uwsgi;
  scgi_temp_path {d}/nginx-scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
{http}}}
"""


def start_nginx_process(d: Path, name: str, http: Callable[[int], str]) -> tuple[subprocess.Popen, int]:
    """nginx on a free port with ``nginx_config(d, http(port))``, once it answers ``/healthz``."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        raise SystemExit("nginx not found: apt-get install -y nginx-light")
    port = free_port()
    d.mkdir(exist_ok=True)
    conf = d / "nginx.conf"
    conf.write_text(nginx_config(d, http(port)))
    p = spawn([exe, "-p", str(d), "-c", str(conf), "-e", str(d / "nginx-error.log")], name)
    wait_http(f"http://127.0.0.1:{port}/healthz", p, 15)
    return p, port


def upstream_http(port: int, chunks: int) -> str:
    def q(s: str) -> str:
        assert "'" not in s and "$" not in s and "\\" not in s
        return "'" + s + "'"

    (TMP / "openai.sse").write_text("".join(fixtures.openai_sse_events(chunks)))
    (TMP / "anthropic.sse").write_text("".join(fixtures.anthropic_sse_events(chunks)))
    return f"""  client_body_buffer_size 64k;
  server {{
    listen 127.0.0.1:{port} backlog=4096 reuseport;
    location = /healthz {{ return 200 'ok'; }}
    location = /v1/chat/completions {{ default_type application/json; return 200 {q(fixtures.openai_completion())}; }}
    location = /v1/messages {{ default_type application/json; return 200 {q(fixtures.anthropic_message())}; }}
    # SSE bodies exceed nginx's 4 KB parameter limit: static files; POST on a static file is a 405,
    # which error_page turns into an internal GET of the same file answered 200
    location = /sse/v1/chat/completions {{ default_type text/event-stream; alias {TMP}/openai.sse; error_page 405 =200 $uri; }}
    location = /sse/v1/messages {{ default_type text/event-stream; alias {TMP}/anthropic.sse; error_page 405 =200 $uri; }}
  }}
"""


def start_nginx(chunks: int) -> tuple[subprocess.Popen, int]:
    """The instant upstream: fixed JSON answers and fixed SSE bodies."""
    return start_nginx_process(TMP, "nginx", lambda port: upstream_http(port, chunks))


def start_nginx_reverse_proxy(upstream_port: int) -> tuple[subprocess.Popen, int]:
    """A second nginx (its own process, one worker) that only relays, unbuffered, to the upstream on
    ``upstream_port`` (the nginx one, or the paced one for streams) over pooled keep-alive
    connections: the added latency of a C reverse proxy making the same extra hop on this machine,
    the floor under any gateway's."""
    return start_nginx_process(TMP / "nginx-rp", "nginx-rp", lambda port: f"""\
  upstream llm {{ server 127.0.0.1:{upstream_port}; keepalive 256; keepalive_requests 10000000; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096 reuseport;
    location / {{ proxy_pass http://llm; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }}
  }}
""")


def start_paced_upstream(chunks: int, gap: float, stamp: bool = False) -> tuple[subprocess.Popen, int]:
    port = free_port()
    p = spawn([str(PY), str(BENCH / "upstream.py"), "--port", str(port), "--chunks", str(chunks), "--gap", str(gap)]
              + (["--stamp"] if stamp else []), f"upstream-{port}")
    wait_http(f"http://127.0.0.1:{port}/healthz", p, 20)
    return p, port


# ------------------------------------------------------------------ proxy


class Proxy:
    db_counter = 0

    def __init__(self, base_url: str, *, server: str = "daphne", workers: int = 1, usage: bool = True,
                 root: Path = ROOT, extra_env: dict[str, str] | None = None) -> None:
        self.base_url, self.server, self.workers, self.usage = base_url, server, workers, usage
        self.root = root  # the checkout to run (bench/ab.py runs two side by side)
        self.extra_env = extra_env or {}  # settings on top of the benchmark's (bench/ab.py --env-a/--env-b)
        self.port = free_port()
        self.p: subprocess.Popen | None = None

    @property
    def label(self) -> str:
        return self.server if self.workers == 1 else f"{self.server}x{self.workers}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "OPENROUTER_", "ANTHROPIC_", "GEMINI_", "LLM_", "DJANGO_", "USAGE_"))}
        Proxy.db_counter += 1
        env.update({
            "DJANGO_SETTINGS_MODULE": "llmproxy_site.settings",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "LLM_PROXY_ENV_FILE": str(TMP / "no.env"),
            "DATABASE_URL": f"sqlite:////tmp/bench-{os.getpid()}-{Proxy.db_counter}.sqlite3",
            "LLM_INTERACTIVE_PROXY_API_KEY": PROXY_KEY,
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_API_BASE_URL": self.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "ANTHROPIC_API_BASE_URL": self.base_url,
            "USAGE_RECORDING_ENABLED": "true" if self.usage else "false",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def __enter__(self) -> Proxy:
        cmd = [str(PY), "manage.py", "runproxy", "--host", "127.0.0.1", "--port", str(self.port), "--server", self.server]
        if self.workers != 1:
            cmd += ["--workers", str(self.workers)]
        t0 = time.time()
        self.p = spawn(cmd, f"proxy-{self.label}-{self.port}", env=self.env(), cwd=self.root)
        wait_http(f"http://127.0.0.1:{self.port}/healthz", self.p, 90)
        self.startup_s = time.time() - t0
        self.pid = self.p.pid
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        if self.p is not None:
            stop(self.p)
        for f in Path("/tmp").glob(f"bench-{os.getpid()}-*.sqlite3*"):
            try:
                f.unlink()
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def rss(self) -> int:
        return rss_bytes(tree_pids(self.pid))


# ------------------------------------------------------------------ load generators


WRK_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
{extra}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""

WRK_LIMIT = """
local n = 0
response = function(status, headers, body)
  n = n + 1
  if n >= {limit} then wrk.thread:stop() end
end
"""


def wrk(url: str, body: dict, conc: int, duration: float, key: str = PROXY_KEY, limit: int = 0) -> dict:
    exe = shutil.which("wrk")
    if not exe:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    script = TMP / f"wrk-{time.time_ns()}.lua"
    extra = WRK_LIMIT.format(limit=limit) if limit else ""
    script.write_text(WRK_LUA.format(body=json.dumps(body), key=key, extra=extra))
    cmd = [exe, "-t1", f"-c{conc}", f"-d{max(1, int(duration))}s", "--timeout", "30s", "-s", str(script), url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, start_new_session=True)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {r.stdout[-500:]} {r.stderr[-500:]}")
    d = json.loads(line[8:])
    secs = d["duration_us"] / 1e6
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return {
        "requests": d["requests"], "wall_s": secs, "rps": d["requests"] / secs if secs else 0.0,
        "p50_ms": d["p50_us"] / 1000, "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000,
        "mean_ms": d["mean_us"] / 1000, "max_ms": d["max_us"] / 1000, "errors": errors,
        "error_detail": {k: d[k] for k in ("connect", "read", "write", "status", "timeout") if d[k]},
    }


def streamclient(url: str, body: dict, *, conc: int = 0, duration: float = 0, streams: int = 0, ramp: float = 0,
                 key: str = PROXY_KEY, timeout: float = 120) -> dict:
    bf = TMP / f"body-{time.time_ns()}.json"
    bf.write_text(json.dumps(body))
    cmd = [str(PY), str(BENCH / "streamclient.py"), "--url", url, "--body", str(bf), "--key", key,
           "--timeout", str(timeout)]
    if streams:
        cmd += ["--streams", str(streams), "--ramp", str(ramp)]
    else:
        cmd += ["--concurrency", str(conc), "--duration", str(duration)]
    limit = (duration or 0) + ramp + timeout + 60
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, start_new_session=True)
    if r.returncode != 0:
        raise RuntimeError(f"streamclient failed: {r.stderr[-1000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ scenario plumbing


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        q = args.quick
        self.dur = 4 if q else 10
        self.chunks = 20
        self.slow_streams = 200 if q else 1000
        self.slow_seconds = 5 if q else 30
        self.soak_requests = 10_000 if q else 100_000
        self.soak_interval = 2 if q else 10
        self.results: list[dict] = []
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.extra: dict = {}

    def record(self, **kw) -> dict:
        self.results.append(kw)
        return kw

    def find(self, **kw) -> dict | None:
        for r in self.results:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    # --- one measured load against a target; proxy=None means direct (no process to meter)
    def load_wrk(self, scenario: str, target: str, url: str, body: dict, conc: int, pid: int | None,
                 key: str = PROXY_KEY, duration: float | None = None, **tags) -> dict:
        with Meter(pid) as m:
            r = wrk(url, body, conc, duration or self.dur, key=key)
        rec = {"scenario": scenario, "target": target, "concurrency": conc, "kind": "non-stream", **tags, **r,
               "bg_cpu_pct": m.bg_cpu_pct}
        if pid is not None:
            rec.update(self._meter_fields(m, r["requests"]))
        log(f"  {scenario:<28} {target:<16} c={conc:<4} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  "
            f"p99 {r['p99_ms']:7.2f} ms  err {r['errors']}"
            + (f"  cpu {rec['cpu_ms_per_req']:.2f} ms/req  rss {rec['rss_peak_mb']:.0f} MB" if pid else "")
            + (f"  [bg cpu {m.bg_cpu_pct:.0f}%]" if m.bg_cpu_pct >= 5 else ""))
        return self.record(**rec)

    def load_stream(self, scenario: str, target: str, url: str, body: dict, pid: int | None, *, conc: int = 0,
                    streams: int = 0, ramp: float = 0, duration: float = 0, **tags) -> dict:
        with Meter(pid) as m:
            r = streamclient(url, body, conc=conc, duration=duration, streams=streams, ramp=ramp,
                             timeout=max(120, self.slow_seconds * 3))
        rec = {"scenario": scenario, "target": target, "concurrency": conc or streams, "kind": "stream", **tags, **r,
               "bg_cpu_pct": m.bg_cpu_pct}
        if pid is not None:
            rec.update(self._meter_fields(m, r["requests"]))
        log(f"  {scenario:<28} {target:<16} c={conc or streams:<4} {r['rps']:8.1f} str/s  TTFT p50 "
            f"{r['ttft_p50_ms']:7.2f} ms p99 {r['ttft_p99_ms']:7.2f}  total p50 {r['p50_ms']:8.1f} ms  "
            f"err {r['errors']}  client cpu {r['client_cpu_s']:.1f}s"
            + (f"  rss peak {rec['rss_peak_mb']:.0f} MB" if pid else "")
            + (f"  [bg cpu {m.bg_cpu_pct:.0f}%]" if m.bg_cpu_pct >= 5 else ""))
        if r["error_samples"]:
            log(f"    errors e.g. {r['error_samples'][:2]}")
        return self.record(**rec)

    @staticmethod
    def _meter_fields(m: Meter, n: int) -> dict:
        return {
            "rss_start_mb": m.rss_start / 2**20, "rss_peak_mb": m.peak / 2**20, "rss_end_mb": m.rss_end / 2**20,
            "cpu_s": m.cpu, "cpu_ms_per_req": (m.cpu / n * 1000) if n else None,
            "cpu_util": m.cpu / (time.time() - m.t0),
        }

    def added(self, rec: dict, direct: dict | None) -> None:
        if not direct:
            return
        rec["direct_rps"] = direct["rps"]
        rec["direct_p50_ms"] = direct["p50_ms"]
        rec["direct_p99_ms"] = direct["p99_ms"]
        rec["added_p50_ms"] = rec["p50_ms"] - direct["p50_ms"]
        rec["added_p99_ms"] = rec["p99_ms"] - direct["p99_ms"]
        rec["rps_ratio_vs_direct"] = rec["rps"] / direct["rps"] if direct["rps"] else None
        if rec.get("kind") == "stream":
            rec["direct_ttft_p50_ms"] = direct["ttft_p50_ms"]
            rec["direct_ttft_p99_ms"] = direct["ttft_p99_ms"]
            rec["ttft_overhead_p50_ms"] = rec["ttft_p50_ms"] - direct["ttft_p50_ms"]
            rec["ttft_overhead_p99_ms"] = rec["ttft_p99_ms"] - direct["ttft_p99_ms"]

    def validate(self, url: str, body: dict, expect: str) -> str | None:
        status, text = post(url, body)
        if status != 200 or expect not in text:
            return f"HTTP {status}: {text[:300]}"
        return None

    # ------------------------------------------------------------ scenarios

    def s_nonstream(self) -> None:
        log("scenario nonstream: direct nginx vs proxy (daphne) vs nginx as a reverse proxy, concurrency 1/10/100")
        body = fixtures.openai_request()
        rp, rp_port = start_nginx_reverse_proxy(self.nginx_port)
        rp_url = f"http://127.0.0.1:{rp_port}/v1/chat/completions"
        with Proxy(self.nginx_base) as px:
            self.extra["proxy_startup_s"] = px.startup_s
            self.extra["proxy_idle_rss_mb"] = px.rss() / 2**20
            err = self.validate(px.url, body, "fixed benchmark answer")
            if err:
                raise RuntimeError(f"proxy does not answer the benchmark request: {err}")
            wrk(px.url, body, 10, 2)  # warm-up (imports, connection pool)
            for c in (1, 10, 100):
                d = self.load_wrk("nonstream", "direct", self.nginx_chat, body, c, None)
                self.added(self.load_wrk("nonstream", "proxy-daphne", px.url, body, c, px.pid, server="daphne"), d)
                self.added(self.load_wrk("nonstream", "nginx-reverse-proxy", rp_url, body, c, rp.pid), d)
        stop(rp)

    def s_stream(self) -> None:
        log(f"scenario stream: {self.chunks}-chunk SSE from nginx, direct vs proxy, concurrency 1/10/100")
        body = fixtures.openai_request(stream=True)
        with Proxy(self.nginx_sse_base) as px:
            err = self.validate(px.url, body, "[DONE]")
            if err:
                raise RuntimeError(f"proxy does not stream: {err}")
            streamclient(px.url, body, conc=10, duration=2)
            for c in (1, 10, 100):
                d = self.load_stream("stream", "direct", self.nginx_sse_chat, body, None, conc=c, duration=self.dur)
                p = self.load_stream("stream", "proxy-daphne", px.url, body, px.pid, conc=c, duration=self.dur,
                                     server="daphne")
                self.added(p, d)

    def s_ttft(self) -> None:
        """First-token overhead when tokens arrive apart, as a model sends them.

        From nginx all 20 chunks arrive in one read, so the proxy's "TTFT" there includes relaying
        the whole burst (Twisted sends what Daphne writes on its next reactor turn, after the burst
        has been processed). Here the paced upstream sends the role chunk at once and each content
        chunk 20 ms after the previous one, stamped with its clock, so each row also splits the
        time into the request's way in and the tokens' way out. nginx relaying the same streams
        (unbuffered) is the floor."""
        chunks, gap = 10, 0.02
        log(f"scenario ttft: {chunks} chunks {gap * 1000:.0f} ms apart, c=1 and c=10, direct vs nginx vs daphne vs uvicorn")
        up, port = start_paced_upstream(chunks, gap, stamp=True)
        rp, rp_port = start_nginx_reverse_proxy(port)
        try:
            body = fixtures.openai_request(stream=True)
            url = f"http://127.0.0.1:{port}/v1"
            direct = {c: self.load_stream("ttft", "direct", f"{url}/chat/completions", body, None, conc=c,
                                          duration=self.dur) for c in (1, 10)}
            for c in (1, 10):
                self.added(self.load_stream("ttft", "nginx-reverse-proxy", f"http://127.0.0.1:{rp_port}/v1/chat/completions",
                                            body, rp.pid, conc=c, duration=self.dur, server="nginx"), direct[c])
            for server in ("daphne", "uvicorn"):
                with Proxy(url, server=server) as px:
                    streamclient(px.url, body, conc=2, duration=1)
                    for c in (1, 10):
                        r = self.load_stream("ttft", f"proxy-{server}", px.url, body, px.pid, conc=c,
                                             duration=self.dur, server=server)
                        self.added(r, direct[c])
        finally:
            stop(rp)
            stop(up)

    def s_slow(self) -> None:
        n, secs = self.slow_streams, self.slow_seconds
        chunks = 30 if not self.a.quick else 10
        gap = secs / chunks
        ramp = 5.0 if not self.a.quick else 2.0
        log(f"scenario slow: {n} concurrent streams of {chunks} chunks, {gap:.2f}s apart (~{secs}s each), "
            f"opened over {ramp}s")
        up, port = start_paced_upstream(chunks, gap)
        try:
            body = fixtures.openai_request(stream=True)
            name = f"slow-{n}x{secs}s"
            with Meter(up.pid) as um:
                d = self.load_stream(name, "direct", f"http://127.0.0.1:{port}/v1/chat/completions", body, None,
                                     streams=n, ramp=ramp)
            d["upstream_cpu_s"] = um.cpu
            d["upstream_rss_peak_mb"] = um.peak / 2**20
            with Proxy(f"http://127.0.0.1:{port}/v1") as px:
                idle = px.rss()
                err = self.validate(px.url, fixtures.openai_request(), "fixed benchmark answer")
                if err:
                    raise RuntimeError(f"proxy: {err}")
                p = self.load_stream(name, "proxy-daphne", px.url, body, px.pid, streams=n, ramp=ramp,
                                     server="daphne")
                p["rss_idle_mb"] = idle / 2**20
                p["rss_per_stream_kb"] = (p["rss_peak_mb"] - p["rss_idle_mb"]) * 1024 / n
                self.added(p, d)
        finally:
            stop(up)

    @staticmethod
    def interleaved(rounds: int, labels: list[str], measure: Callable[[str, int], dict]) -> dict[str, list[dict]]:
        """``measure(label, round)`` once per label and round, the order alternating between rounds,
        so drift in this machine's speed hits all alike. Many short rounds rather than a few long
        ones: the speed drifts within seconds. Returns label -> the rounds' rows."""
        out: dict[str, list[dict]] = {label: [] for label in labels}
        for i in range(rounds):
            for label in labels if i % 2 == 0 else labels[::-1]:
                out[label].append(measure(label, i + 1))
        return out

    def ab_summary(self, scenario: str, conc: int, kind: str, runs: dict[str, list[dict]], a: str, b: str) -> None:
        """Record and log how ``a`` compares with ``b`` over interleaved rounds: the median of the
        per-round throughput ratios a/b and of the per-round CPU-per-request differences a − b."""
        pairs = list(zip(runs[a], runs[b], strict=True))
        ratios = [x["rps"] / y["rps"] for x, y in pairs if y["rps"]]
        cpu = [(x.get("cpu_ms_per_req") or 0) - (y.get("cpu_ms_per_req") or 0) for x, y in pairs]
        summary = self.record(
            scenario=f"{scenario}-summary", concurrency=conc, kind=kind, rounds=len(pairs), a=a, b=b,
            rps_a_median=statistics.median(r["rps"] for r in runs[a]),
            rps_b_median=statistics.median(r["rps"] for r in runs[b]),
            rps_ratio=statistics.median(ratios) if ratios else None, rps_ratios=ratios,
            cpu_ms_a_minus_b=statistics.median(cpu),
        )
        log(f"  {scenario} {kind} c={conc}: {a}/{b} req/s ratio median {fmt(summary['rps_ratio'], '.3f')} "
            f"(rounds {', '.join(f'{x:.3f}' for x in ratios)}), CPU {a} − {b} {summary['cpu_ms_a_minus_b']:+.3f} ms/req")

    def s_translation(self) -> None:
        rounds = 5 if self.a.quick else 9
        log(f"scenario translation: OpenAI client -> Anthropic backend vs OpenAI backend (non-stream and stream), "
            f"{rounds} interleaved rounds")
        bodies = {"proxy-openai->anthropic": fixtures.openai_request(model=f"anthropic:{fixtures.ANTHROPIC_MODEL}"),
                  "proxy-same-protocol": fixtures.openai_request(model=f"openai:{fixtures.MODEL}")}
        labels = list(bodies)
        with Proxy(self.nginx_base) as px:
            err = self.validate(px.url, bodies[labels[0]], "messages API")
            if err:
                msg = f"translation skipped: model=anthropic:... returned {err[:200]}"
                log("  " + msg)
                self.skipped.append(msg)
                return
            for body in bodies.values():
                wrk(px.url, body, 10, 2)
            for c in (10, 100):
                runs = self.interleaved(rounds, labels, lambda label, i, c=c: self.load_wrk(
                    "translation", label, px.url, bodies[label], c, px.pid, duration=3, server="daphne", round=i))
                self.ab_summary("translation", c, "non-stream", runs, *labels)
        streams = {label: {**body, "stream": True} for label, body in bodies.items()}
        with Proxy(self.nginx_sse_base) as px:
            err = self.validate(px.url, {**streams[labels[0]], "max_tokens": 64}, "messages")
            if err:
                self.skipped.append(f"streaming translation skipped: {err[:200]}")
                return
            runs = self.interleaved(rounds, labels, lambda label, i: self.load_stream(
                "translation-stream", label, px.url, streams[label], px.pid, conc=10, duration=3, round=i))
            self.ab_summary("translation", 10, "stream", runs, *labels)

    def s_usage(self) -> None:
        rounds = 5 if self.a.quick else 15
        log(f"scenario usage: USAGE_RECORDING_ENABLED=true vs false (non-stream, daphne), {rounds} interleaved rounds")
        # Both proxies run side by side and take turns; the verdict is the median of the per-round ratios.
        body = fixtures.openai_request()
        with Proxy(self.nginx_base, usage=True) as on_px, Proxy(self.nginx_base, usage=False) as off_px:
            proxies = {"proxy-usage-on": on_px, "proxy-usage-off": off_px}
            for px in proxies.values():
                wrk(px.url, body, 10, 2)
            for c in (10, 100):
                runs = self.interleaved(rounds, list(proxies), lambda label, i, c=c: self.load_wrk(
                    "usage", label, proxies[label].url, body, c, proxies[label].pid, duration=3,
                    usage=proxies[label].usage, server="daphne", round=i))
                self.ab_summary("usage", c, "non-stream", runs, *proxies)

    def s_servers(self) -> None:
        log("scenario servers: daphne and uvicorn, one and two workers (non-stream c1/c10/c100, stream c1/c100)")
        try:
            chk = subprocess.run([str(PY), "-c", "import uvicorn"], capture_output=True)
            if chk.returncode:
                raise RuntimeError("uvicorn not installed in the venv")
        except Exception as exc:  # noqa: BLE001
            self.skipped.append(f"servers: {exc}")
            return
        body = fixtures.openai_request()
        sbody = fixtures.openai_request(stream=True)
        for server, workers in (("daphne", 1), ("daphne", 2), ("uvicorn", 1), ("uvicorn", 2)):
            label = server if workers == 1 else f"{server}x{workers}"
            with Proxy(self.nginx_base, server=server, workers=workers) as px:
                err = self.validate(px.url, body, "fixed benchmark answer")
                if err:
                    self.skipped.append(f"servers {label}: {err[:200]}")
                    continue
                wrk(px.url, body, 10, 2)
                rss_idle = px.rss()
                for c in (1, 10, 100):
                    r = self.load_wrk("servers", f"proxy-{label}", px.url, body, c, px.pid, server=label)
                    r["rss_idle_mb"] = rss_idle / 2**20
                    self.added(r, self.find(scenario="nonstream", target="direct", concurrency=c))
            # streams need the SSE upstream: a second short start
            with Proxy(self.nginx_sse_base, server=server, workers=workers) as px:
                streamclient(px.url, sbody, conc=10, duration=1)
                for c in (1, 100):
                    r = self.load_stream("servers-stream", f"proxy-{label}", px.url, sbody, px.pid, conc=c,
                                         duration=self.dur, server=label)
                    self.added(r, self.find(scenario="stream", target="direct", concurrency=c))
        base = {c: self.find(scenario="servers", target="proxy-daphne", concurrency=c) for c in (1, 10, 100)}
        for r in self.results:
            if r["scenario"] == "servers" and base.get(r["concurrency"]):
                r["rps_ratio_vs_daphne"] = r["rps"] / base[r["concurrency"]]["rps"]
        sbase = {c: self.find(scenario="servers-stream", target="proxy-daphne", concurrency=c) for c in (1, 100)}
        for r in self.results:
            if r["scenario"] == "servers-stream" and sbase.get(r["concurrency"]):
                r["rps_ratio_vs_daphne"] = r["rps"] / sbase[r["concurrency"]]["rps"]

    def s_soak(self) -> None:
        n, every = self.soak_requests, self.soak_interval
        cap = 90 if self.a.quick else 300
        log(f"scenario soak: {n} non-stream requests at c=10 (time cap {cap}s), RSS every {every}s")
        body = fixtures.openai_request()
        with Proxy(self.nginx_base) as px:
            wrk(px.url, body, 10, 2)
            samples: list[tuple[float, float]] = []
            stop_ev = threading.Event()
            t0 = time.time()

            def sampler() -> None:
                while True:
                    samples.append((round(time.time() - t0, 1), px.rss() / 2**20))
                    if stop_ev.wait(every):
                        break

            th = threading.Thread(target=sampler, daemon=True)
            th.start()
            cpu0 = cpu_seconds(tree_pids(px.pid))
            try:
                r = wrk(px.url, body, 10, cap, limit=n)
            finally:
                stop_ev.set()
                th.join()
            samples.append((round(time.time() - t0, 1), px.rss() / 2**20))
            cpu = cpu_seconds(tree_pids(px.pid)) - cpu0
            # drift: last sample vs the first sample after 10% of the run (connection pools and caches warm)
            ref = next((s for s in samples if s[0] >= samples[-1][0] * 0.1), samples[0])
            drift = (samples[-1][1] - ref[1]) / ref[1] * 100 if ref[1] else None
            rec = self.record(scenario="soak", target="proxy-daphne", concurrency=10, kind="non-stream", **r,
                              rss_samples=samples, rss_ref_mb=ref[1], rss_end_mb=samples[-1][1],
                              rss_peak_mb=max(s[1] for s in samples), rss_drift_pct=drift,
                              cpu_s=cpu, cpu_ms_per_req=cpu / r["requests"] * 1000 if r["requests"] else None)
            log(f"  soak: {r['requests']} requests in {r['wall_s']:.0f}s ({r['rps']:.0f} req/s), "
                f"RSS {ref[1]:.1f} -> {samples[-1][1]:.1f} MB, drift {drift:+.2f}%  errors {r['errors']}")
            return rec

    # ------------------------------------------------------------ LiteLLM

    def litellm(self) -> None:
        venv = Path("/tmp/litellm-venv")
        exe = venv / "bin" / "litellm"
        if not exe.exists():
            log("litellm: installing litellm[proxy] into /tmp/litellm-venv (one-off)")
            try:
                subprocess.run([sys.executable if not PY.exists() else "python3", "-m", "venv", str(venv)],
                               check=True, capture_output=True, timeout=120)
                r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"],
                                   capture_output=True, text=True, timeout=600)
                if r.returncode != 0:
                    raise RuntimeError(r.stderr[-500:])
            except Exception as exc:  # noqa: BLE001
                msg = f"litellm: install failed, comparison skipped: {exc}"
                log(msg)
                self.skipped.append(msg)
                return
        port = free_port()
        cfg = TMP / "litellm.yaml"
        cfg.write_text(
            "model_list:\n"
            f"  - model_name: {fixtures.MODEL}\n"
            "    litellm_params:\n"
            f"      model: openai/{fixtures.MODEL}\n"
            f"      api_base: {self.nginx_base}\n"
            "      api_key: sk-bench\n"
            "general_settings:\n"
            f"  master_key: sk-{PROXY_KEY}\n"
            "litellm_settings:\n"
            "  set_verbose: false\n"
            "  telemetry: false\n"
        )
        env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "true"}
        env.pop("DATABASE_URL", None)
        p = spawn([str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                  "litellm", env=env)
        try:
            try:
                wait_http(f"http://127.0.0.1:{port}/health/liveliness", p, 120)
            except RuntimeError as exc:
                msg = f"litellm: did not start ({exc}); see {TMP}/litellm.log"
                log(msg)
                self.skipped.append(msg)
                return
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            key = f"sk-{PROXY_KEY}"
            body = fixtures.openai_request()
            st, text = post(url, body, key=key)
            if st != 200:
                msg = f"litellm: benchmark request failed: HTTP {st} {text[:200]}"
                log(msg)
                self.skipped.append(msg)
                return
            self.extra["litellm_version"] = subprocess.run(
                [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m;print(m.version('litellm'))"],
                capture_output=True, text=True).stdout.strip()
            wrk(url, body, 10, 2, key=key)
            for c in (1, 10, 100):
                r = self.load_wrk("litellm", "litellm", url, body, c, p.pid, key=key)
                self.added(r, self.find(scenario="nonstream", target="direct", concurrency=c))
                ours = self.find(scenario="nonstream", target="proxy-daphne", concurrency=c)
                if ours:
                    ours["rps_ratio_vs_litellm"] = ours["rps"] / r["rps"] if r["rps"] else None
                    r["proxy_rps"] = ours["rps"]
                    r["proxy_p50_ms"] = ours["p50_ms"]
        finally:
            stop(p)

    # ------------------------------------------------------------ profile

    def profile(self) -> None:
        spy = ROOT / ".venv" / "bin" / "py-spy"
        if not spy.exists():
            self.skipped.append("profile: py-spy not installed (.venv/bin/pip install py-spy)")
            return
        for kind, base, body in (("", self.nginx_base, fixtures.openai_request()),
                                 ("-stream", self.nginx_sse_base, fixtures.openai_request(stream=True))):
            log(f"profile{kind}: py-spy record 20 s of the proxy (daphne) under c=100 {kind[1:] or 'non-stream'} load")
            with Proxy(base) as px:
                out_svg = RESULTS / f"profile{kind}.svg"
                out_raw = RESULTS / f"profile{kind}.collapsed.txt"
                recs = [spawn([str(spy), "record", "-o", str(out), "--pid", str(px.pid), "--duration", "20",
                               "--rate", "200", "--nonblocking"] + fmt_args, f"py-spy{kind}-{i}")
                        for i, (out, fmt_args) in enumerate(((out_svg, []), (out_raw, ["--format", "raw"])))]
                time.sleep(1)
                if kind:
                    streamclient(px.url, body, conc=100, duration=22)
                else:
                    wrk(px.url, body, 100, 22)
                for r in recs:
                    r.wait(60)
                log(f"  wrote {out_svg} and {out_raw}")

    # ------------------------------------------------------------ main

    def run(self) -> None:
        log(f"temp dir {TMP}; quick={self.a.quick}")
        ng, self.nginx_port = start_nginx(self.chunks)
        self.nginx_base = f"http://127.0.0.1:{self.nginx_port}/v1"
        self.nginx_sse_base = f"http://127.0.0.1:{self.nginx_port}/sse/v1"
        self.nginx_chat = self.nginx_base + "/chat/completions"
        self.nginx_sse_chat = self.nginx_sse_base + "/chat/completions"
        self.extra["nginx_pid"] = ng.pid
        wanted = self.a.scenarios
        t0 = time.time()
        for name in ALL_SCENARIOS:
            if name not in wanted:
                continue
            ts = time.time()
            try:
                getattr(self, f"s_{name}")()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001
                msg = f"{name}: failed: {type(exc).__name__}: {exc}"
                log("  " + msg)
                self.skipped.append(msg)
            log(f"  ({name} took {time.time() - ts:.0f}s)")
        # nginx's own CPU over the run: evidence it was not the bottleneck
        self.extra["nginx_cpu_s"] = cpu_seconds(tree_pids(ng.pid))
        if self.a.litellm:
            ts = time.time()
            try:
                self.litellm()
            except Exception as exc:  # noqa: BLE001
                self.skipped.append(f"litellm: failed: {exc}")
            log(f"  (litellm took {time.time() - ts:.0f}s)")
        if self.a.profile:
            try:
                self.profile()
            except Exception as exc:  # noqa: BLE001
                self.skipped.append(f"profile: failed: {exc}")
        self.extra["total_runtime_s"] = time.time() - t0
        stop(ng)


# ------------------------------------------------------------------ reporting


def machine_info() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    code = ("import json,sys,importlib.metadata as m\nout={'python':sys.version.split()[0]}\n"
            "for p in ['django','daphne','uvicorn','uvloop','httptools','httpx','aiohttp','twisted','channels','orjson']:\n"
            "  try: out[p]=m.version(p)\n  except Exception: out[p]=None\nprint(json.dumps(out))")
    pk = json.loads(subprocess.run([str(PY), "-c", code], capture_output=True, text=True).stdout)
    tools = {}
    for exe, arg in (("nginx", "-v"), ("wrk", "-v")):
        try:
            r = subprocess.run([exe, arg], capture_output=True, text=True, timeout=5)
            tools[exe] = (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            tools[exe] = None
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_total_gb": round(mem / 2**30, 1),
            "kernel": platform.release(), "python": pk.pop("python"), "packages": pk, "tools": tools,
            "git_commit": git}


def fmt(v, spec: str = ".1f") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def ab_row(r: dict) -> str:
    """A Markdown row for an ``ab_summary`` record."""
    return (f"| {r['kind']} | {r['concurrency']} | {r['rounds']} | {fmt(r['rps_a_median'], '.0f')} | "
            f"{fmt(r['rps_b_median'], '.0f')} | {fmt(r['rps_ratio'], '.3f')} | "
            f"{', '.join(f'{x:.3f}' for x in r['rps_ratios'])} | {r['cpu_ms_a_minus_b']:+.3f} |")


def markdown(report: dict) -> str:
    m, res = report["machine"], report["results"]
    L = [f"# Proxy benchmark results ({'quick' if report['args']['quick'] else 'full'} run)", "",
         f"Date: {report['date']} · commit {m['git_commit']} · runtime {report['extra'].get('total_runtime_s', 0):.0f}s",
         "",
         f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_gb']} GB RAM, kernel {m['kernel']}, "
         f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v) + "; "
         + ", ".join(v for v in m["tools"].values() if v) + ".", "",
         "Everything runs on the same machine and shares its CPUs: wrk (1 thread), nginx (1 worker), the proxy, "
         "and for streams the asyncio client. *Added* = proxy minus direct-to-upstream under the same load "
         "in the same run. CPU ms/req and RSS are the proxy's process tree (all workers). *bg CPU %* is CPU "
         "used by processes outside the benchmark during that measurement (share of all CPUs): rows with a "
         "high value were disturbed by other work on the machine.", ""]

    def rows(scen: str) -> list[dict]:
        return [r for r in res if r["scenario"] == scen]

    ns = [r for r in rows("nonstream") if r["target"] == "proxy-daphne"]
    if ns:
        L += ["## Non-streaming (OpenAI → OpenAI, Daphne)", "",
              "| conc | direct req/s | proxy req/s | proxy/direct | direct p50 ms | proxy p50 ms | added p50 ms | added p99 ms | CPU ms/req | RSS peak / end MB | errors | bg CPU % |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in ns:
            L.append(f"| {r['concurrency']} | {fmt(r.get('direct_rps'), '.0f')} | {fmt(r['rps'], '.0f')} | "
                     f"{fmt(r.get('rps_ratio_vs_direct'), '.3f')} | {fmt(r.get('direct_p50_ms'), '.2f')} | "
                     f"{fmt(r['p50_ms'], '.2f')} | {fmt(r.get('added_p50_ms'), '.2f')} | {fmt(r.get('added_p99_ms'), '.2f')} | "
                     f"{fmt(r.get('cpu_ms_per_req'), '.2f')} | {fmt(r.get('rss_peak_mb'), '.0f')} / {fmt(r.get('rss_end_mb'), '.0f')} | {r['errors']} | {fmt(r.get('bg_cpu_pct'), '.0f')} |")
        L.append("")
    floor = [r for r in rows("nonstream") if r["target"] == "nginx-reverse-proxy"]
    if floor:
        L += ["### The floor: nginx as a reverse proxy making the same extra hop", "",
              "A second nginx process relaying to the upstream nginx over keep-alive connections, under the "
              "same load in the same run: what this machine charges any proxy, in C, for the extra hop "
              "(two more loopback writes, each waking another process).", "",
              "| conc | req/s | added p50 ms | added p99 ms | CPU ms/req | errors |",
              "|---:|---:|---:|---:|---:|---:|"]
        for r in floor:
            L.append(f"| {r['concurrency']} | {fmt(r['rps'], '.0f')} | {fmt(r.get('added_p50_ms'), '.3f')} | "
                     f"{fmt(r.get('added_p99_ms'), '.3f')} | {fmt(r.get('cpu_ms_per_req'), '.3f')} | {r['errors']} |")
        L.append("")
    st = [r for r in rows("stream") if r["target"] != "direct"]
    if st:
        L += ["## Streaming (20-chunk SSE from nginx, Daphne)", "",
              "| conc | direct streams/s | proxy streams/s | direct TTFT p50 ms | proxy TTFT p50 ms | TTFT overhead p50 / p99 ms | added total p50 ms | CPU ms/stream | RSS peak MB | errors | bg CPU % |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in st:
            L.append(f"| {r['concurrency']} | {fmt(r.get('direct_rps'), '.0f')} | {fmt(r['rps'], '.0f')} | "
                     f"{fmt(r.get('direct_ttft_p50_ms'), '.2f')} | {fmt(r['ttft_p50_ms'], '.2f')} | "
                     f"{fmt(r.get('ttft_overhead_p50_ms'), '.2f')} / {fmt(r.get('ttft_overhead_p99_ms'), '.2f')} | "
                     f"{fmt(r.get('added_p50_ms'), '.2f')} | {fmt(r.get('cpu_ms_per_req'), '.2f')} | "
                     f"{fmt(r.get('rss_peak_mb'), '.0f')} | {r['errors']} | {fmt(r.get('bg_cpu_pct'), '.0f')} |")
        L.append("")
    tt = rows("ttft")
    if tt:
        L += ["## Time to first token with paced tokens (10 chunks 20 ms apart)", "",
              "The upstream stamps each content chunk with its clock, which splits the time: *to upstream* is "
              "the request's way in (sent by the client → received by the upstream), *first* and *later relay* a "
              "token's way out (sent by the upstream → read by the client), all p50. nginx relaying the same "
              "streams (unbuffered) is the floor.", "",
              "| conc | target | TTFT p50 / p99 ms | TTFT overhead p50 / p99 ms | to upstream ms | first relay ms | later relay ms | CPU ms/stream | errors | bg CPU % |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in tt:
            L.append(f"| {r['concurrency']} | {r.get('server') or r['target']} | "
                     f"{fmt(r['ttft_p50_ms'], '.2f')} / {fmt(r['ttft_p99_ms'], '.2f')} | "
                     f"{fmt(r.get('ttft_overhead_p50_ms'), '.2f')} / {fmt(r.get('ttft_overhead_p99_ms'), '.2f')} | "
                     f"{fmt(r.get('to_upstream_p50_ms'), '.2f')} | {fmt(r.get('first_relay_p50_ms'), '.2f')} | "
                     f"{fmt(r.get('later_relay_p50_ms'), '.2f')} | "
                     f"{fmt(r.get('cpu_ms_per_req'), '.2f')} | {r['errors']} | {fmt(r.get('bg_cpu_pct'), '.0f')} |")
        L.append("")
    sl = [r for r in res if r["scenario"].startswith("slow-")]
    if sl:
        L += ["## Concurrent slow streams (paced asyncio upstream)", "",
              "| run | streams ok / err | first event p50 ms | TTFT p50 / p99 ms | stream duration p50 / p99 s | proxy RSS idle → peak → end MB | RSS per stream KB | proxy (or upstream) CPU s | client CPU s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sl:
            L.append(f"| {r['scenario']} {r['target']} | {r['requests']} / {r['errors']} | "
                     f"{fmt(r.get('first_event_p50_ms'), '.1f')} | "
                     f"{fmt(r['ttft_p50_ms'], '.1f')} / {fmt(r['ttft_p99_ms'], '.1f')} | "
                     f"{r['p50_ms'] / 1000:.2f} / {r['p99_ms'] / 1000:.2f} | "
                     f"{fmt(r.get('rss_idle_mb'), '.0f')} → {fmt(r.get('rss_peak_mb'), '.0f')} → {fmt(r.get('rss_end_mb'), '.0f')} | "
                     f"{fmt(r.get('rss_per_stream_kb'), '.0f')} | {fmt(r.get('cpu_s', r.get('upstream_cpu_s')), '.1f')} | {fmt(r['client_cpu_s'], '.1f')} |")
        L.append("")
    tr = rows("translation-summary")
    if tr:
        L += ["## Translation: OpenAI client → Anthropic backend vs same protocol (Daphne; interleaved rounds)", "",
              "| mode | conc | rounds | req/s translated (median) | req/s same protocol (median) | translated/same (median of rounds) | per-round ratios | CPU translated − same ms/req |",
              "|---|---:|---:|---:|---:|---:|---|---:|"]
        L += [ab_row(r) for r in tr] + [""]
    us = rows("usage-summary")
    if us:
        L += ["## Usage recording on vs off (non-stream, Daphne; both proxies up, interleaved rounds)", "",
              "| mode | conc | rounds | req/s on (median) | req/s off (median) | on/off (median of rounds) | per-round ratios | CPU on − off ms/req |",
              "|---|---:|---:|---:|---:|---:|---|---:|"]
        L += [ab_row(r) for r in us] + [""]
    sv = rows("servers") + rows("servers-stream")
    if sv:
        L += ["## ASGI servers (non-stream and 20-chunk stream)", "",
              "| mode | conc | server | req/s | ratio vs Daphne | p50 ms | added p50 ms | p99 ms | TTFT p50 ms | CPU ms/req | RSS idle / peak MB | bg CPU % |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sv:
            L.append(f"| {r['kind']} | {r['concurrency']} | {r['server']} | {fmt(r['rps'], '.0f')} | {fmt(r.get('rps_ratio_vs_daphne'), '.3f')} | "
                     f"{fmt(r['p50_ms'], '.2f')} | {fmt(r.get('added_p50_ms'), '.2f')} | {fmt(r['p99_ms'], '.2f')} | "
                     f"{fmt(r.get('ttft_p50_ms'), '.2f')} | {fmt(r.get('cpu_ms_per_req'), '.2f')} | "
                     f"{fmt(r.get('rss_idle_mb'), '.0f')} / {fmt(r.get('rss_peak_mb'), '.0f')} | {fmt(r.get('bg_cpu_pct'), '.0f')} |")
        L.append("")
    lt = rows("litellm")
    if lt:
        L += [f"## LiteLLM proxy {report['extra'].get('litellm_version', '')} (same upstream, non-stream, 1 worker)", "",
              "| conc | LiteLLM req/s | ours req/s (Daphne) | ours/LiteLLM | best of ours (server) | best/LiteLLM | LiteLLM p50 ms | ours p50 ms | LiteLLM added p50 ms | LiteLLM CPU ms/req | LiteLLM RSS peak MB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in lt:
            ratio = (r["proxy_rps"] / r["rps"]) if r.get("proxy_rps") and r["rps"] else None
            same_conc = [x for x in rows("servers") if x["concurrency"] == r["concurrency"]]
            best = max(same_conc, key=lambda x: x["rps"]) if same_conc else None
            best_ratio = (best["rps"] / r["rps"]) if best and r["rps"] else None
            best_cell = f"{fmt(best['rps'], '.0f')} ({best['server']})" if best else "–"
            L.append(f"| {r['concurrency']} | {fmt(r['rps'], '.0f')} | {fmt(r.get('proxy_rps'), '.0f')} | {fmt(ratio, '.2f')} | "
                     f"{best_cell} | {fmt(best_ratio, '.2f')} | "
                     f"{fmt(r['p50_ms'], '.2f')} | {fmt(r.get('proxy_p50_ms'), '.2f')} | {fmt(r.get('added_p50_ms'), '.2f')} | "
                     f"{fmt(r.get('cpu_ms_per_req'), '.2f')} | {fmt(r.get('rss_peak_mb'), '.0f')} |")
        L.append("")
    sk = rows("soak")
    if sk:
        r = sk[0]
        L += ["## Memory soak (non-stream, c=10, Daphne)", "",
              f"{r['requests']} requests in {r['wall_s']:.0f}s ({r['rps']:.0f} req/s, {r['errors']} errors); "
              f"RSS {r['rss_ref_mb']:.1f} MB (after 10% of the run) → {r['rss_end_mb']:.1f} MB at the end, "
              f"peak {r['rss_peak_mb']:.1f} MB: **drift {fmt(r['rss_drift_pct'], '+.2f')}%**; "
              f"CPU {fmt(r.get('cpu_ms_per_req'), '.2f')} ms/req.", "",
              "RSS samples (s, MB): " + ", ".join(f"{t:.0f}:{v:.1f}" for t, v in r["rss_samples"]), ""]
    ex = report["extra"]
    L += ["## Other", "",
          f"- proxy start-up to healthy: {fmt(ex.get('proxy_startup_s'), '.1f')} s; idle RSS {fmt(ex.get('proxy_idle_rss_mb'), '.0f')} MB",
          f"- nginx (upstream) CPU over the whole run: {fmt(ex.get('nginx_cpu_s'), '.1f')} s"]
    for s in report["skipped"]:
        L.append(f"- skipped / failed: {s}")
    L.append("")
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short loads (4 s), 200x5 s slow streams, 10k soak")
    ap.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                    help=f"comma-separated subset of {','.join(ALL_SCENARIOS)} (default: all)")
    ap.add_argument("--litellm", action="store_true", help="also benchmark LiteLLM's proxy (installed to /tmp/litellm-venv)")
    ap.add_argument("--profile", action="store_true", help="also record a py-spy profile (bench/results/profile.*)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    a = ap.parse_args()
    a.scenarios = [s.strip() for s in a.scenarios.replace(" ", ",").split(",") if s.strip()]
    bad = [s for s in a.scenarios if s not in ALL_SCENARIOS]
    if bad:
        ap.error(f"unknown scenarios {bad}; choose from {ALL_SCENARIOS}")
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    except (ValueError, OSError):
        pass
    RESULTS.mkdir(exist_ok=True)
    b = Bench(a)
    started = dt.datetime.now(dt.UTC)
    try:
        b.run()
    except KeyboardInterrupt:
        log("interrupted: writing partial results")
        b.skipped.append("run interrupted")
    finally:
        cleanup()
    report = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "args": vars(a), "machine": machine_info(),
              "extra": b.extra, "skipped": b.skipped, "results": b.results}
    md = markdown(report)
    print()
    print(md)
    if not a.no_save:
        stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if a.quick else "")
        for name in ("latest", stamp):
            (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
            (RESULTS / f"{name}.md").write_text(md)
        log(f"wrote {RESULTS / 'latest.json'}, {RESULTS / 'latest.md'} and {stamp}.*")
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
