"""The request path shared by every frontend: route, call the backend (with failover), stream back."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from commands_app.routes import route_lookup
from llmproxy_site.server.shutdown_signal import cancelled_by_shutdown
from proxy_app.chat import reasoning_state
from proxy_app.core import canonical as c
from proxy_app.core.context import AttemptRecord, RequestContext, emit_live, finish_request, live_observers
from proxy_app.core.token_estimate import estimate_request_tokens, estimate_text_tokens, estimate_tokens_for_chars
from proxy_app.guards.apply import guard_response, guard_stream
from proxy_app.protocols.common import new_id
from proxy_app.protocols.contract import StreamEncoding
from proxy_app.providers.registry import BackendRuntime, Registry
from proxy_app.routing.affinity import ConversationAffinity
from proxy_app.routing.targets import Attempt, Target, parse_target, plan_attempts, soonest_recovery

logger = logging.getLogger("llmproxy.pipeline")

SHUTTING_DOWN = "the proxy is shutting down: retry the request"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})

# ``ChatRequest.meta`` keys: the ``backend:model`` that answered, and whether a failover route chose it.
SERVED_MODEL = "served_model"
ROUTED = "routed"
# ``RequestContext.extra`` key: kept / new / moved (why) — the conversation's key (proxy_app.routing.affinity)
AFFINITY = "affinity"

T = TypeVar("T")


class FrontendLike(Protocol):
    """How the request flow answers in the client's protocol (``proxy_app.api.frontend.Frontend``)."""

    name: str

    def response_body(self, resp: c.ChatResponse, chat: c.ChatRequest) -> HttpResponse: ...
    def stream_encoder(self, chat: c.ChatRequest) -> StreamEncoding: ...
    def error_response(self, err: c.ProxyError) -> HttpResponse: ...


@dataclass(frozen=True)
class RoutePlan:
    targets: list[Target]
    policy: str
    registry: Registry  # the registry the targets refer to (a session's openai_url adds a backend)
    compact: bool = False  # the route asks for prompt compaction


async def resolve_route(
    chat: c.ChatRequest, registry: Registry, *, owner_id: int | None, default_backend: str | None,
    openai_url: str | None,
) -> RoutePlan:
    """The route for ``chat.model``: a model alias's target (configuration file), a failover route's
    elements and policy, or one model whose backend keys rotate (policy ``k``)."""
    if (target := settings.MODEL_ALIASES.get(chat.model)) is not None:
        chat.model = target
        chat.meta[ROUTED] = True
    route = await route_lookup(chat.model, owner_id)
    if route is not None:
        chat.meta[ROUTED] = True
        if not route.elements:
            raise c.ProxyError(f"failover route '{route.name}' has no elements", param="model")
        targets = [parse_target(element, registry) for element in route.elements]
        plan = RoutePlan(targets, route.policy, registry, route.compact)
    else:
        plan = RoutePlan([parse_target(chat.model, registry, default_backend=default_backend)], "k", registry)
    if openai_url and any(t.backend == "openai" for t in plan.targets):
        plan = dataclasses.replace(plan, registry=_with_session_backend(registry, openai_url))
    return plan


def with_client_key(plan: RoutePlan, key: str) -> RoutePlan:
    """``plan`` served with the provider key the client brought: on the first target's backend only (a
    failover to another provider would send it a key not meant for it, or bill the operator instead)."""
    backend = plan.targets[0].backend
    overlay = copy.copy(plan.registry)
    overlay.backends = {**plan.registry.backends, backend: plan.registry.backends[backend].with_client_key(key)}
    return dataclasses.replace(plan, targets=[t for t in plan.targets if t.backend == backend], registry=overlay)


def _with_session_backend(registry: Registry, url: str) -> Registry:
    overlay = copy.copy(registry)
    overlay.backends = {**registry.backends, "openai": registry.session_openai_backend(url)}
    return overlay


def backoff_seconds(retry: int) -> float:
    """Exponential backoff with full jitter before retrying the same target."""
    ceiling = min(settings.PROXY_RETRY_BACKOFF_BASE * (2**retry), settings.PROXY_RETRY_BACKOFF_MAX)
    return random.uniform(ceiling / 2, ceiling)


class AttemptRunner:
    """The plan's attempts, tried in order. A 429 cools that key for that model and moves on at
    once; other retryable failures back off before the same target is tried again; anything else
    goes straight back to the client. Resumable: a stream whose upstream fails after it started
    but before any content reached the client goes on with the next attempt (``failed_after_start``,
    then ``run`` again). Never retried once content has reached the client."""

    def __init__(self, plan: RoutePlan, ctx: RequestContext) -> None:
        self.plan = plan
        self.ctx = ctx
        self.errors: list[tuple[Attempt, c.ProxyError]] = []
        self._retries_of: dict[Target, int] = {}
        self._attempts: Iterator[Attempt] | None = None
        self._current: tuple[Attempt, BackendRuntime, str | None, float] | None = None
        self.served_model: str | None = None  # ``backend:model`` of the attempt that answered
        self.affinity = ConversationAffinity("", {})

    async def _plan(self) -> Iterator[Attempt]:
        plan, registry = self.plan, self.plan.registry
        for backend in {t.backend for t in plan.targets}:
            await registry.backends[backend].pool.refresh()
        self.affinity = await ConversationAffinity.load(self.ctx.session_key if self.ctx.session_id else "",
                                                        plan.targets, registry)
        attempts = plan_attempts(plan.targets, plan.policy, registry, self.affinity.preferred())
        if not attempts and settings.COOLDOWN_WAIT_MAX_SECONDS > 0:
            soonest = soonest_recovery(plan.targets, registry)
            if soonest is not None and soonest - time.time() <= settings.COOLDOWN_WAIT_MAX_SECONDS:
                await asyncio.sleep(max(soonest - time.time(), 0) + 0.01)
                attempts = plan_attempts(plan.targets, plan.policy, registry, self.affinity.preferred())
        return iter(attempts[: settings.PROXY_MAX_ATTEMPTS])

    async def run(self, call: Callable[[BackendRuntime, str, str | None], Awaitable[T]]) -> T:
        """The first of the remaining attempts whose ``call`` succeeds; the exhausted plan's error
        (or a non-retryable one) when none does."""
        if self._attempts is None:
            self._attempts = await self._plan()
        registry, ctx = self.plan.registry, self.ctx
        for attempt in self._attempts:
            runtime = registry.backends[attempt.target.backend]
            model = attempt.target.model
            if not runtime.pool.available(attempt.key_index, model):
                continue
            previous = self._retries_of.get(attempt.target)
            if previous is not None and self.errors and self.errors[-1][1].status != 429:
                await asyncio.sleep(backoff_seconds(previous))
            self._retries_of[attempt.target] = (previous if previous is not None else -1) + 1
            key = runtime.pool.key(attempt.key_index)
            ctx.backend, ctx.model, ctx.key_hint = runtime.name, model, runtime.pool.hint(attempt.key_index)
            if ctx.trace is not None:
                ctx.trace.attempt_started(backend=runtime.name, model=model, key_hint=ctx.key_hint,
                                          base_url=runtime.spec.base_url, retry=self._retries_of[attempt.target])
            started = time.perf_counter()
            try:
                result = await call(runtime, model, key)
            except c.ProxyError as err:
                await self._failed(attempt, runtime, key, err, started)
                continue
            ctx.attempts.append(
                AttemptRecord(runtime.name, model, ctx.key_hint, "ok", 200, (time.perf_counter() - started) * 1000.0)
            )
            if ctx.trace is not None:
                ctx.trace.attempt_ended(ctx.attempts[-1], "")
            self.served_model = f"{runtime.name}:{model}"
            ctx.extra[AFFINITY] = self.affinity.served(runtime.pool, model, attempt.key_index, self.errors)
            self._current = (attempt, runtime, key, started)
            return result
        raise _exhausted_error(self.errors, soonest_recovery(self.plan.targets, registry))

    @property
    def served_protocol(self) -> str | None:
        """The wire protocol of the backend whose answer ``run`` last returned."""
        return self._current[1].connector.protocol.NAME if self._current is not None else None

    async def failed_after_start(self, err: c.ProxyError) -> None:
        """The attempt ``run`` last returned failed after all (its stream broke off before any
        content): recorded as failed, with the same consequences for its key; raises when the
        error is not one to try another attempt for."""
        assert self._current is not None
        attempt, runtime, key, started = self._current
        self._current = None
        self.ctx.attempts.pop()  # its "ok"
        self.ctx.usage = c.Usage()  # what its opening reported is not the next attempt's
        await self._failed(attempt, runtime, key, err, started)

    async def _failed(self, attempt: Attempt, runtime: BackendRuntime, key: str | None, err: c.ProxyError,
                      started: float) -> None:
        latency = (time.perf_counter() - started) * 1000.0
        self.ctx.attempts.append(AttemptRecord(runtime.name, attempt.target.model, runtime.pool.hint(attempt.key_index),
                                               err.message, err.status, latency))
        if self.ctx.trace is not None:
            self.ctx.trace.attempt_ended(self.ctx.attempts[-1], err.kind)
        self.errors.append((attempt, err))
        if runtime.pool.client_supplied and err.status in (401, 403, 429):
            raise err  # the client's own key: its provider's refusal or limit is the client's to see
        if err.status == 429:
            await runtime.pool.cool_down(attempt.key_index, attempt.target.model,
                                         err.retry_after or settings.DEFAULT_COOLDOWN_SECONDS)
        elif err.status in (401, 403) and key:
            logger.error("backend %s rejected key %s (HTTP %s): key marked invalid until an operator clears it",
                         runtime.name, runtime.pool.hint(attempt.key_index), err.status)
            await runtime.pool.mark_invalid(attempt.key_index)
            return
        if err.status not in RETRYABLE_STATUS:
            raise err


def _exhausted_error(errors: list[tuple[Attempt, c.ProxyError]], soonest: float | None) -> c.ProxyError:
    retry_in = max((soonest - time.time()) if soonest else 1.0, 1.0)
    if not errors:
        return c.ProxyError(
            f"every key is cooling down after rate limits; retry in {retry_in:.0f}s",
            kind="rate_limit",
            retry_after=retry_in,
        )
    if len(errors) == 1:
        err = errors[0][1]
        if err.status == 429:
            err.retry_after = retry_in if soonest else err.retry_after
        return err
    last = errors[-1][1]
    lines = "; ".join(
        f"{a.target}{f' key #{a.key_index + 1}' if a.key_index >= 0 else ''} → HTTP {e.status}: {e.message}"
        for a, e in errors
    )
    all_rate_limited = all(e.status == 429 for _, e in errors)
    return c.ProxyError(
        f"all {len(errors)} attempts failed: {lines}",
        kind="rate_limit" if all_rate_limited else last.kind,
        status=429 if all_rate_limited else last.status,
        retry_after=retry_in if all_rate_limited else None,
    )


async def serve_chat(
    frontend: FrontendLike, chat: c.ChatRequest, ctx: RequestContext, plan: RoutePlan
) -> HttpResponseBase:
    """Answer ``chat`` along ``plan`` in ``frontend``'s protocol, streamed or not."""
    ctx.stream = chat.stream
    if settings.USAGE_CAPTURE_BODIES or (ctx.trace is not None and ctx.trace.captures_content):
        ctx.extra["prompt"] = prompt_for_capture(chat)
        ctx.answer_parts = []
    if live_observers:
        emit_live("start", ctx, {"targets": [str(t) for t in plan.targets], "policy": plan.policy})
    if not chat.stream:
        runner = AttemptRunner(plan, ctx)
        resp = await runner.run(lambda rt, model, key: rt.connector.complete(chat, model, key))
        chat.meta[SERVED_MODEL] = runner.served_model
        ctx.usage = resp.usage
        if chat.tools and runner.served_protocol is not None and runner.served_protocol != chat.source_protocol:
            reasoning_state.remember(ctx.session_key, resp.parts, backend_protocol=runner.served_protocol,
                                     client_protocol=chat.source_protocol)
            if reasoning_state.wants_sealed(chat):
                resp = dataclasses.replace(resp, parts=reasoning_state.sealed_parts(resp.parts, runner.served_protocol))
        resp = guard_response(resp, chat, ctx)
        answer = resp.text()
        if _usage_missing(ctx.usage):
            ctx.usage = c.Usage(estimate_request_tokens(chat), estimate_text_tokens(answer))
            ctx.usage_estimated = True
        if ctx.answer_parts is not None:
            ctx.extra["answer"] = answer
        if live_observers:
            emit_live("delta", ctx, {"text": answer, "thinking": False})
        response = frontend.response_body(resp, chat)
        finish_request(ctx)
        return response

    async def open_stream(rt: BackendRuntime, model: str, key: str | None) -> tuple[AsyncIterator[c.StreamEvent], c.StreamEvent]:
        """The upstream's stream and its first event: an answer has begun (an error before it is
        the attempt's failure, answered with an HTTP status if no other attempt succeeds)."""
        events = rt.connector.stream(chat, model, key)
        try:
            first = await anext(events, None)
            if first is None:
                raise c.ProxyError(f"backend '{rt.name}' ended its stream without an event", kind="bad_gateway")
            if isinstance(first, c.StreamError):
                raise first.error
        except BaseException:
            await events.aclose()  # type: ignore[attr-defined]
            raise
        return events, first

    runner = AttemptRunner(plan, ctx)
    upstream, first = await runner.run(open_stream)
    chat.meta[SERVED_MODEL] = runner.served_model
    # The client's response (its head and the stream's opening) starts now, as the provider's did,
    # not at the first token: sending the head then took ~0.2 ms of the first token's way out.
    encoder = frontend.stream_encoder(chat)
    events = _failing_over(runner, open_stream, upstream, first)
    if chat.tools and runner.served_protocol != chat.source_protocol:
        events = _keeping_reasoning(events, runner, chat, ctx)
    body = _stream_body(guard_stream(events, chat, ctx), encoder, ctx, upstream=events, chat=chat)
    return _streaming_response(body, encoder)


async def _keeping_reasoning(events: AsyncIterator[c.StreamEvent], runner: AttemptRunner, chat: c.ChatRequest,
                             ctx: RequestContext) -> AsyncIterator[c.StreamEvent]:
    """The events, unchanged; at a completed answer its signed reasoning is kept for the client's
    replay (``reasoning_state``). Only streams of tool-using requests across protocols pass here."""
    collected = reasoning_state.StreamedReasoning()
    seal = reasoning_state.wants_sealed(chat)
    try:
        async for event in events:
            collected.feed(event)
            served = runner.served_protocol
            if isinstance(event, c.StreamEnd) and served is not None:
                reasoning_state.remember(ctx.session_key, collected.parts(), backend_protocol=served,
                                         client_protocol=chat.source_protocol)
            if seal and served is not None and isinstance(event, c.ThinkingDelta) and (
                    event.signature or event.redacted_data):
                # the thinking it signs is the collector's latest part, this event's text included
                event = reasoning_state.sealed_event(event, collected.thinking[-1].text, served)
            yield event
    finally:
        await events.aclose()  # type: ignore[attr-defined]


async def _failing_over(
    runner: AttemptRunner,
    open_stream: Callable[[BackendRuntime, str, str | None], Awaitable[tuple[AsyncIterator[c.StreamEvent], c.StreamEvent]]],
    upstream: AsyncIterator[c.StreamEvent],
    event: c.StreamEvent,
) -> AsyncIterator[c.StreamEvent]:
    """The answer's events, from ``event`` (the upstream's first) on. Until the first content event,
    the client has only the stream's opening, which any attempt's answer can follow: an upstream
    that fails then (Anthropic's ``overloaded_error`` after ``message_start``, a dropped
    connection) hands over to the next attempt, whose own opening is not repeated. After content,
    or when no attempt is left, the error goes to the client in its protocol's stream. The current
    upstream is closed at the end (cancelling it when the client left or a guard halted)."""
    content = False
    try:
        while True:
            if isinstance(event, c.StreamError) and not content:
                await upstream.aclose()  # type: ignore[attr-defined]
                try:
                    await runner.failed_after_start(event.error)
                    upstream, event = await runner.run(open_stream)
                except c.ProxyError as err:
                    yield c.StreamError(err)
                    return
                except Exception:
                    yield _internal_error("failing over a stream")
                    return
                continue  # its StreamStart is observed (its usage), not sent again
            content = content or not isinstance(event, c.StreamStart)
            yield event
            if isinstance(event, c.StreamError):
                return
            try:
                next_event = await anext(upstream, None)
            except Exception:
                yield _internal_error(f"in the stream from backend {runner.ctx.backend}")
                return
            if next_event is None:
                return
            event = next_event
    finally:
        await upstream.aclose()  # type: ignore[attr-defined]


def _internal_error(where: str) -> c.StreamError:
    """A bug met after the response's head went out (a decoder's, say): logged, and the client's
    stream ends with its protocol's error event, the request recorded as failed, instead of the
    connection being cut off with a 200 on record."""
    logger.exception("unexpected error %s", where)
    return c.StreamError(c.internal_error())


def _streaming_response(body: AsyncIterator[bytes], encoder: StreamEncoding) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type=encoder.content_type)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # no proxy buffering in front of us either
    return response


def answer_directly(frontend: FrontendLike, chat: c.ChatRequest, text: str, ctx: RequestContext) -> HttpResponseBase:
    """The proxy's own answer (command output), in the client's protocol, with zero usage."""
    ctx.answered_by_proxy = True
    ctx.stream = chat.stream
    resp = c.ChatResponse(id=new_id("proxy-"), model=chat.model, parts=[c.TextPart(text)], stop_reason="end_turn")
    if not chat.stream:
        response = frontend.response_body(resp, chat)
        finish_request(ctx)
        return response

    async def events() -> AsyncIterator[c.StreamEvent]:
        yield c.StreamStart(resp.id, chat.model, c.Usage())
        yield c.TextDelta(text)
        yield c.StreamEnd("end_turn", c.Usage())

    encoder = frontend.stream_encoder(chat)
    return _streaming_response(_stream_body(events(), encoder, ctx), encoder)


async def _stream_body(
    events: AsyncIterator[c.StreamEvent], encoder: StreamEncoding, ctx: RequestContext, *,
    upstream: AsyncIterator[c.StreamEvent] | None = None, chat: c.ChatRequest | None = None,
) -> AsyncIterator[bytes]:
    """Encode ``events`` for the client (only the first ``StreamStart`` opens the stream; a failover's
    is observed, not sent). ``upstream``, the innermost of ``events``' generators, is closed at the
    end too (closing a generator does not close the one it reads); ``chat`` allows estimating
    usage the upstream did not report."""
    ended = opened = False
    try:
        async for event in events:
            _observe(event, ctx, chat)
            if isinstance(event, c.StreamStart):
                if opened:
                    continue
                opened = True
            elif isinstance(event, c.StreamEnd):
                ended = True
            chunk = encoder.encode(event)
            if chunk:
                yield chunk
            if isinstance(event, c.StreamError):
                return
        if not ended:
            # upstream closed without a final event: end the client's stream properly anyway
            yield encoder.encode(c.StreamEnd("end_turn", ctx.usage))
    except asyncio.CancelledError as exc:
        if not cancelled_by_shutdown(exc):
            ctx.client_disconnected = True
            ctx.status = 499
            raise
        # the grace period is over: the client gets its protocol's error event, not a cut-off body
        error = c.StreamError(c.ProxyError(SHUTTING_DOWN, kind="unavailable"))
        _observe(error, ctx, chat)
        yield encoder.encode(error)
    finally:
        if ctx.answer_parts is not None:
            ctx.extra["answer"] = "".join(ctx.answer_parts)
        await events.aclose()  # type: ignore[attr-defined]
        if upstream is not None:
            await upstream.aclose()  # type: ignore[attr-defined]  # closes (cancels) the upstream request
        finish_request(ctx)


def _usage_missing(usage: c.Usage) -> bool:
    return not usage.input_tokens and not usage.output_tokens


def prompt_for_capture(chat: c.ChatRequest) -> list[dict[str, str]]:
    """The (already redacted) conversation as role/text pairs, for operators who turn capture on."""
    return [{"role": m.role, "text": m.text()} for m in chat.messages]


def _observe(event: c.StreamEvent, ctx: RequestContext, chat: c.ChatRequest | None) -> None:
    if isinstance(event, c.TextDelta):
        ctx.answer_chars += len(event.text)
        if ctx.answer_parts is not None:
            ctx.answer_parts.append(event.text)
    if live_observers and isinstance(event, c.TextDelta | c.ThinkingDelta):
        emit_live("delta", ctx, {"text": event.text, "thinking": isinstance(event, c.ThinkingDelta)})
    if ctx.first_token_at is None and isinstance(event, (c.TextDelta, c.ThinkingDelta, c.ToolCallStart)):
        ctx.first_token_at = time.perf_counter()
    elif isinstance(event, c.StreamEnd):
        ctx.usage = event.usage
        if _usage_missing(event.usage) and chat is not None:
            ctx.usage = c.Usage(estimate_request_tokens(chat), estimate_tokens_for_chars(ctx.answer_chars))
            ctx.usage_estimated = True
    elif isinstance(event, c.StreamStart) and event.usage is not None:
        ctx.usage = event.usage
    elif isinstance(event, c.StreamError):
        ctx.status = event.error.status
        ctx.error_type = event.error.kind
        ctx.error_message = event.error.message
