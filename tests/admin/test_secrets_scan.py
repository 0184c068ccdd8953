"""Issue 9's "Done when": no admin page (list, add, change, history, delete, dashboard, inspector) shows a secret.

Secrets in play: a backend key entered through the admin form, the env backend keys, the env proxy
key, and a proxy key created in the admin (its plaintext is shown once, in the creation message, and
never again). Traffic goes through the live proxy first so usage records and captured exchanges have real
rows to render; the prompt even quotes a backend key.
"""

from __future__ import annotations

import re

import openai
import pytest
from django.contrib import admin
from django.contrib.auth.models import AbstractUser
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from commands_app.models import CommandAlias, FailoverRoute, FailoverRouteElement, Session
from proxy_app.core.secrets import mask_secret
from proxy_app.models import Backend, BackendKey, ProxyKey
from tests.conftest import ANTHROPIC_KEYS, GEMINI_KEYS, OPENAI_KEYS, OPENROUTER_KEYS, Proxy
from usage_app import recorder

ADMIN_BACKEND_SECRET = "sk-ant-admin-secret-value-123456789"
HEADER_SECRET = "hdr-secret-value-0123456789abcdef"
PROXY_KEY_IN_MESSAGE = re.compile(r"shown only this once, copy it now\): (lip-[A-Za-z0-9_\-]+)")
OBJECTS_PER_MODEL = 5


def create_proxy_key_in_admin(client: Client) -> str:
    response = client.post("/admin/proxy_app/proxykey/add/", {
        "name": "scan-key", "project": "scan", "allowed_models": "[]", "is_active": "on",
        "can_change_shared_state": "on",
    }, follow=True)
    assert response.status_code == 200
    match = PROXY_KEY_IN_MESSAGE.search(response.content.decode())
    assert match, "the new key is shown once after creation"
    return match.group(1)


def admin_urls(user: AbstractUser) -> list[str]:
    """Every admin page: index, operator pages, and each model's list, add, change, history and delete."""
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = ["/admin/", "/admin/dashboard/", "/admin/dashboard/?period=30d", "/admin/inspector/"]
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        for obj in model._default_manager.all()[:OBJECTS_PER_MODEL]:
            for view in ("change", "history", "delete"):
                try:
                    urls.append(reverse(f"{prefix}_{view}", args=[obj.pk]))
                except NoReverseMatch:
                    pass
        if model_admin.actions:
            urls.append(reverse(f"{prefix}_changelist") + "?all=")
    return urls


@pytest.fixture
def traffic(proxy: Proxy, settings: object) -> Proxy:
    settings.USAGE_CAPTURE_BODIES = True  # type: ignore[attr-defined]
    return proxy


def test_no_admin_page_shows_a_secret(traffic: Proxy, superuser: AbstractUser) -> None:
    client = Client()
    client.force_login(superuser)

    response = client.post("/admin/proxy_app/backendkey/add/", {
        "backend_name": "anthropic", "label": "admin-entered", "secret": ADMIN_BACKEND_SECRET, "is_enabled": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert BackendKey.objects.get(label="admin-entered").secret == ADMIN_BACKEND_SECRET
    proxy_key = create_proxy_key_in_admin(client)
    assert ProxyKey.objects.filter(name="scan-key").exists()

    # Real traffic with the new key (records, a captured exchange whose prompt quotes a key, a failed request).
    api = openai.OpenAI(base_url=traffic.openai_base, api_key=proxy_key, max_retries=0)
    api.chat.completions.create(model="openai:gpt-4o",
                                messages=[{"role": "user", "content": f"is {ADMIN_BACKEND_SECRET} a key?"}])
    list(api.chat.completions.create(model="openrouter:openai/gpt-4", stream=True,
                                     messages=[{"role": "user", "content": "stream please"}]))
    with pytest.raises(openai.APIStatusError):
        api.chat.completions.create(model="openai:gpt-4o", messages=[{"role": "user", "content": "[[error:401]]"}])
    assert recorder.flush(10)

    route = FailoverRoute.objects.create(name="scan-route")
    FailoverRouteElement.objects.create(route=route, position=0, target="openai:gpt-4o")
    Backend.objects.create(name="local", base_url="http://127.0.0.1:9/v1",
                           extra_headers={"Authorization": f"Bearer {HEADER_SECRET}"})
    CommandAlias.objects.create(name="fast", command="set(model=openai:gpt-4o-mini)")
    Session.objects.get_or_create(session_id="scan-session", owner=None)

    secrets = {
        "admin backend key": ADMIN_BACKEND_SECRET,
        "admin proxy key": proxy_key,
        "env proxy key": traffic.key,
        "backend header": HEADER_SECRET,
        **{f"env {name} key": value for name, values in (
            ("openai", OPENAI_KEYS), ("openrouter", OPENROUTER_KEYS), ("anthropic", ANTHROPIC_KEYS),
            ("gemini", GEMINI_KEYS)) for value in values},
    }
    urls = admin_urls(superuser)
    assert any("/backendkey/" in u and u.endswith("/change/") for u in urls)
    assert any("/capturedexchange/" in u and u.endswith("/change/") for u in urls)
    leaks, pages = [], {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = pages[url] = response.content.decode()
        leaks += [(url, label) for label, value in secrets.items() if value in html]
    assert not leaks, f"secrets shown on admin pages: {leaks}"
    # The pages did render the rows that hold (or held) the secrets, masked.
    assert mask_secret(ADMIN_BACKEND_SECRET) in pages["/admin/proxy_app/backendkey/"]
    assert mask_secret(proxy_key) in pages["/admin/proxy_app/proxykey/"]


def test_backend_header_values_are_write_only(superuser: AbstractUser, db: None) -> None:
    client = Client()
    client.force_login(superuser)
    backend = Backend.objects.create(name="hdr", base_url="http://127.0.0.1:9/v1",
                                     extra_headers={"X-Key": HEADER_SECRET})
    page = client.get(f"/admin/proxy_app/backend/{backend.pk}/change/").content.decode()
    assert HEADER_SECRET not in page
    response = client.post(f"/admin/proxy_app/backend/{backend.pk}/change/", {
        "name": "hdr", "protocol": "openai_chat", "base_url": "http://127.0.0.1:9/v1", "extra_headers": "",
        "model_names": "[]", "is_enabled": "on",
    })
    assert response.status_code == 302, response.content.decode()[:1000]
    backend.refresh_from_db()
    assert backend.extra_headers == {"X-Key": HEADER_SECRET}, "a blank field keeps the stored headers"
