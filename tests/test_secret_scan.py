"""The suite-wide secret scan finds what it is there to find (tests/secret_scan.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from tests import secret_scan
from tests.conftest import OPENAI_KEYS, PROXY_KEY


@pytest.fixture
def watch() -> Any:
    """The shared watch, emptied after the test so the suite's own check does not see these plants."""
    yield secret_scan.WATCH
    secret_scan.WATCH.take()


def test_a_secret_in_any_log_line_of_any_logger_is_found(watch: secret_scan.Watch) -> None:
    logging.getLogger("proxy_app.upstream.client").debug("sending headers %s", {"authorization": f"Bearer {PROXY_KEY}"})
    (found,) = watch.take()
    assert found.startswith("log proxy_app.upstream.client") and PROXY_KEY not in found


def test_a_secret_in_a_traceback_is_found(watch: secret_scan.Watch) -> None:
    try:
        raise ValueError(f"bad key {OPENAI_KEYS[0]}")
    except ValueError:
        logging.getLogger("somewhere.else").exception("request failed")
    assert len(watch.take()) == 1


def test_a_secret_split_across_two_chunks_of_a_stream_is_found(watch: secret_scan.Watch) -> None:
    secret = OPENAI_KEYS[0]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"data: {secret[:10]}".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": f"{secret[10:]}\n\n".encode()})

    async def send(_: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    asyncio.run(secret_scan.scanning_asgi(app)({"type": "http", "method": "POST", "path": "/v1/x"}, receive, send))
    (found,) = watch.take()
    assert found.startswith("response POST /v1/x")


def test_the_middleware_scans_plain_and_streamed_responses_of_the_full_stack(watch: secret_scan.Watch) -> None:
    request = RequestFactory().get("/admin/")
    secret_scan.ScanResponsesMiddleware(lambda _: HttpResponse(f"<td>{PROXY_KEY}</td>"))(request)
    assert len(watch.take()) == 1
    streamed = secret_scan.ScanResponsesMiddleware(
        lambda _: StreamingHttpResponse(iter([b"ok ", PROXY_KEY.encode()])))(request)
    b"".join(streamed.streaming_content)
    assert len(watch.take()) == 1


def test_a_clean_answer_is_not_a_finding(watch: secret_scan.Watch) -> None:
    watch.scan("response", f"masked: sk-...{OPENAI_KEYS[0][-4:]}")
    assert watch.take() == []


@pytest.mark.django_db
def test_a_secret_in_a_usage_row_is_found_and_a_sealed_backend_key_is_not(watch: secret_scan.Watch) -> None:
    from django.utils import timezone

    from proxy_app.models import BackendKey
    from usage_app.models import UsageRecord

    saved = "sk-scan-test-stored-backend-key-0001"
    BackendKey.objects.create(backend_name="openai", secret=saved)
    assert saved in watch.secrets()  # watched from the moment it is saved
    secret_scan.scan_database()
    assert watch.take() == []
    UsageRecord.objects.create(created_at=timezone.now(), protocol="openai_chat", path="/v1/chat/completions",
                               error_message=f"upstream refused {saved}")
    secret_scan.scan_database()
    (found,) = watch.take()
    assert found.startswith("row usage_app.UsageRecord")
