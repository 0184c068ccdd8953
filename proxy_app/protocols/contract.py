"""What every wire protocol package offers the rest of the proxy, checked by mypy.

Each package under ``proxy_app.protocols`` (``openai_chat``, ``openai_responses``, ``anthropic``,
``gemini``) is itself the implementation: mypy checks the module against ``WireProtocol`` wherever
one is passed as such (``Frontend(name, anthropic)``, ``Connector.protocol = gemini``), so a
translator that drops a converter or changes its signature fails the type check, not a request.

Turning a client's request into the canonical one is deliberately not part of the contract: each
protocol needs its own inputs for it (Gemini's model comes from the URL, Anthropic's version from a
header), so only the frontend of that protocol calls it.

The wire bodies a converter builds are returned as read-only mappings, so each protocol can declare
its own TypedDicts (``<protocol>/types.py``) as the return types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from proxy_app.core import canonical as c


class StreamDecoding(Protocol):
    """An upstream's stream, one parsed SSE ``data`` (and its ``event`` name) at a time, as canonical events."""

    def feed(self, data: dict[str, Any], event: str | None = None) -> list[c.StreamEvent]: ...

    def finish(self) -> list[c.StreamEvent]: ...


class StreamEncoding(Protocol):
    """Canonical stream events as the bytes a client of the protocol reads."""

    @property
    def content_type(self) -> str: ...

    def encode(self, event: c.StreamEvent) -> bytes: ...


class StreamEncoderFactory(Protocol):
    def __call__(self, *, model: str, include_usage: bool) -> StreamEncoding: ...


class WireProtocol(Protocol):
    """One wire protocol, both directions: what generic frontends and connectors call."""

    @property
    def NAME(self) -> str: ...  # noqa: N802  (a module constant)

    @property
    def StreamDecoder(self) -> Callable[[], StreamDecoding]: ...  # noqa: N802  (a class in the module)

    @property
    def StreamEncoder(self) -> StreamEncoderFactory: ...  # noqa: N802  (a class in the module)

    def request_from_canonical(self, req: c.ChatRequest) -> Mapping[str, Any]: ...

    def response_to_canonical(self, payload: dict[str, Any]) -> c.ChatResponse: ...

    def response_from_canonical(self, resp: c.ChatResponse, *, model: str) -> Mapping[str, Any]: ...

    def error_body(self, err: c.ProxyError) -> Mapping[str, Any]: ...

    def error_to_canonical(self, status: int, body: Any) -> c.ProxyError: ...
