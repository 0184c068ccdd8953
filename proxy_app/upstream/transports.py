"""Which HTTP client calls the upstreams: the ``PROXY_UPSTREAM_TRANSPORT`` setting.

Each choice is an ``httpx.AsyncBaseTransport`` behind the same ``httpx.AsyncClient`` seam
(``client.py``), so the rest of the proxy sees httpx's responses and exceptions whichever runs:

* ``own`` (the default): this project's HTTP/1.1 transport (``http1.py``: asyncio protocols,
  httptools' C parser), the fastest here (figures in ``client.py``);
* ``httpx``: httpx's own pool (httpcore); with ``PROXY_HTTP2=true``, HTTP/2 over TLS;
* ``aiohttp``: aiohttp's client through the ``httpx-aiohttp`` package (``aiohttp_transport.py``).

``PROXY_HTTP2=true`` needs ``httpx``, the only one speaking HTTP/2 (the setting defaults to it then).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from proxy_app.upstream.http1 import Http1Transport
from proxy_app.upstream.httpx_transport import HttpxTransport

SETTING = "PROXY_UPSTREAM_TRANSPORT"


def _own(proxy: str | None) -> httpx.AsyncBaseTransport:
    return Http1Transport(max_connections=settings.PROXY_MAX_CONNECTIONS, proxy=proxy)


def _httpx(proxy: str | None) -> httpx.AsyncBaseTransport:
    return HttpxTransport(max_connections=settings.PROXY_MAX_CONNECTIONS, proxy=proxy, http2=settings.PROXY_HTTP2)


def _aiohttp(proxy: str | None) -> httpx.AsyncBaseTransport:
    try:
        from proxy_app.upstream.aiohttp_transport import AiohttpTransport
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{SETTING}=aiohttp needs the httpx-aiohttp package ({exc}): "
            "pip install 'llm-interactive-proxy[aiohttp]'") from exc
    return AiohttpTransport(max_connections=settings.PROXY_MAX_CONNECTIONS, proxy=proxy)


TRANSPORTS: dict[str, Callable[[str | None], httpx.AsyncBaseTransport]] = {
    "own": _own, "httpx": _httpx, "aiohttp": _aiohttp,
}


def selected() -> str:
    """The configured transport's name; ``ImproperlyConfigured`` for a name that is not one, or for
    HTTP/2 asked of a transport that cannot speak it. Called for each new client, and at start-up
    (``ProxyAppConfig.ready``) so that a wrong value stops the proxy before its first request."""
    name = settings.PROXY_UPSTREAM_TRANSPORT
    if name not in TRANSPORTS:
        raise ImproperlyConfigured(f"{SETTING}={name!r} is not a transport: choose one of {', '.join(TRANSPORTS)}")
    if settings.PROXY_HTTP2 and name != "httpx":
        raise ImproperlyConfigured(f"PROXY_HTTP2=true needs {SETTING}=httpx: the {name} transport speaks HTTP/1.1 only")
    return name


def build_transport(proxy: str | None) -> httpx.AsyncBaseTransport:
    """A new transport of the configured kind, through ``proxy`` (``http://[user:pass@]host:port``) if given."""
    return TRANSPORTS[selected()](proxy)
