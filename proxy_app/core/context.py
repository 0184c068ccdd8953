"""Per-request facts gathered along the pipeline, handed to observers (usage, metrics, inspector)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxy_app.core.canonical import Usage

if TYPE_CHECKING:
    from proxy_app.core.tracing import RequestTrace


@dataclass(slots=True)
class AttemptRecord:
    backend: str
    model: str
    key_hint: str
    outcome: str  # "ok" or the error text
    status: int
    latency_ms: float


@dataclass(slots=True)
class RequestContext:
    protocol: str
    path: str
    principal_name: str = ""
    principal_key_id: int | None = None
    project: str = ""
    user: str = ""
    session_id: str = ""
    requested_model: str = ""
    backend: str = ""
    model: str = ""
    key_hint: str = ""
    byok: bool = False  # served with the client's own provider key (X-Upstream-Api-Key)
    stream: bool = False
    status: int = 200
    error_type: str = ""
    error_message: str = ""
    usage: Usage = field(default_factory=Usage)
    usage_estimated: bool = False
    attempts: list[AttemptRecord] = field(default_factory=list)
    loop_halts: int = 0
    loop_halt_kind: str = ""  # tool_loop | cycle | no_progress | text_loop | paraphrase, when a guard halted
    loop_warning_kind: str = ""  # the kind of loop a tool call was let through with a warning for
    tool_loop: Any = None  # the request's tool-loop analysis (proxy_app.guards.tool_loop.LoopAnalysis), built once
    redactions: int = 0
    compacted_tokens: int = 0  # estimated prompt tokens prompt compaction left out
    answered_by_proxy: bool = False
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)
    first_token_at: float | None = None
    finished_at: float | None = None
    client_disconnected: bool = False
    answer_chars: int = 0  # streamed answer length, for estimating usage the upstream did not report
    answer_parts: list[str] | None = None  # the streamed answer, kept only when body capture is on
    extra: dict[str, Any] = field(default_factory=dict)
    trace: RequestTrace | None = None  # the request's spans, when tracing is on (proxy_app.core.tracing)

    @property
    def session_key(self) -> str:
        return f"{self.principal_key_id}:{self.session_id}"

    @property
    def latency_ms(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.perf_counter()
        return (end - self.started) * 1000.0

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_at is None else (self.first_token_at - self.started) * 1000.0


logger = logging.getLogger("llmproxy.context")

# Observers run when a request finishes (usage recorder, metrics). They must not block or raise.
_finish_observers: list[Callable[[RequestContext], None]] = []
# Live observers (the traffic inspector) get "start", "delta" and "finish" events; with none
# registered, emitting costs one truthiness check (the request path tests ``live_observers`` itself
# before building an event).
live_observers: list[Callable[[str, RequestContext, dict[str, Any]], None]] = []


def on_request_finished(observer: Callable[[RequestContext], None]) -> None:
    if observer not in _finish_observers:
        _finish_observers.append(observer)


def on_live_event(observer: Callable[[str, RequestContext, dict[str, Any]], None]) -> None:
    if observer not in live_observers:
        live_observers.append(observer)


def emit_live(kind: str, ctx: RequestContext, data: dict[str, Any]) -> None:
    for observer in live_observers:
        try:
            observer(kind, ctx, data)
        except Exception:
            logger.exception("live observer failed")


def finish_request(ctx: RequestContext) -> None:
    if ctx.finished_at is not None:
        return
    ctx.finished_at = time.perf_counter()
    for observer in _finish_observers:
        try:
            observer(ctx)
        except Exception:  # an observer must never break a request
            logger.exception("request observer failed")
    if live_observers:
        emit_live("finish", ctx, {})
