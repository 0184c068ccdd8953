"""Drive the real agentic CLIs (Claude Code, Codex CLI, Gemini CLI) against the proxy.

* ``install()`` puts the versions pinned in ``package-lock.json`` (``npm ci``) into a cache directory
  keyed by the lock file's hash (``$XDG_CACHE_HOME/llmproxy-clients/<sha>``, else ``~/.cache/…``) and
  reuses it; ``install(latest=True)`` installs the newest published versions into their own directory.
* ``Relay`` is a recording HTTP relay on loopback between a CLI and the proxy: every request the CLI
  sent (method, path and query, headers, body) and the proxy's answer (status, head of the body).
* ``run_cli()`` runs one CLI non-interactively in a fresh HOME and work directory with a minimal
  environment (never the developer's), bounded by a timeout that kills its whole process group.
* ``Scrubber`` makes recorded traffic fit to commit: keys, ids and temporary paths become placeholders,
  everything else is kept as sent; ``write_recording()`` writes it as fixtures.

``python -m tests.clients.harness install [--latest]`` installs and prints the install directory;
``python -m tests.clients.harness diff <pinned fixtures dir> <latest fixtures dir>`` compares the
shape of two recordings (see ``scripts/test-clients --latest``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE_JSON = HERE / "package.json"
LOCK_FILE = HERE / "package-lock.json"
FIXTURES = HERE / "fixtures"

CLIENTS = ("claude", "codex", "gemini")
PACKAGES = {"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex", "gemini": "@google/gemini-cli"}
MIN_NODE = 20  # Gemini CLI's engines field
CLI_TIMEOUT = float(os.environ.get("CLIENT_CLI_TIMEOUT", "90"))
NPM_TIMEOUT = 900

# The model name Codex is configured with. A bare name goes to the proxy's LLM_BACKEND, which the test
# chooses per cell. Claude Code's and Gemini CLI's own defaults are kept on purpose: Claude Code sends
# mid-conversation system messages for its default model, and Gemini CLI's default ("auto") first asks
# a small model to route the task, with a responseJsonSchema.
CODEX_MODEL = "gpt-5.1-codex"
# The proxy seals other providers' reasoning state into Codex's encrypted_content (proxy_app.chat.reasoning_seal)
# under REASONING_SEAL_KEY: one fixed key for recording and for replaying the fixtures, whatever the
# machine's DJANGO_SECRET_KEY.
SEAL_KEY = "llmproxy-client-fixtures-reasoning-seal-key"


class ClientsUnavailable(RuntimeError):
    """Node, npm or a CLI is missing or could not be installed."""


# ---------------------------------------------------------------- installing


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmproxy-clients"


def lock_hash() -> str:
    digest = hashlib.sha256()
    for path in (PACKAGE_JSON, LOCK_FILE):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pinned_versions() -> dict[str, str]:
    deps = json.loads(PACKAGE_JSON.read_text())["dependencies"]
    return {client: deps[PACKAGES[client]] for client in CLIENTS}


def node_binary() -> str:
    node = shutil.which("node")
    if not node:
        raise ClientsUnavailable("node is not installed (the client suite needs Node.js >= 20 and npm)")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = int(re.match(r"v(\d+)", out).group(1)) if re.match(r"v(\d+)", out) else 0
    if major < MIN_NODE:
        raise ClientsUnavailable(f"node {out} is too old: the client suite needs Node.js >= {MIN_NODE}")
    return node


def npm_binary() -> str:
    npm = shutil.which("npm")
    if not npm:
        raise ClientsUnavailable("npm is not installed (the client suite needs Node.js >= 20 and npm)")
    return npm


@dataclass(frozen=True)
class Install:
    """An installed set of the three CLIs."""

    root: Path  # holds package.json, package-lock.json and node_modules
    versions: dict[str, str]
    label: str  # "pinned" or "latest"

    @property
    def modules(self) -> Path:
        return self.root / "node_modules"

    def argv(self, client: str) -> list[str]:
        """The command that starts ``client`` (its real binary, not npm's shims)."""
        if client == "claude":
            return [str(claude_binary(self.modules))]
        node = node_binary()
        if client == "codex":
            return [node, str(self.modules / "@openai/codex/bin/codex.js")]
        if client == "gemini":
            return [node, str(self.modules / "@google/gemini-cli/bundle/gemini.js")]
        raise KeyError(client)

    def check(self) -> None:
        for client in CLIENTS:
            for part in self.argv(client):
                if part.startswith("/") and not Path(part).exists():
                    raise ClientsUnavailable(f"{client}: {part} is missing in {self.root}")


def is_musl() -> bool:
    libc, _ = platform.libc_ver()
    if libc == "glibc":
        return False
    return any(Path("/lib").glob("ld-musl-*")) or libc == "musl"


def claude_binary(modules: Path) -> Path:
    """Claude Code's native executable: its platform package's file (npm ran no install script that
    would have copied it over the wrapper's ``bin/claude.exe`` placeholder)."""
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    suffix = "-musl" if system == "linux" and is_musl() else ""
    name = "claude.exe" if system == "win32" else "claude"
    candidate = modules / f"@anthropic-ai/claude-code-{system}-{arch}{suffix}" / name
    if candidate.exists():
        return candidate
    raise ClientsUnavailable(f"Claude Code has no native binary for {system}-{arch}{suffix} in {modules}")


def _installed(root: Path, label: str) -> Install | None:
    marker = root / ".installed.json"
    if not marker.exists():
        return None
    install = Install(root, json.loads(marker.read_text()), label)
    try:
        install.check()
    except ClientsUnavailable:
        return None
    return install


def _read_versions(modules: Path) -> dict[str, str]:
    return {client: json.loads((modules / PACKAGES[client] / "package.json").read_text())["version"]
            for client in CLIENTS}


def _npm(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false",
           "npm_config_audit": "false"}
    proc = subprocess.run([npm_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=NPM_TIMEOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ClientsUnavailable(f"npm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                                 f"{proc.stderr[-3000:]}")


def _install_into(target: Path, label: str, prepare: Any) -> Install:
    """Install into a scratch directory beside ``target`` and rename it into place (a concurrent or
    interrupted install never leaves a half-filled ``target``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        prepare(scratch)
        versions = _read_versions(scratch / "node_modules")
        (scratch / ".installed.json").write_text(json.dumps(versions, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)  # a broken earlier install (no marker or a missing binary)
        try:
            scratch.rename(target)
        except OSError:
            if (done := _installed(target, label)) is not None:
                return done  # another process finished first
            raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    install = Install(target, versions, label)
    install.check()
    return install


def install(*, latest: bool = False, log: Any = None) -> Install:
    """The pinned CLIs (or the newest published ones), installed once and reused."""
    say = log or (lambda msg: print(msg, file=sys.stderr))
    node_binary()
    if not latest:
        target = cache_root() / lock_hash()
        if (done := _installed(target, "pinned")) is not None:
            return done

        def prepare(scratch: Path) -> None:
            shutil.copy(PACKAGE_JSON, scratch / "package.json")
            shutil.copy(LOCK_FILE, scratch / "package-lock.json")
            _npm(["ci", "--no-audit", "--no-fund"], scratch)

        say(f"installing the pinned CLIs ({', '.join(f'{k} {v}' for k, v in pinned_versions().items())}) "
            f"into {target}")
        return _install_into(target, "pinned", prepare)

    newest = {}
    for client in CLIENTS:
        proc = subprocess.run([npm_binary(), "view", PACKAGES[client], "version"], capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise ClientsUnavailable(f"npm view {PACKAGES[client]} version failed: {proc.stderr[-1000:]}")
        newest[client] = proc.stdout.strip().splitlines()[-1].strip().strip("'")
    if newest == pinned_versions() and (done := _installed(cache_root() / lock_hash(), "latest")) is not None:
        return done  # the pinned versions are the newest: no second copy
    key = hashlib.sha256(json.dumps(newest, sort_keys=True).encode()).hexdigest()[:16]
    target = cache_root() / f"latest-{key}"
    if (done := _installed(target, "latest")) is not None:
        return done

    def prepare_latest(scratch: Path) -> None:
        manifest = json.loads(PACKAGE_JSON.read_text())
        manifest["dependencies"] = {PACKAGES[c]: newest[c] for c in CLIENTS}
        (scratch / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _npm(["install", "--no-audit", "--no-fund"], scratch)

    say(f"installing the newest CLIs ({', '.join(f'{k} {v}' for k, v in newest.items())}) into {target}")
    return _install_into(target, "latest", prepare_latest)


# ---------------------------------------------------------------- the recording relay


HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
                        "trailer", "host", "content-length"})
RESPONSE_KEPT = 4000  # characters of each answer kept for failure reports


@dataclass
class Exchange:
    """One request a CLI sent and what the proxy answered."""

    method: str
    path: str  # path and query, as sent
    headers: list[tuple[str, str]]  # in the order sent, names as sent
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_head: str = ""  # the beginning of the answer (decoded)
    error: str = ""  # the proxy could not be reached, or its answer broke off
    client_left: bool = False  # the CLI closed the connection before the end of the answer

    def json(self) -> Any:
        raw = decode_body(self.body, dict((k.lower(), v) for k, v in self.headers).get("content-encoding", ""))
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def summary(self) -> str:
        body = self.json()
        shown = json.dumps(body)[:1500] if body is not None else ""
        return (f"{self.method} {self.path} -> {self.status or self.error}\n  request: {shown}\n"
                f"  answer: {self.response_head[:1500]}")


def decode_body(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not body or not encoding or encoding == "identity":
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "zstd":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            return body
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


class Relay:
    """A loopback HTTP relay in front of ``upstream`` that records every exchange."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None
        self._session: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Relay:
        import aiohttp
        from aiohttp import web

        from tests.fakes.server import serve_in_thread

        async def build() -> web.Application:
            self._session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handle)
            return app

        self.port, self._loop, self._runner = serve_in_thread(build, "the recording relay")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            await self._runner.cleanup()
            await self._session.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def clear(self) -> None:
        with self.lock:
            self.exchanges.clear()

    def take(self) -> list[Exchange]:
        with self.lock:
            taken, self.exchanges = self.exchanges, []
        return taken

    async def _handle(self, request: Any) -> Any:
        import aiohttp
        from aiohttp import web

        body = await request.read()
        exchange = Exchange(request.method, request.path_qs,
                            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers], body)
        with self.lock:
            self.exchanges.append(exchange)
        headers = [(k, v) for k, v in exchange.headers if k.lower() not in HOP_BY_HOP]
        try:
            upstream = await self._session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                                   data=body or None, allow_redirects=False)
        except aiohttp.ClientError as exc:
            exchange.error = f"relay could not reach the proxy: {exc!r}"
            return web.Response(status=502, text=exchange.error)
        async with upstream:
            exchange.status = upstream.status
            exchange.response_headers = dict(upstream.headers)
            out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    out.headers.add(name, value)
            await out.prepare(request)
            kept = bytearray()
            try:
                async for chunk in upstream.content.iter_any():
                    if len(kept) < RESPONSE_KEPT * 4:
                        kept += chunk
                    if not exchange.client_left:
                        try:
                            await out.write(chunk)
                        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                            # a CLI may stop reading once it has what it needs (Codex after
                            # response.completed): not an error; the rest is still read for the record
                            exchange.client_left = True
                if not exchange.client_left:
                    with contextlib.suppress(ConnectionResetError, aiohttp.ClientConnectionResetError):
                        await out.write_eof()
            except aiohttp.ClientError as exc:
                exchange.error = f"the proxy's answer broke off: {exc!r}"
            finally:
                with contextlib.suppress(Exception):
                    raw = decode_body(bytes(kept), upstream.headers.get("content-encoding", ""))
                    exchange.response_head = raw.decode("utf-8", "replace")[:RESPONSE_KEPT]
            return out


# ---------------------------------------------------------------- running a CLI


@dataclass
class CliRun:
    client: str
    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool
    exchanges: list[Exchange]

    def report(self) -> str:
        lines = [f"{self.client} exited {self.returncode}{' (TIMED OUT, killed)' if self.timed_out else ''} "
                 f"after {self.seconds:.1f}s", f"--- stdout:\n{self.stdout[-3000:]}",
                 f"--- stderr:\n{self.stderr[-3000:]}", f"--- {len(self.exchanges)} request(s) to the proxy:"]
        lines += [ex.summary() for ex in self.exchanges[-8:]]
        return "\n".join(lines)


def base_env(home: Path) -> dict[str, str]:
    """A minimal environment: nothing of the developer's (HOME, config, keys, proxies) leaks in."""
    node_dir = str(Path(node_binary()).parent)
    path = ":".join(dict.fromkeys([node_dir, "/usr/local/bin", "/usr/bin", "/bin"]))
    tmp = home / "tmp"
    tmp.mkdir(exist_ok=True)
    return {"PATH": path, "HOME": str(home), "USER": "tester", "LOGNAME": "tester", "LANG": "C.UTF-8",
            "TERM": "dumb", "NO_COLOR": "1", "TMPDIR": str(tmp), "SHELL": "/bin/bash",
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_STATE_HOME": str(home / ".local/state")}


def prepare_client(client: str, home: Path, base_url: str, key: str) -> tuple[list[str], dict[str, str]]:
    """Write ``client``'s config into ``home``; its extra arguments and environment."""
    env = base_env(home)
    if client == "claude":
        env |= {"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_AUTH_TOKEN": key, "DISABLE_TELEMETRY": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
                "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_MAX_RETRIES": "0"}  # an error fails the run at once, not after backoff retries
        # acceptEdits: file edits in the work directory are allowed without a prompt (root may not
        # use --dangerously-skip-permissions)
        return ["--permission-mode", "acceptEdits"], env
    if client == "codex":
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(
            f'model = "{CODEX_MODEL}"\n'
            'model_provider = "proxy"\n'
            # what Codex sends for its own models (this name is unknown to it behind a custom provider,
            # where it would send no effort): reasoning round-trips as encrypted_content
            'model_reasoning_effort = "medium"\n'
            'check_for_update_on_startup = false\n'
            "\n[analytics]\nenabled = false\n"
            "\n[feedback]\nenabled = false\n"
            "\n[model_providers.proxy]\n"
            'name = "llm-interactive-proxy"\n'
            f'base_url = "{base_url}/v1"\n'
            'env_key = "LLM_PROXY_KEY"\n'
            'wire_api = "responses"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )
        env |= {"CODEX_HOME": str(codex_home), "LLM_PROXY_KEY": key}
        # no sandbox (the test's temporary work directory is the sandbox) and no approvals: no one answers
        return ["--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"], env
    if client == "gemini":
        settings_dir = home / ".gemini"
        settings_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            # maxAttempts 1: an error fails the run at once instead of after backoff retries
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False, "maxAttempts": 1},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
        }
        (settings_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
        env |= {"GOOGLE_GEMINI_BASE_URL": base_url, "GEMINI_API_KEY": key, "GEMINI_CLI_TRUST_WORKSPACE": "true"}
        return ["--approval-mode", "yolo"], env
    raise KeyError(client)


def command_for(install: Install, client: str, prompt: str, extra: list[str]) -> list[str]:
    if client == "codex":
        return [*install.argv(client), "exec", *extra, prompt]
    return [*install.argv(client), "-p", prompt, *extra]


def run_cli(install: Install, client: str, prompt: str, *, relay: Relay, key: str, home: Path, work: Path,
            timeout: float = CLI_TIMEOUT) -> CliRun:
    """Run ``client`` once on ``prompt`` in ``work``, talking to the proxy through ``relay``."""
    extra, env = prepare_client(client, home, relay.url, key)
    argv = command_for(install, client, prompt, extra)
    relay.clear()
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        stdout, stderr = proc.communicate()
    finally:
        kill_group(proc)  # helpers it left behind (MCP servers, shells)
    return CliRun(client, argv, None if timed_out else proc.returncode, stdout, stderr,
                  time.monotonic() - started, timed_out, relay.take())


def kill_group(proc: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------- scrubbing recorded traffic

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "proxy-authorization", "cookie"})
# (ids are often prefixed, as Codex's ``msg_<uuid>``: no word boundary before them)
UUID = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                  r"(?![0-9a-fA-F])")
HEX_ID = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{32,64}(?![0-9a-fA-F])")
# what changes on every run of the same task in a tool's output (Codex's exec_command header)
RUN_NOISE = [(re.compile(r"Chunk ID: [0-9a-f]+"), "Chunk ID: <chunk>"),
             (re.compile(r"Wall time: [0-9.]+ seconds"), "Wall time: <t> seconds")]
BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{24,}={0,2}$")
# Claude Code's `metadata.user_id` is a JSON string of its device, account and session ids
ID_KEYS = re.compile(r'("?(?:device_id|account_uuid|session_id|user_id|installation_id|conversation_id)'
                     r'"?\s*[:=]\s*\\?"?)([^"\\,}\s]+)')


class Scrubber:
    """Replaces secrets, ids and temporary paths with stable placeholders (numbered per recording)."""

    def __init__(self, *, secrets: list[str], paths: dict[str, str], ports: dict[int, str]) -> None:
        self.secrets = [s for s in secrets if s]
        # longest first: a work directory inside the home directory is replaced as a whole
        self.paths = sorted(paths.items(), key=lambda item: -len(item[0]))
        self.ports = ports
        self.ids: dict[str, str] = {}

    def _id(self, kind: str, value: str) -> str:
        key = value.lower()
        if key not in self.ids:
            self.ids[key] = f"<{kind}-{sum(1 for v in self.ids.values() if v.startswith(f'<{kind}-')) + 1}>"
        return self.ids[key]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, "<proxy-key>")
        for path, placeholder in self.paths:
            value = value.replace(path, placeholder)
        for port, placeholder in self.ports.items():
            value = value.replace(f"127.0.0.1:{port}", f"127.0.0.1:{placeholder}")
        for pattern, replacement in RUN_NOISE:
            value = pattern.sub(replacement, value)
        value = UUID.sub(lambda m: self._id("uuid", m.group(0)), value)
        value = HEX_ID.sub(lambda m: self._id("hex", m.group(0)), value)
        return ID_KEYS.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).startswith("<")
                                                   else self._id("id", m.group(2))), value)

    def opaque(self, value: str) -> str | None:
        """A base64 token (a thought or thinking signature the fake issued) with a temporary path inside,
        with the path replaced and encoded again; None for anything else."""
        if not BASE64.match(value):
            return None
        altchars = b"-_" if ("-" in value or "_" in value) else None
        try:
            raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=altchars, validate=True)
        except ValueError:
            return None
        changed = raw
        for path, placeholder in self.paths:
            changed = changed.replace(path.encode(), placeholder.encode())
        if changed == raw:
            return None
        encoded = base64.b64encode(changed, altchars=altchars).decode()
        return encoded if value.endswith("=") else encoded.rstrip("=")

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.opaque(value) or self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value

    def exchange(self, exchange: Exchange) -> dict[str, Any]:
        headers = []
        for name, value in exchange.headers:
            lower = name.lower()
            if lower in SECRET_HEADERS:
                value = "Bearer <proxy-key>" if lower == "authorization" and value.lower().startswith("bearer ") \
                    else "<proxy-key>"
            elif lower == "content-length":
                value = "<length>"
            headers.append([name, self.text(value)])
        path = re.sub(r"([?&]key=)[^&]*", r"\1<proxy-key>", exchange.path)
        return {"method": exchange.method, "path": self.text(path), "headers": headers,
                "body": self.value(exchange.json())}


# ---------------------------------------------------------------- fixtures


def fixture_dir(client: str, version: str, root: Path = FIXTURES) -> Path:
    return root / f"{client}-{version}"


def request_files(directory: Path) -> list[Path]:
    """The recorded requests of one client version (snapshots beside them are not requests)."""
    return sorted(p for p in directory.glob("*.json") if not p.name.endswith(".upstream.json"))


def run_scrubber(install: Install, proxy_key: str, proxy_url: str, relay: Relay, home: Path, work: Path) -> Scrubber:
    """What a CLI run's recording is scrubbed of: the proxy key, its directories and ports."""
    proxy_port = int(proxy_url.rsplit(":", 1)[1])
    paths = {str(work): "/work", str(home): "/home/tester", str(install.root): "/opt/llmproxy-clients",
             re.sub(r"[^A-Za-z0-9]", "-", str(work)): "-work"}  # Claude Code's project slug
    return Scrubber(secrets=[proxy_key], paths=paths, ports={relay.port: "<port>", proxy_port: "<port>"})


def write_recording(directory: Path, task: str, exchanges: list[Exchange], scrubber: Scrubber,
                    start: int) -> int:
    """Write each exchange as ``NN-<task>-<what>.json``; the next number."""
    directory.mkdir(parents=True, exist_ok=True)
    number = start
    for exchange in exchanges:
        what = short_name(exchange)
        path = directory / f"{number:02d}-{task}-{what}.json"
        path.write_text(json.dumps(scrubber.exchange(exchange), indent=1, ensure_ascii=False) + "\n")
        number += 1
    return number


def short_name(exchange: Exchange) -> str:
    path = exchange.path.split("?", 1)[0]
    if path.endswith("/messages/count_tokens"):
        return "count-tokens"
    if path.endswith("/messages"):
        return "messages"
    if path.endswith("/responses"):
        return "responses"
    if ":" in path.rsplit("/", 1)[-1]:
        return re.sub(r"[^a-z0-9]+", "-", path.rsplit(":", 1)[1].lower()).strip("-")
    tail = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return f"{exchange.method.lower()}-{tail[-40:] or 'root'}"


# ---------------------------------------------------------------- comparing two recordings


def shape_of(records: list[dict[str, Any]]) -> dict[str, set[str]]:
    """What a recording's requests are made of: endpoints, header names, anthropic-beta values, top-level
    body keys, and the shapes of messages/contents/input items and their content blocks."""
    shape: dict[str, set[str]] = {k: set() for k in ("endpoints", "headers", "anthropic-beta", "body keys",
                                                     "item shapes", "block shapes", "tool names")}
    for record in records:
        path = re.sub(r"/models/[^/:]+", "/models/{model}", record["path"].split("?", 1)[0])
        shape["endpoints"].add(f"{record['method']} {path}")
        for name, value in record["headers"]:
            shape["headers"].add(name.lower())
            if name.lower() == "anthropic-beta":
                shape["anthropic-beta"].update(v.strip() for v in value.split(","))
        body = record.get("body")
        if not isinstance(body, dict):
            continue
        shape["body keys"].update(body)
        items = body.get("messages") or body.get("contents") or body.get("input") or []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            kind = item.get("type") or item.get("role") or "?"
            shape["item shapes"].add(f"{kind}: {','.join(sorted(item))}")
            blocks = item.get("content") if "content" in item else item.get("parts")
            for block in blocks if isinstance(blocks, list) else []:
                if isinstance(block, dict):
                    shape["block shapes"].add(f"{block.get('type', 'part')}: {','.join(sorted(block))}")
        for tool in body.get("tools") or []:
            if isinstance(tool, dict):
                for decl in tool.get("functionDeclarations") or [tool]:
                    name = decl.get("name") or (decl.get("function") or {}).get("name") or decl.get("type")
                    if name:
                        shape["tool names"].add(str(name))
    return shape


def load_records(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in request_files(directory)]


def diff_shapes(old: dict[str, set[str]], new: dict[str, set[str]]) -> list[str]:
    lines = []
    for what in old:
        added, removed = sorted(new[what] - old[what]), sorted(old[what] - new[what])
        if added:
            lines.append(f"  {what} added: {', '.join(added)}")
        if removed:
            lines.append(f"  {what} gone: {', '.join(removed)}")
    return lines


def compare(pinned_root: Path, latest_root: Path) -> list[str]:
    out = []
    versions = pinned_versions()
    for client in CLIENTS:
        pinned = fixture_dir(client, versions[client], pinned_root)
        latest = sorted(d for d in latest_root.glob(f"{client}-*") if d.is_dir())
        if not request_files(pinned) or not latest:
            out.append(f"{client}: nothing to compare ({pinned.name} has {len(request_files(pinned))} requests, "
                       f"{len(latest)} recordings of newer versions)")
            continue
        old, new = shape_of(load_records(pinned)), shape_of(load_records(latest[-1]))
        changes = diff_shapes(old, new)
        head = f"{client}: {pinned.name} -> {latest[-1].name}"
        out.append(head + (":" if changes else ": no change in endpoints, headers, body keys or shapes"))
        out.extend(changes)
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        try:
            done = install(latest="--latest" in argv)
        except ClientsUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(done.root)
        for client, version in done.versions.items():
            print(f"  {client} {version}", file=sys.stderr)
        return 0
    if argv[:1] == ["diff"] and len(argv) == 3:
        for line in compare(Path(argv[1]), Path(argv[2])):
            print(line)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
