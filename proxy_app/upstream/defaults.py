"""What every upstream transport shares, whichever the setting picks: the request headers a call
carries unless its caller sets them, how long an idle connection is kept, and the TLS context."""

from __future__ import annotations

import base64
import functools
import ssl
import urllib.parse

import httpx

# How long an idle pooled connection is reused: httpx's own default, kept short so a connection
# the upstream has already closed is rarely picked for a request that cannot be retried.
KEEPALIVE_SECONDS = 5.0
USER_AGENT = "llm-interactive-proxy"
# Sent unless the caller gives its own, so an upstream sees the same client whatever the transport.
DEFAULT_HEADERS = (("accept", "*/*"), ("accept-encoding", "gzip, deflate"), ("user-agent", USER_AGENT))


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context, built once per process (reading a CA bundle took tens of
    milliseconds of the first request to every backend): certifi's bundle, or the one that
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name instead (a private or corporate CA), as httpx reads them."""
    return httpx.create_ssl_context(trust_env=True)


def proxy_authorization(proxy: str) -> str | None:
    """The ``Proxy-Authorization`` value for the credentials in a proxy's URL
    (``http://user:pass@host:port``), or None when it has none. It goes to the proxy only."""
    parts = urllib.parse.urlsplit(proxy)
    if parts.username is None:
        return None
    credentials = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(credentials.encode()).decode()
