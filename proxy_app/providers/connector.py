"""The generic backend connector: canonical request in, canonical response or events out.

Each provider module only says where to send a request and how to authenticate;
the wire format comes from the matching translation module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import orjson
from django.conf import settings

from proxy_app.core import canonical as c
from proxy_app.core.counters import DROPPED_FIELDS
from proxy_app.protocols.contract import WireProtocol
from proxy_app.protocols.sse import SSEParser
from proxy_app.providers.config import BackendSpec
from proxy_app.providers.params import adapt_params
from proxy_app.upstream.client import (
    ResponseTooLarge,
    body_chunks,
    get_client,
    read_body,
    release_after_body,
    send,
)

logger = logging.getLogger("llmproxy.backends")


def transport_error(exc: BaseException, backend: str, *, streaming: bool = False) -> c.ProxyError:
    """Classify a transport failure: 504 for timeouts, 502 for everything else (refused, reset, DNS)."""
    cause = exc.__cause__ or exc
    timed_out = isinstance(exc, TimeoutError | httpx.TimeoutException)
    if streaming:
        what = "stream stalled" if timed_out else f"stream broke off ({type(cause).__name__})"
    else:
        what = "timed out" if timed_out else f"is unreachable ({type(cause).__name__})"
    return c.ProxyError(f"backend '{backend}' {what}", kind="timeout" if timed_out else "bad_gateway")


def retry_after_from_headers(headers: httpx.Headers) -> float | None:
    """Seconds to wait as the provider says: ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date)."""
    if value := headers.get("retry-after-ms"):
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    if value := headers.get("retry-after"):
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(parsed.timestamp() - time.time(), 0.0)
    return None


# An upstream error's response headers a client of the same protocol gets as they came (Claude Code
# recovers by x-should-retry and Anthropic's rate-limit headers; SDKs back off by retry-after).
PASSED_ON_HEADERS = ("retry-after", "x-should-retry", "request-id", "x-request-id", "anthropic-ratelimit-",
                     "x-ratelimit-")


def note_dropped_fields(req: c.ChatRequest, body: Mapping[str, Any], backend_protocol: str) -> None:
    """The proxy is never stricter than a provider: a field only the client's own protocol knows
    goes through to that protocol's backends and is dropped for others, said at debug level."""
    dropped = [name for name in req.extra if name not in body]
    for name in dropped:
        DROPPED_FIELDS[(name[:64], req.source_protocol, backend_protocol)] += 1
    if dropped:
        logger.debug("dropped for a %s backend: %s (fields of the %s protocol)", backend_protocol,
                     ", ".join(sorted(dropped)), req.source_protocol)


# An error answer's body past this is not read: the status, not a novel, is what a client needs.
ERROR_BODY_LIMIT = 256 * 1024


class MalformedAnswer(Exception):
    """What an upstream sent is not what its protocol sends (the message says what it sent instead)."""


def _json_object(data: str | bytes, what: str = "an answer") -> dict[str, Any]:
    """``data`` parsed: every answer and stream event of the supported protocols is a JSON object."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedAnswer(f"sent {what} that is not JSON") from exc
    if not isinstance(parsed, dict):
        raise MalformedAnswer(f"sent {what} that is not a JSON object ({type(parsed).__name__})")
    return parsed


class Connector:
    """Talks to one backend. Subclasses set ``protocol`` and override the URL/header hooks."""

    protocol: WireProtocol

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self.name = spec.name
        t = spec.timeouts
        self.total_timeout = t.total or settings.PROXY_TIMEOUT
        self.first_byte_timeout = t.first_byte or settings.PROXY_FIRST_BYTE_TIMEOUT
        self.http_timeout = httpx.Timeout(
            connect=t.connect or settings.PROXY_CONNECT_TIMEOUT,
            read=t.idle or settings.PROXY_IDLE_TIMEOUT,
            write=t.idle or settings.PROXY_IDLE_TIMEOUT,
            pool=t.connect or settings.PROXY_CONNECT_TIMEOUT,
        )

    # -- hooks ---------------------------------------------------------------

    def url(self, model: str, *, stream: bool) -> str:
        raise NotImplementedError

    def headers(self, key: str | None, req: c.ChatRequest | None) -> dict[str, str]:
        raise NotImplementedError

    def models_url(self) -> str:
        return f"{self.spec.base_url}/models"

    def parse_models(self, payload: Any) -> list[str]:
        data = payload.get("data") if isinstance(payload, dict) else None
        return [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def error_from_response(self, status: int, body: bytes, headers: httpx.Headers) -> c.ProxyError:
        try:
            parsed: Any = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            # A front end's HTML error page (a CDN's 502) says nothing a client can use: the status does.
            html = "html" in headers.get("content-type", "") or body.lstrip()[:1] == b"<"
            parsed = None if html else body.decode("utf-8", "replace")[:500]
        err = self.protocol.error_to_canonical(status, parsed)
        header_delay = retry_after_from_headers(headers)
        if header_delay is not None:
            err.retry_after = header_delay
        if isinstance(parsed, dict) and status not in (401, 403):  # those are about the proxy's own key
            kept = tuple((name, value) for name, value in headers.items() if name.lower().startswith(PASSED_ON_HEADERS))
            err.upstream = c.UpstreamError(self.protocol.NAME, body, kept)
        return err

    # -- I/O -----------------------------------------------------------------

    def _body(self, req: c.ChatRequest, model: str) -> bytes:
        wire_req = adapt_params(dataclasses.replace(req, model=model), self.protocol.NAME)
        body = self.protocol.request_from_canonical(wire_req)
        if req.extra and req.source_protocol != self.protocol.NAME:
            note_dropped_fields(req, body, self.protocol.NAME)
        return orjson.dumps(body)

    async def complete(self, req: c.ChatRequest, model: str, key: str | None) -> c.ChatResponse:
        """One non-streamed call; raises ``ProxyError`` for any upstream or transport failure."""
        payload = await self._post_json(self.url(model, stream=False), self._body(req, model), key, req)
        return self.protocol.response_to_canonical(payload)

    async def stream(self, req: c.ChatRequest, model: str, key: str | None) -> AsyncIterator[c.StreamEvent]:
        """Stream canonical events. Errors before the first event raise ``ProxyError``;
        later ones are yielded as ``StreamError`` (the client already has a 200)."""
        body = self._body(req, model)
        try:
            async with asyncio.timeout(self.first_byte_timeout):
                response = await send(self.spec.base_url, "POST", self.url(model, stream=True), content=body,
                                      headers=self.headers(key, req), timeout=self.http_timeout,
                                      head_timeout=self.first_byte_timeout)
        except (TimeoutError, httpx.TransportError) as exc:
            raise transport_error(exc, self.name) from exc
        done = False
        try:
            if response.status_code >= 400:
                raise await self._error_answer(response)
            parser = SSEParser()
            decoder = self.protocol.StreamDecoder()
            limit = settings.PROXY_MAX_RESPONSE_BYTES
            unparsed = 0  # bytes received since the last whole event
            try:
                # Reading stops at [DONE], not at the end of the body: the client's stream ends (and
                # the request is finished and recorded) without waiting for the upstream to close it.
                async for chunk in body_chunks(response):
                    unparsed += len(chunk)
                    if unparsed > limit:
                        raise MalformedAnswer(f"sent a stream event larger than {limit} bytes")
                    events = parser.feed(chunk)
                    if events:
                        unparsed = 0
                    for event_name, data in events:
                        if data == "[DONE]":
                            done = True
                            break
                        for event in decoder.feed(_json_object(data, "a stream event"), event_name):
                            yield event
                    if done:
                        break
            except httpx.TransportError as exc:
                yield c.StreamError(transport_error(exc, self.name, streaming=True))
                return
            except MalformedAnswer as exc:
                yield c.StreamError(c.ProxyError(f"backend '{self.name}' {exc}", kind="bad_gateway"))
                return
            for event in decoder.finish():
                yield event
        finally:
            if done:  # only the chunked terminator is left: keep the connection for the next call
                release_after_body(response)
            else:  # at the end of the body, or stopped early (client gone, guard): closed, cancelling it
                await response.aclose()

    async def _error_answer(self, response: httpx.Response) -> c.ProxyError:
        """An error status's answer as a ``ProxyError``; a body that breaks off or is far too large
        leaves the status to speak for itself."""
        try:
            content = await read_body(response, limit=ERROR_BODY_LIMIT)
        except (httpx.TransportError, ResponseTooLarge):
            content = b""
        return self.error_from_response(response.status_code, content, response.headers)

    async def count_tokens(self, req: c.ChatRequest, model: str, key: str | None) -> int | None:
        """The provider's own token count for ``req``, or None where it has no counting endpoint."""
        return None

    async def _post_json(self, url: str, body: bytes, key: str | None, req: c.ChatRequest) -> Any:
        """POST a JSON body with the connector's auth and timeouts; the parsed JSON answer, or a
        ``ProxyError`` for any transport, HTTP or decoding failure."""
        limit = settings.PROXY_MAX_RESPONSE_BYTES
        try:
            # Only the total bounds the wait for the head: a non-streamed answer's head comes when
            # the whole answer is ready, however long after the last byte of the request that is.
            async with asyncio.timeout(self.total_timeout):
                response = await send(self.spec.base_url, "POST", url, content=body, headers=self.headers(key, req),
                                      timeout=self.http_timeout, head_timeout=self.total_timeout)
                try:
                    if response.status_code >= 400:
                        raise await self._error_answer(response)
                    content = await read_body(response, limit=limit)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TransportError) as exc:
            raise transport_error(exc, self.name) from exc
        except ResponseTooLarge as exc:
            raise c.ProxyError(f"backend '{self.name}' sent an answer larger than {limit} bytes",
                               kind="bad_gateway") from exc
        try:
            return _json_object(content)
        except MalformedAnswer as exc:
            raise c.ProxyError(f"backend '{self.name}' {exc}", kind="bad_gateway") from exc

    async def list_models(self, key: str | None) -> list[str]:
        if self.spec.static_models:
            return list(self.spec.static_models)
        client = get_client(self.spec.base_url)
        try:
            response = await client.get(self.models_url(), headers=self.headers(key, None), timeout=10.0)
        except httpx.HTTPError:
            return []
        if response.status_code >= 400:
            return []
        try:
            return self.parse_models(orjson.loads(response.content))
        except (orjson.JSONDecodeError, TypeError, KeyError):
            return []

