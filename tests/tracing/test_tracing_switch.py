"""Tracing is off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` names a collector; the proxy's process never
imports the OpenTelemetry SDK (the exporter process does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys, django
django.setup()
import llmproxy_site.asgi, proxy_app.api.urls, proxy_app.chat.flow
from proxy_app.core import tracing
print(type(tracing.active).__name__, any(name.startswith("opentelemetry.sdk") for name in sys.modules))
"""


def started_proxy_reports(**env: str) -> str:
    """What a freshly set-up proxy process says of its tracing: the hook's type and whether the SDK is loaded."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment.update(LLM_PROXY_ENV_FILE=os.devnull, DJANGO_SETTINGS_MODULE="llmproxy_site.settings", **env)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_without_an_endpoint_tracing_is_off() -> None:
    assert started_proxy_reports() == "NoneType False"


def test_with_an_endpoint_tracing_is_on_and_the_sdk_stays_out_of_the_proxys_process() -> None:
    assert started_proxy_reports(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9") == "OtelTracing False"
