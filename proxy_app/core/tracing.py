"""The request path's hooks into tracing, free of OpenTelemetry (``proxy_app.operations.tracing`` fills them).

With tracing off, ``active`` stays None and the context variable unset: the request path pays a
None check per request and a ``ContextVar.get`` per upstream call, and imports no tracing SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from proxy_app.core.context import AttemptRecord, RequestContext


class RequestTrace(Protocol):
    """One client request's spans: the request's, and one per upstream attempt."""

    captures_content: bool  # prompt and answer go into the span (``OTEL_CAPTURE_CONTENT``)

    def attempt_started(self, *, backend: str, model: str, key_hint: str, base_url: str, retry: int) -> None:
        """An upstream attempt begins: its span opens, and ``UPSTREAM_TRACE_HEADERS`` names it."""

    def attempt_ended(self, record: AttemptRecord, error_type: str) -> None:
        """The attempt's outcome (``record``); a failed one's span ends, an answering one's when the request does."""

    def finish(self, ctx: RequestContext) -> None:
        """The request finished (a ``finish_request`` observer): every span it still has open ends."""


class Tracing(Protocol):
    def request_started(self, ctx: RequestContext, headers: Mapping[str, str]) -> RequestTrace:
        """The request's trace, a child of the client's W3C ``traceparent`` in ``headers`` if it sent one."""


active: Tracing | None = None

# The W3C trace-context headers of the attempt under way, which the upstream seam sends along.
UPSTREAM_TRACE_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("upstream_trace_headers", default=None)
