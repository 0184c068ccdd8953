"""PROXY_UPSTREAM_TRANSPORT picks the transport behind the seam; a wrong value says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from proxy_app.upstream import transports
from proxy_app.upstream.http1 import Http1Transport
from proxy_app.upstream.httpx_transport import HttpxTransport
from tests.upstream.conftest import TRANSPORTS


def test_the_default_is_the_own_transport(settings: Any) -> None:
    assert settings.PROXY_UPSTREAM_TRANSPORT == "own" and transports.selected() == "own"
    assert isinstance(transports.build_transport(None), Http1Transport)


@pytest.mark.parametrize("name", TRANSPORTS)
def test_each_name_builds_its_transport(name: str, settings: Any) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT = name
    built = transports.build_transport("http://corp-proxy:3128")
    if name == "aiohttp":
        from proxy_app.upstream.aiohttp_transport import AiohttpTransport

        assert isinstance(built, AiohttpTransport)
    else:
        assert isinstance(built, {"own": Http1Transport, "httpx": HttpxTransport}[name])


@pytest.mark.parametrize("http2", [False, True])
def test_the_httpx_transport_speaks_http2_as_proxy_http2_says(http2: bool, settings: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT, settings.PROXY_HTTP2 = "httpx", http2
    monkeypatch.setattr(transports, "HttpxTransport", lambda **options: options)
    assert transports.build_transport(None)["http2"] is http2  # type: ignore[index]


def test_an_unknown_transport_names_the_setting_and_the_choices(settings: Any) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT = "curl"
    with pytest.raises(ImproperlyConfigured, match=r"PROXY_UPSTREAM_TRANSPORT='curl'.*own, httpx, aiohttp"):
        transports.build_transport(None)


@pytest.mark.parametrize("name", ["own", "aiohttp"])
def test_http2_asked_of_an_http11_transport_is_refused(name: str, settings: Any) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT, settings.PROXY_HTTP2 = name, True
    with pytest.raises(ImproperlyConfigured, match=f"PROXY_HTTP2=true needs PROXY_UPSTREAM_TRANSPORT=httpx.*{name}"):
        transports.selected()


def test_aiohttp_without_its_package_says_what_to_install(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PROXY_UPSTREAM_TRANSPORT = "aiohttp"
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "proxy_app.upstream.aiohttp_transport", raising=False)
    with pytest.raises(ImproperlyConfigured, match="PROXY_UPSTREAM_TRANSPORT=aiohttp needs the httpx-aiohttp package"):
        transports.build_transport(None)


@pytest.mark.parametrize(("environment", "expected"), [
    ({}, "own"), ({"PROXY_HTTP2": "true"}, "httpx"), ({"PROXY_UPSTREAM_TRANSPORT": "aiohttp"}, "aiohttp"),
])
def test_the_setting_comes_from_the_environment_and_proxy_http2_alone_still_means_httpx(
    environment: dict[str, str], expected: str
) -> None:
    env = {name: value for name, value in os.environ.items() if name not in ("PROXY_HTTP2", "PROXY_UPSTREAM_TRANSPORT")}
    env.update(environment, DJANGO_SETTINGS_MODULE="llmproxy_site.settings", LLM_PROXY_ENV_FILE="/nonexistent")
    shown = subprocess.run([sys.executable, "-c", "from django.conf import settings; print(settings.PROXY_UPSTREAM_TRANSPORT)"],
                           env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == expected
