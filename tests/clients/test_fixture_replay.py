"""The real CLIs' recorded requests (``tests/clients/fixtures``) through the proxy's pure translators.

Each fixture is one request Claude Code, Codex CLI or Gemini CLI sent (recorded by
``scripts/test-clients --record``, scrubbed). It is decoded as its frontend decodes it (Anthropic
Messages, OpenAI Responses, Gemini), given back the reasoning the proxy sealed into it when the backend
speaks another protocol (as ``handle_chat`` does), and encoded for every backend protocol (OpenAI Chat,
Anthropic, Gemini) the way the backend connectors build an upstream call: URL, headers and body. The result must
match the snapshot stored beside the fixture (``NN-name.upstream.json``); ``UPDATE_SNAPSHOTS=1``
rewrites the snapshots (after a deliberate translation change, review their diff). No Node.js needed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import RequestFactory

from proxy_app.core import canonical as c
from proxy_app.protocols import gemini
from proxy_app.providers import CONNECTORS
from proxy_app.providers.config import BackendSpec
from tests.clients import harness

try:
    from proxy_app.chat.reasoning_state import restore as reasoning_restore
except ImportError:  # a proxy without sealed reasoning state
    reasoning_restore = None

FIXTURE_FILES = sorted(p for d in sorted(harness.FIXTURES.glob("*-*")) if d.is_dir() for p in harness.request_files(d))
UPDATE = os.environ.get("UPDATE_SNAPSHOTS", "") not in ("", "0")
# one backend per upstream protocol (OpenRouter's body is OpenAI's; only its headers differ)
BACKENDS = {"openai_chat": "openai", "anthropic": "anthropic", "gemini": "gemini"}
BACKEND_KEY = "<backend-key>"
PROVIDER_PREFIXES = ("openai", "openrouter", "anthropic", "gemini")


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def decode(record: dict[str, Any]) -> c.ChatRequest | None:
    """The canonical request, decoded as the proxy's frontend for that path does; None for a request
    that is not a chat call (a model listing, say)."""
    path, _, query = record["path"].partition("?")
    body = record["body"]
    headers = {name: value for name, value in record["headers"]}
    if path.endswith("/messages"):
        from proxy_app.api import anthropic as frontend

        request = RequestFactory().post(record["path"], data=json.dumps(body), content_type="application/json",
                                        headers={k: v for k, v in headers.items() if k.lower() != "content-type"})
        chat = frontend._decode(request)(body)
    elif path.endswith("/responses"):
        from proxy_app.api import openai_responses as frontend

        chat = frontend.decode(body)
    elif "/models/" in path and ":" in path.rsplit("/", 1)[-1]:
        model, _, action = path.split("/models/", 1)[1].rpartition(":")
        if action not in ("generateContent", "streamGenerateContent"):
            return None
        # as proxy_app.api.gemini.model_action decodes it
        chat = gemini.request_to_canonical(body, model=model)
        chat.stream = action == "streamGenerateContent"
        chat.meta["gemini_sse"] = "alt=sse" in query.split("&")
    else:
        return None
    chat.meta.setdefault("client_model", chat.model)
    return chat


def upstream_model(model: str) -> str:
    """The model a backend is asked for (``routing.parse_target``): after a provider prefix, else as is."""
    prefix, sep, rest = model.partition(":")
    return rest if sep and prefix in PROVIDER_PREFIXES and rest else model


def encode(chat: c.ChatRequest) -> dict[str, Any]:
    """What each backend protocol's connector would send upstream for ``chat``."""
    model = upstream_model(chat.model)
    out = {}
    for protocol, backend in BACKENDS.items():
        spec = BackendSpec(backend, protocol, f"https://{backend}.upstream.invalid/v1")
        connector = CONNECTORS[protocol](spec)
        wire = copy.deepcopy(chat)
        if reasoning_restore is not None and protocol != wire.source_protocol:
            # as handle_chat does for a backend of another protocol: reasoning the proxy sealed into the
            # client's history (Codex's encrypted_content) goes back in front of its tool calls (no session
            # store here: only the client's own sealed copy counts)
            asyncio.run(reasoning_restore(wire, "client-fixtures"))
        out[protocol] = {
            "url": connector.url(model, stream=wire.stream),
            "headers": connector.headers(BACKEND_KEY, wire),
            "body": orjson.loads(connector._body(wire, model)),
        }
    return out


def test_fixtures_exist() -> None:
    """Every client has a recording (``scripts/test-clients --record`` makes them)."""
    clients = {p.parent.name.split("-", 1)[0] for p in FIXTURE_FILES}
    assert clients == set(harness.CLIENTS), f"recordings found for {sorted(clients)} only"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=fixture_id)
def test_client_fixture_translates(path: Path, settings: Any) -> None:
    settings.REASONING_SEAL_KEY = harness.SEAL_KEY  # the key Codex's encrypted_content was sealed with
    record = json.loads(path.read_text())
    chat = decode(record)
    if chat is None:
        pytest.skip(f"{record['method']} {record['path']} is not a chat request")
    upstream = encode(chat)
    # the same request always gives the same upstream calls (the snapshot must not depend on the run)
    assert encode(decode(record)) == upstream  # type: ignore[arg-type]
    snapshot = path.with_name(f"{path.stem}.upstream.json")
    rendered = json.dumps(upstream, indent=1, ensure_ascii=False) + "\n"
    if UPDATE or not snapshot.exists():
        snapshot.write_text(rendered)
        if not UPDATE:
            pytest.fail(f"{snapshot.name} did not exist and was written: review and commit it")
        return
    expected = json.loads(snapshot.read_text())
    for protocol in BACKENDS:
        assert upstream[protocol] == expected.get(protocol), (
            f"{fixture_id(path)} -> {protocol} differs from {snapshot.name} "
            "(UPDATE_SNAPSHOTS=1 rewrites it after a deliberate change)")
