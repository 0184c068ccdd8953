"""Every route refuses a caller without a valid proxy key when one is configured, in its protocol's
error shape; the few public ones are listed with why. The admin is behind Django's own login and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from proxy_app.access.auth import authenticate
from proxy_app.core.secrets import hash_key
from tests.conftest import OPENAI_KEYS, PROXY_KEY, Proxy

# Public on purpose: the liveness probe; the status page, which shows no secret (backend names,
# protocols, credential-free base URLs, key counts and states: its module docstring, and the test
# below); static assets; the protocols' catch-alls, whose 404 says only that a path is unknown (as
# OpenAI's API answers an unknown path whatever the key). The admin has Django's own login (below).
PUBLIC = {"healthz", "", "^static/(?P<path>.+)$", "^api/docs/assets/(?P<path>.+)$", "^v1/", "^v1beta/", "^anthropic/"}
SAMPLES = {"<path:model>": "gpt-4o", "<path:model_action>": "gpt-4o:generateContent",
           "(?P<path>.+)": "x.js", "^": "", "$": ""}


def routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def concrete(route: str) -> str:
    path = route
    for pattern, sample in SAMPLES.items():
        path = path.replace(pattern, sample)
    return "/" + (path + "unknown" if path.endswith("/") and route.startswith("^") else path)


GUARDED = sorted({r for r in routes() if r not in PUBLIC and not r.startswith("admin/")})


def test_the_walk_finds_the_operator_routes() -> None:
    assert {"metrics", "usage/stats", "usage/recent", "audit/logs", "api/schema/", "api/docs/"} <= set(GUARDED)
    assert "v1/chat/completions" in GUARDED and "v1beta/models/<path:model_action>" in GUARDED


def shape(method: str, path: str) -> str:
    if path.startswith(("/v1/messages", "/anthropic/")):
        return "anthropic"
    if path.startswith("/v1beta/") or (method == "POST" and path.startswith("/v1/models/")):
        return "gemini"  # google-genai's v1 API posts to /v1/models/{model}:{action}
    if path.startswith("/v1/"):
        return "openai"
    return "operator"


@pytest.mark.parametrize("route", GUARDED)
@pytest.mark.parametrize("key", [None, "wrong-key", hash_key(PROXY_KEY)], ids=["no-key", "wrong-key", "stored-hash"])
def test_a_route_refuses_a_caller_without_a_valid_key(proxy: Proxy, route: str, key: str | None) -> None:
    path = concrete(route)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    for method in ("GET", "POST"):
        response = httpx.request(method, f"{proxy.url}{path}", headers=headers, json={}, timeout=10)
        if response.status_code == 405:
            continue
        assert response.status_code in (401, 403), f"{method} {path} answered {response.status_code} without a key"
        kind = shape(method, path)
        body = response.json() if kind != "operator" else None
        if kind == "anthropic":
            assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
        elif kind == "gemini":
            assert body["error"]["code"] == 401 and body["error"]["status"] == "UNAUTHENTICATED"
        elif kind == "openai":
            assert body["error"]["type"] == "authentication_error" or body["error"]["code"] == "invalid_api_key"
        else:  # DRF's {"detail": …} as the endpoint renders it (the schema: YAML; the docs pages: a short page)
            assert "detail" in response.text or response.reason_phrase in response.text
    assert proxy.fakes.openai.chat_requests() == []


def test_the_public_status_page_shows_no_secret(proxy: Proxy) -> None:
    page = httpx.get(f"{proxy.url}/", timeout=10)
    assert page.status_code == 200 and "openai" in page.text
    for secret in (PROXY_KEY, *OPENAI_KEYS, hash_key(PROXY_KEY)):
        assert secret not in page.text
    assert not re.search(r"sk-[A-Za-z0-9-]{12,}", page.text), "no key-like text"


async def test_a_stored_hash_is_not_a_key(settings: Any, transactional_db: None) -> None:
    from django.test import RequestFactory

    from proxy_app.access.auth import invalidate_directory

    settings.LLM_INTERACTIVE_PROXY_API_KEY = PROXY_KEY
    invalidate_directory()
    try:
        factory = RequestFactory()
        good = await authenticate(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {PROXY_KEY}"))
        stolen = await authenticate(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {hash_key(PROXY_KEY)}"))
        assert good is not None and good.name == "env-key"
        assert stolen is None, "the directory holds digests; a digest presented is hashed again"
    finally:
        invalidate_directory()


def test_the_admin_needs_a_django_login(db: None) -> None:
    response = Client().get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = Client().get("/admin/proxy_app/proxykey/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_admin_post_without_a_csrf_token_is_refused(db: None, django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client(enforce_csrf_checks=True)
    client.login(username="root", password="pw-123456789")
    response = client.post("/admin/proxy_app/proxykey/add/", {"name": "sneaky"})
    assert response.status_code == 403 and b"CSRF" in response.content
    login = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "root", "password": "pw-123456789"})
    assert login.status_code == 403


def test_metrics_need_an_admin_key_and_the_docs_open_for_a_key_or_an_admin_session(
        proxy: Proxy, django_user_model: Any) -> None:
    from proxy_app.services import proxy_key_create

    _, plain = proxy_key_create(name="dev", project="", is_admin=False)
    metrics = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {plain}"}, timeout=10)
    assert metrics.status_code == 403 and "admin" in metrics.json()["detail"]
    metrics = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {proxy.key}"}, timeout=10)
    assert metrics.status_code == 200 and "llmproxy_requests" in metrics.text
    assert httpx.get(f"{proxy.url}/api/docs/", headers={"Authorization": f"Bearer {plain}"}, timeout=10).status_code == 200
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-123456789")
    browser = Client()
    browser.login(username="ops", password="pw-123456789")
    assert browser.get("/api/docs/").status_code == 200
    assert browser.get("/api/schema/", {"format": "json"}).status_code == 200
