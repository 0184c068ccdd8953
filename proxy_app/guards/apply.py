"""Guards on every request: secret redaction and prompt compaction on the way out, loop and tool-loop
detection on the way back.

The pure detectors live in ``redaction``, ``compaction``, ``loop_detection`` and ``tool_loop``; this module
applies them to canonical requests, responses and stream events, with per-session switches
(``chat.meta`` keys set by ``!/set(...)``) overriding the operator's settings. Tool-loop
detection reads only the request's own conversation (``inject_tool_loop_warning`` builds the
analysis once per request, before the request goes upstream, and the response guards judge the
answer's calls against it); nothing is kept between requests.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import AsyncIterator

from django.conf import settings

from proxy_app.core import canonical as c
from proxy_app.core.context import RequestContext
from proxy_app.core.token_estimate import estimate_request_tokens, estimate_tokens_for_chars
from proxy_app.guards.compaction import Compaction, CompactionConfig, compact_messages
from proxy_app.guards.loop_detection import LoopConfig, LoopDetector, find_loop, halt_notice
from proxy_app.guards.redaction import SecretRedactor
from proxy_app.guards.tool_loop import LoopAnalysis, ToolLoopConfig

logger = logging.getLogger("llmproxy.guards")


def _switch(chat: c.ChatRequest, name: str, default: bool) -> bool:
    value = chat.meta.get(name)
    return default if value is None else bool(value)


# ---------------------------------------------------------------- redaction


@functools.lru_cache(maxsize=8)
def _redactor(secrets: tuple[str, ...]) -> SecretRedactor:
    return SecretRedactor(secrets)


def redact_request(chat: c.ChatRequest, known_secrets: tuple[str, ...]) -> int:
    """Replace secrets in every text the model will see; returns how many were replaced."""
    if not _switch(chat, "redact-api-keys-in-prompts", settings.REDACT_API_KEYS_IN_PROMPTS):
        return 0
    redactor = _redactor(known_secrets)
    count = 0

    def clean(text: str) -> str:
        nonlocal count
        new, n = redactor.redact(text)
        count += n
        return new

    for message in chat.messages:
        for i, part in enumerate(message.parts):
            if isinstance(part, c.TextPart):
                part.text = clean(part.text)
            elif isinstance(part, c.ToolCallPart):
                part.arguments = clean(part.arguments)
            elif isinstance(part, c.ToolResultPart):
                for inner in part.content:
                    if isinstance(inner, c.TextPart):
                        inner.text = clean(inner.text)
            elif isinstance(part, c.ThinkingPart) and part.signature is None:
                # signed thinking must stay byte-exact or the provider rejects it
                message.parts[i] = dataclasses.replace(part, text=clean(part.text))
    if count:
        logger.info("redacted %d secret(s) from a prompt", count)
    return count


# ---------------------------------------------------------------- prompt compaction


def compaction_config() -> CompactionConfig:
    return CompactionConfig(keep_turns=max(1, settings.COMPACT_KEEP_TURNS), min_chars=settings.COMPACT_MIN_CHARS,
                            keep_chars=settings.COMPACT_KEEP_CHARS,
                            min_savings_tokens=settings.COMPACT_MIN_SAVINGS_TOKENS)


def compact_request(chat: c.ChatRequest, *, route_compact: bool) -> Compaction:
    """Shorten the old, large tool results of ``chat`` when compaction is on: a session's
    ``!/set(compact=...)`` decides, else the route's switch or ``COMPACT_ENABLED``."""
    if not _switch(chat, "compact", route_compact or settings.COMPACT_ENABLED):
        return Compaction()
    done = compact_messages(chat.messages, compaction_config())
    if done.results:
        logger.info("compacted %d old tool result(s), ~%d tokens", done.results, done.saved_tokens)
    return done


# ---------------------------------------------------------------- loop detection


@functools.lru_cache(maxsize=1)
def loop_config() -> LoopConfig:
    return LoopConfig.from_mapping({k: getattr(settings, k) for k in dir(settings) if k.startswith("LOOP_DETECTION_")})


def loop_detection_on(chat: c.ChatRequest) -> bool:
    return _switch(chat, "loop-detection", loop_config().enabled)


def guard_response(resp: c.ChatResponse, chat: c.ChatRequest, ctx: RequestContext) -> c.ChatResponse:
    """Truncate a looping non-streamed answer and stop repeated tool calls."""
    if loop_detection_on(chat):
        text = resp.text()
        match = find_loop(text, loop_config()) if text else None
        if match is not None:
            _halted(ctx, match.kind)
            kept = text[: match.safe_prefix_length] + halt_notice(match)
            others = [p for p in resp.parts if not isinstance(p, c.TextPart)]
            resp = dataclasses.replace(resp, parts=[*others, c.TextPart(kept)], stop_reason="loop_detected")
    calls = [(p.name, p.arguments) for p in resp.parts if isinstance(p, c.ToolCallPart)]
    if calls and tool_loop_on(chat):
        verdict = _tool_loop_analysis(chat, ctx).judge(calls)
        if verdict.action == "warn":
            ctx.loop_warning_kind = verdict.kind or ""
        elif verdict.action == "break":
            _halted(ctx, verdict.kind or "tool_loop")
            kept_parts = [p for p in resp.parts if not isinstance(p, c.ToolCallPart)]
            note = verdict.message if not resp.text() else f"\n\n{verdict.message}"
            return dataclasses.replace(resp, parts=[*kept_parts, c.TextPart(note)], stop_reason="end_turn")
    return resp


# ---------------------------------------------------------------- tool-call loops


@functools.lru_cache(maxsize=1)
def tool_loop_config() -> ToolLoopConfig:
    return ToolLoopConfig.from_mapping({k: getattr(settings, k) for k in dir(settings) if k.startswith("TOOL_LOOP_")})


def tool_loop_on(chat: c.ChatRequest) -> bool:
    return _switch(chat, "tool-loop-detection", tool_loop_config().enabled)


def _tool_loop_analysis(chat: c.ChatRequest, ctx: RequestContext) -> LoopAnalysis:
    """The detectors' view of this request's conversation, computed once per request."""
    analysis = ctx.tool_loop
    if analysis is None:
        analysis = ctx.tool_loop = LoopAnalysis.of(chat.messages, tool_loop_config())
    return analysis


def inject_tool_loop_warning(chat: c.ChatRequest, ctx: RequestContext) -> None:
    """Show the model, in the request going upstream, the warnings its conversation has earned.

    A call that went one past a detector's limit was let through (``chance_then_break``); its
    result, wherever it is in the history, carries the warning. Counted from the conversation
    alone, so the same history always gets the same notes (prompt caches keep matching) and
    independent conversations never affect each other.
    """
    if not tool_loop_on(chat) or not any(m.role == "tool" for m in chat.messages):
        return
    notes = _tool_loop_analysis(chat, ctx).annotate_warnings()
    if notes:
        logger.info("tool loop warning shown to the model (%s)", ", ".join(notes))


def _halted(ctx: RequestContext, kind: str) -> None:
    """Record a halt on the request (its usage row and /metrics count halts by kind)."""
    ctx.loop_halts += 1
    ctx.loop_halt_kind = kind
    logger.warning("%s detected: answer halted", kind)


async def guard_stream(
    events: AsyncIterator[c.StreamEvent], chat: c.ChatRequest, ctx: RequestContext
) -> AsyncIterator[c.StreamEvent]:
    """Pass events through, halting a looping answer and withholding a looping tool call.

    On a text loop the repeated tail is not forwarded, a notice and a final ``StreamEnd`` with
    stop reason ``loop_detected`` follow, and returning closes the upstream stream.
    Tool calls are held back until complete, so a call judged a loop is never half-sent; a
    stopped call is replaced by a notice and ``StreamEnd("end_turn")``.
    """
    detector = LoopDetector(loop_config()) if loop_detection_on(chat) else None
    check_tools = tool_loop_on(chat)
    fed = 0
    held: list[c.StreamEvent] = []  # one tool call's start + argument deltas
    calls: list[tuple[str, str]] = []  # this answer's complete calls
    answer_chars = 0

    def release_held() -> tuple[list[c.StreamEvent], str | None]:
        """The held call's events, or a break message when the call repeats a loop."""
        if not held:
            return [], None
        start = held[0]
        assert isinstance(start, c.ToolCallStart)
        calls.append((start.name, "".join(e.arguments for e in held if isinstance(e, c.ToolCallDelta))))
        verdict = _tool_loop_analysis(chat, ctx).judge(calls)
        out = list(held)
        held.clear()
        if verdict.action == "break":
            _halted(ctx, verdict.kind or "tool_loop")
            return [], verdict.message
        if verdict.action == "warn":
            ctx.loop_warning_kind = verdict.kind or ""
        return out, None

    async for event in events:
        if check_tools and isinstance(event, c.ToolCallStart | c.ToolCallDelta):
            # a new call completes the held one; deltas join the held call
            if not (isinstance(event, c.ToolCallStart) and held):
                held.append(event)
                continue
        if held and isinstance(event, c.ToolCallStart | c.StreamEnd | c.TextDelta | c.ThinkingDelta):
            released, stop = release_held()
            if stop:
                yield _halt(stop, chat, ctx, answer_chars)
                yield c.StreamEnd("end_turn", ctx.usage)
                return
            for e in released:
                yield e
            if isinstance(event, c.ToolCallStart):
                held.append(event)
                continue
        if detector is not None and isinstance(event, c.TextDelta):
            match = detector.feed(event.text)
            if match is not None:
                allowed = max(match.safe_prefix_length - fed, 0)
                if allowed:
                    yield c.TextDelta(event.text[:allowed])
                _halted(ctx, match.kind)
                answer_chars += allowed
                yield _halt(halt_notice(match), chat, ctx, answer_chars)
                yield c.StreamEnd("loop_detected", ctx.usage)
                return
            fed += len(event.text)
        if isinstance(event, c.TextDelta):
            answer_chars += len(event.text)
        yield event


def _halt(notice: str, chat: c.ChatRequest, ctx: RequestContext, answer_chars: int) -> c.TextDelta:
    """The notice that ends a halted answer; usage is estimated since the upstream never finished."""
    if ctx.usage.output_tokens == 0:
        ctx.usage = c.Usage(
            input_tokens=ctx.usage.input_tokens or estimate_request_tokens(chat),
            output_tokens=estimate_tokens_for_chars(answer_chars),
        )
        ctx.usage_estimated = True
    return c.TextDelta(notice if notice.startswith("\n") else f"\n\n{notice}")
