"""``/``: the operator's status page, fetched over HTTP from the live proxy as a browser would."""

from __future__ import annotations

import html
import re
import tomllib

import httpx
import openai
import pytest

from commands_app.commands.hello import proxy_version
from tests.conftest import ANTHROPIC_KEYS, GEMINI_KEYS, OPENAI_KEYS, OPENROUTER_KEYS, Proxy, reset_caches
from usage_app import recorder

BACKENDS = ("openai", "openrouter", "anthropic", "gemini")


def status_page(proxy: Proxy) -> str:
    response = httpx.get(f"{proxy.url}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def snippet(page: str, name: str) -> str:
    match = re.search(rf'<pre id="snippet-{name}">(.*?)</pre>', page, re.S)
    assert match, f"no {name} snippet"
    return html.unescape(match.group(1))


def backend_row(page: str, name: str) -> str:
    match = re.search(rf'<tr id="backend-{name}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {name}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_it_shows_the_version_the_backends_and_the_operator_links_and_calls_no_backend(proxy: Proxy) -> None:
    page = status_page(proxy)
    assert f'<span id="proxy-version">{proxy_version()}</span>' in page
    for name in BACKENDS:
        row = backend_row(page, name)
        assert "environment" in row and "1 key: 1 active, 0 invalid" in row and "ready, no recent request" in row
    assert "(default)" in backend_row(page, "openai")
    assert "openai_chat" in backend_row(page, "openrouter") and "gemini" in backend_row(page, "gemini")
    for name in ("openai", "openrouter", "anthropic", "gemini"):
        assert not proxy.fakes.by_backend(name).requests, "the page calls no upstream"
    secrets = [proxy.key, *OPENAI_KEYS, *OPENROUTER_KEYS, *ANTHROPIC_KEYS, *GEMINI_KEYS]
    assert not [s for s in secrets if s in page], "no key is shown"
    links = dict((text, href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page))
    assert {links["Admin"], links["Usage dashboard"], links["API docs"]} == {"/admin/", "/admin/dashboard/", "/api/docs/"}
    docs = f"{proxy.url}{links['API docs']}"
    assert httpx.get(docs, timeout=10).status_code == 401, "the docs need a key (or an admin session)"
    assert httpx.get(docs, headers={"Authorization": f"Bearer {proxy.key}"}, timeout=10).status_code == 200
    login = httpx.get(f"{proxy.url}{links['Usage dashboard']}", timeout=10, follow_redirects=True)
    assert login.status_code == 200 and "/admin/login/" in str(login.url), "the dashboard asks for the admin login"


def test_the_client_snippets_name_this_server_and_work_as_pasted(proxy: Proxy) -> None:
    page = status_page(proxy)
    for name in ("openai", "anthropic", "genai"):
        code = snippet(page, name)
        assert proxy.url in code
        exec(code.replace("<proxy key>", proxy.key), {})  # noqa: S102 - the user's copy and paste
    assert [len(proxy.fakes.by_backend(b).chat_requests()) for b in ("gemini", "openai", "anthropic")] == [1, 1, 1]
    assert snippet(page, "claude-code") == f"ANTHROPIC_BASE_URL={proxy.url} ANTHROPIC_AUTH_TOKEN=<proxy key> claude"
    assert snippet(page, "gemini-cli") == f"GOOGLE_GEMINI_BASE_URL={proxy.url} GEMINI_API_KEY=<proxy key> gemini"
    codex = tomllib.loads(snippet(page, "codex"))
    assert codex["model_providers"][codex["model_provider"]] == {
        "name": "llm-interactive-proxy", "base_url": f"{proxy.url}/v1", "env_key": "LLM_PROXY_KEY",
        "wire_api": "responses"}


def test_the_snippets_follow_the_host_the_page_was_asked_for(proxy: Proxy) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    page = httpx.get(f"http://localhost:{port}/", timeout=10).text
    assert f'OpenAI(base_url="http://localhost:{port}/v1"' in snippet(page, "openai")


def test_health_follows_the_latest_requests_and_the_key_states(proxy: Proxy) -> None:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0)
    api.chat.completions.create(model="openai:gpt-4o", messages=[{"role": "user", "content": "fine"}])
    with pytest.raises(openai.APIStatusError):
        api.chat.completions.create(model="openrouter:openai/gpt-4", messages=[{"role": "user", "content": "[[error:400]]"}])
    assert recorder.flush(10)
    page = status_page(proxy)
    assert re.search(r"ok serving .* 1 recent, 0 failed; last: 200 at \d{4}-\d\d-\d\d", backend_row(page, "openai"))
    assert "error its last request failed with 400" in backend_row(page, "openrouter")
    assert "1 recent, 1 failed; last: 400" in backend_row(page, "openrouter")

    proxy.fakes.openai.fail_key(OPENAI_KEYS[0], 429, retry_after=60)
    with pytest.raises(openai.RateLimitError):
        api.chat.completions.create(model="openai:gpt-4o", messages=[{"role": "user", "content": "again"}])
    row = backend_row(status_page(proxy), "openai")
    assert "error no usable key" in row and re.search(r"0 active, 1 cooling \(until \d\d:\d\d:\d\dZ\)", row)
    assert "ok ready, no recent request" in backend_row(page, "gemini")


def test_base_urls_are_shown_without_credentials(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = proxy.fakes.openai.origin
    monkeypatch.setenv("OPENAI_API_BASE_URL", f"http://ops:pw-in-url-secret@{origin[7:]}/v1?token=query-secret#frag")
    reset_caches()
    row = backend_row(status_page(proxy), "openai")
    assert f"{origin}/v1" in row
    assert "pw-in-url-secret" not in row and "query-secret" not in row and "ops:" not in row
