"""A session's openai-url reaches public addresses only, unless the operator allows more; the
operator's keys go only to the hosts named for them."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from proxy_app.core.destinations import DestinationPolicy, DestinationRefused, literal_address, non_public_reason
from tests.conftest import Proxy

LOOPBACK = ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("host, address", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("[::1]", "::1"),
    ("0", "0.0.0.0"),
    ("example.com", None),
    ("1.2.3.4.5", None),
    ("256.1.1.1", None),
    ("0x", None),
    ("08.1.1.1", None),
])
def test_literal_hosts_are_read_as_resolvers_read_them(host: str, address: str | None) -> None:
    assert literal_address(host) == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.1.2.3", "multicast"),
    ("ff02::1", "multicast"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
    ("::ffff:169.254.169.254", "link-local (inside ::ffff:a9fe:a9fe)"),
    ("64:ff9b::a9fe:a9fe", "link-local (inside 64:ff9b::a9fe:a9fe)"),
    ("2002:a00:1::1", "private (inside 2002:a00:1::1)"),
    ("::127.0.0.1", "loopback (inside ::7f00:1)"),
    ("192.0.2.1", "private"),  # documentation range
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("100.128.0.1", None),
    ("2001:4860:4860::8888", None),
    ("::ffff:8.8.8.8", None),
])
def test_addresses_are_classified(address: str, reason: str | None) -> None:
    assert non_public_reason(ipaddress.ip_address(address)) == reason


def test_the_operator_allows_hosts_by_name_and_addresses_by_network() -> None:
    policy = DestinationPolicy.of(["Models.Internal"], ["10.0.0.0/8", "fd00::/8"])
    assert policy.host_allowed("models.internal.") and not policy.host_allowed("other.internal")
    assert policy.refusal(ipaddress.ip_address("10.9.9.9")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:10.9.9.9")) is None, "the mapped form of an allowed address"
    assert policy.refusal(ipaddress.ip_address("fd00::5")) is None
    assert policy.refusal(ipaddress.ip_address("192.168.0.1")) == "192.168.0.1 is a private address"
    with pytest.raises(DestinationRefused, match="169.254.169.254 is a link-local address"):
        policy.check_blocking("169.254.169.254")
    with pytest.raises(DestinationRefused, match="localhost resolves to"):
        policy.check_blocking("localhost")
    policy.check_blocking("models.internal")  # allowed by name: not even resolved


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``script(host, *addresses)``: ``host`` resolves to each address in turn (the last one from
    then on), as a DNS answer that changes between look-ups (rebinding) would; other names resolve normally."""
    real = socket.getaddrinfo
    scripts: dict[str, list[str]] = {}

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        answers = scripts.get(str(host))
        if answers is None:
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]  # type: ignore[call-overload]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def script(host: str, *addresses: str) -> None:
        scripts[host] = list(addresses)

    yield script


def openai_session(proxy: Proxy, session: str) -> Callable[..., str]:
    api = openai.OpenAI(base_url=proxy.openai_base, api_key=proxy.key, max_retries=0,
                        default_headers={"X-Session-ID": session})

    def ask(text: str, *, stream: bool = False) -> str:
        messages = [{"role": "user", "content": text}]
        if stream:
            chunks = api.chat.completions.create(model="gpt-4o", stream=True, messages=messages)  # type: ignore[arg-type]
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        resp = api.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
        return resp.choices[0].message.content or ""

    return ask


@pytest.mark.parametrize("url, reason", [
    ("http://169.254.169.254/v1", "169.254.169.254 is a link-local address"),
    ("http://2130706433/v1", "127.0.0.1 is a loopback address"),
    ("http://0x7f.1/v1", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:169.254.169.254]/latest", "link-local"),
    ("http://10.0.0.1:8080/v1", "private"),
    ("http://100.64.1.1/v1", "carrier-grade NAT"),
    ("http://localhost:1/v1", "localhost resolves to"),
])
def test_setting_a_non_public_url_is_refused(proxy: Proxy, url: str, reason: str) -> None:
    answer = openai_session(proxy, "ssrf-set")(f"!/set(openai-url={url})")
    assert "openai_url refused" in answer and reason in answer and "OPENAI_URL_ALLOWED_NETWORKS" in answer
    answer = openai_session(proxy, "ssrf-set")("hello")
    assert answer.startswith("Hello from the fake provider")
    assert len(proxy.fakes.openai.chat_requests()) == 1, "the session still uses the configured backend"


def test_an_anthropic_client_is_refused_too(proxy: Proxy) -> None:
    api = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                              default_headers={"X-Session-ID": "ssrf-anthropic"})
    msg = api.messages.create(model="openai:gpt-4o", max_tokens=50, messages=[
        {"role": "user", "content": "!/set(openai-url=http://169.254.169.254/v1)"}])
    text = "".join(b.text for b in msg.content if b.type == "text")
    assert "openai_url refused" in text and "link-local" in text


def test_an_allowed_network_is_reached_without_the_operators_keys(proxy: Proxy, settings: object) -> None:
    settings.OPENAI_URL_ALLOWED_HOSTS = ["api.openai.com"]  # type: ignore[attr-defined]
    settings.OPENAI_URL_ALLOWED_NETWORKS = LOOPBACK  # type: ignore[attr-defined]
    fake = proxy.fakes.openai
    ask = openai_session(proxy, "ssrf-allowed")
    assert "openai-url set to" in ask(f"!/set(openai-url=http://localhost:{fake.port}/v1)")
    assert ask("hello").startswith("Hello from the fake provider")
    assert ask("hello streamed", stream=True).startswith("Hello from the fake provider")
    for recorded in fake.chat_requests():
        assert recorded.key is None and "authorization" not in recorded.headers, "no stored key to an unlisted host"
        assert recorded.headers["host"] == f"localhost:{fake.port}", "connected by address, Host stays the name"


def test_a_url_allowed_by_name_gets_the_keys(proxy: Proxy, settings: object) -> None:
    settings.OPENAI_URL_ALLOWED_HOSTS = ["127.0.0.1"]  # type: ignore[attr-defined]
    ask = openai_session(proxy, "ssrf-named")
    assert "openai-url set to" in ask(f"!/set(openai-url={proxy.fakes.openai.origin}/v1)")
    assert ask("hello").startswith("Hello from the fake provider")
    assert proxy.fakes.openai.chat_requests()[-1].key is not None


def test_a_stored_url_no_longer_allowed_is_refused_in_each_protocol(proxy: Proxy, settings: object) -> None:
    settings.OPENAI_URL_ALLOWED_NETWORKS = LOOPBACK  # type: ignore[attr-defined]
    session = {"X-Session-ID": "ssrf-revoked"}
    ask = openai_session(proxy, "ssrf-revoked")
    assert "openai-url set to" in ask(f"!/set(openai-url={proxy.fakes.openai.origin}/v1)")
    settings.OPENAI_URL_ALLOWED_NETWORKS = []  # type: ignore[attr-defined]

    with pytest.raises(openai.PermissionDeniedError, match="127.0.0.1 is a loopback address"):
        ask("hello")
    with pytest.raises(openai.PermissionDeniedError, match="loopback"):
        ask("hello", stream=True)
    claude = anthropic.Anthropic(base_url=f"{proxy.url}/anthropic", api_key=proxy.key, max_retries=0,
                                 default_headers=session)
    with pytest.raises(anthropic.PermissionDeniedError, match="loopback") as refused:
        claude.messages.create(model="openai:gpt-4o", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    gemini = genai.Client(api_key=proxy.key, http_options=types.HttpOptions(
        base_url=proxy.url, api_version="v1beta", headers=session))
    with pytest.raises(genai_errors.ClientError) as denied:
        gemini.models.generate_content(model="openai:gpt-4o", contents="hi")
    assert denied.value.code == 403 and denied.value.status == "PERMISSION_DENIED"
    assert proxy.fakes.openai.chat_requests() == []


def test_a_name_rebound_to_loopback_after_the_checks_is_refused_at_connect_time(
        proxy: Proxy, resolver: Callable[..., None]) -> None:
    fake = proxy.fakes.openai
    # the !/set check and the check before sending see a public address; the connection would see loopback
    resolver("rebind.invalid", "93.184.216.34", "93.184.216.34", "127.0.0.1")
    ask = openai_session(proxy, "ssrf-rebind")
    assert "openai-url set to" in ask(f"!/set(openai-url=http://rebind.invalid:{fake.port}/v1)")
    with pytest.raises(openai.APIStatusError) as refused:
        ask("hello")
    assert refused.value.status_code in (403, 502)
    assert fake.chat_requests() == [], "nothing reached the loopback address"
