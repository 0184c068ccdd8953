"""A real nginx in front of proxy instances: loopback, its own prefix, config, pid and logs in a directory.

The configuration is the one ``docs/deploy.md`` recommends: streams pass unbuffered, a request is
tried on the next instance only when it could not be sent (never after an instance may have started
on it: an LLM call is not idempotent), and errors nginx itself answers (no instance reachable, an
instance gone mid-request) carry the client protocol's error JSON, so SDKs read and retry them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
UNAVAILABLE = "no proxy instance could answer; retry"

CONFIG = """\
daemon off;
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    # the error nginx answers itself, in the client protocol's shape (chosen by the path)
    map $uri $llmproxy_unavailable {{
        ~^/(anthropic/)?v1/messages '{{"type":"error","error":{{"type":"api_error","message":"{message}"}}}}';
        ~^/v1(beta)?/models/        '{{"error":{{"code":502,"message":"{message}","status":"UNAVAILABLE"}}}}';
        default '{{"error":{{"message":"{message}","type":"server_error","param":null,"code":"proxy_unavailable"}}}}';
    }}

    upstream llmproxy {{
{servers}
        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 20m;

        location / {{
            proxy_pass http://llmproxy;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
            proxy_next_upstream error timeout;
            add_header X-Upstream $upstream_addr always;
            error_page 502 504 = @unavailable;
        }}

        location @unavailable {{
            default_type application/json;
            add_header X-Upstream $upstream_addr always;
            return 502 $llmproxy_unavailable;
        }}
    }}
}}
"""


class Nginx:
    """``nginx`` as a foreground subprocess balancing over ``ports`` on 127.0.0.1."""

    def __init__(self, prefix: Path, ports: list[int]) -> None:
        assert NGINX is not None, "nginx is not installed"
        self.prefix = prefix
        self.port = free_port()
        prefix.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports)
        # as root the workers would run as "nobody" and could not write into a private temporary directory
        user = "user root;" if os.geteuid() == 0 else ""
        conf = prefix / "nginx.conf"
        conf.write_text(CONFIG.format(prefix=prefix, port=self.port, servers=servers, user=user,
                                      message=UNAVAILABLE))
        self.proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not become ready: {self.error_log()}")

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGQUIT: nginx's graceful shutdown."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
