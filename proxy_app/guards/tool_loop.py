"""Tool-call loop detection from the conversation itself.

Agentic clients (Claude Code, Codex CLI, Gemini CLI, SDK agents) send the whole history with
every request, so whether the model is looping is a property of *that* request: its canonical
messages (assistant ``ToolCallPart``s, tool ``ToolResultPart``s matched by ``tool_call_id``)
plus the call the model is making now. Nothing is kept between requests, so independent
conversations, sub-agents, retries and repeated runs of one prompt never add up.

The history is cut at the last *user turn* (a user message after an assistant answer or at
the start; user text sent with tool results, such as Claude Code's reminders, is not a turn):
a call the user asked for again is not a loop. Within the turn three detectors look at the
sequence of calls, each call being its tool name + canonical JSON arguments and its result
(text with harness timing fields such as Codex's ``Wall time`` or pytest's ``in 0.52s``
removed, plus the error flag):

* ``tool_loop`` — the same call answered by the same result ``max_repeats`` times in a row;
* ``cycle`` — a short cycle (A,B,A,B… up to ``cycle_max_period`` calls) with unchanged
  results, repeated ``cycle_max_repeats`` times;
* ``no_progress`` — ``no_progress_max_calls`` calls in a row that each repeat an earlier call
  of the turn and got a result that call already got, with no new assistant text.

Each detector measures how far the call being judged goes past its limit (``excess``): 0 or
less is allowed; 1 is a warning in ``chance_then_break`` mode (the call goes through, and its
result carries a note when the conversation comes back: see ``warnings``) and a stop in
``break`` mode; 2 or more is a stop. Being counted from the history, the warning is shown
every time the conversation is sent again, at the same place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from proxy_app.core import canonical as c

Mode = Literal["break", "chance_then_break"]
Action = Literal["allow", "warn", "break"]
Kind = Literal["tool_loop", "cycle", "no_progress"]
KINDS: tuple[Kind, ...] = ("tool_loop", "cycle", "no_progress")

NOTE_PREFIX = "[llm-interactive-proxy] "
WARN_MESSAGES: dict[str, str] = {
    "tool_loop": (
        'Tool call loop detected: "{tool}" was called {count} times in a row with identical arguments '
        "and got the same result each time. Change the arguments or try a different approach; "
        "repeating this call again will stop the request."
    ),
    "cycle": (
        "Tool call cycle detected: the calls {tools} have repeated in the same order {repeats} times "
        "with unchanged results. Try a different approach; continuing the cycle will stop the request."
    ),
    "no_progress": (
        "No progress detected: the last {count} tool calls repeated earlier calls and got the same "
        "results as before. Try a different approach or report what blocks you; another repeated call "
        "will stop the request."
    ),
}
BREAK_MESSAGES: dict[str, str] = {
    "tool_loop": (
        'Tool call loop detected: "{tool}" was called {count} times in a row with identical arguments '
        "and the same result; the request was stopped by llm-interactive-proxy."
    ),
    "cycle": (
        "Tool call cycle detected: the calls {tools} repeated in the same order {repeats} times with "
        "unchanged results; the request was stopped by llm-interactive-proxy."
    ),
    "no_progress": (
        "No progress detected: the last {count} tool calls repeated earlier calls with unchanged "
        "results; the request was stopped by llm-interactive-proxy."
    ),
}

# Fields tool harnesses add to a command's output that change on every run of the same command:
# Codex's and Gemini CLI's header lines (also after an escaped newline, in a JSON-encoded result),
# Codex's JSON timing fields, and test runners' timing summaries (pytest, cargo, go, jest), which
# are looked for only near the end of the output, where those runners print them.
_HEADER_NAMES = ("Wall time: ", "Chunk ID: ", "Process Group PGID: ", "Background PIDs: ", "Session ID: ")
_HEADERS = re.compile(r"(?:Wall time|Chunk ID|Process Group PGID|Background PIDs|Session ID): [^\n\\\"]*")
_JSON_TIMING = re.compile(r'"(?:duration_seconds|wall_time_seconds|duration_ms)":\s*[\d.]+')
_SUMMARY_TIMING = re.compile(r"\b(?:in|took|after|Time:) *\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds)\b")
_SUMMARY_TAIL = 512


_LONG_NUMBER = re.compile(r"\d{16}")


def canonical_arguments(arguments_json: str) -> str:
    """Key-order- and whitespace-independent form of a tool call's JSON arguments."""
    if not arguments_json.strip():
        return "{}"
    if not _LONG_NUMBER.search(arguments_json):  # orjson reads integers beyond 64 bits as floats
        try:
            return orjson.dumps(orjson.loads(arguments_json), option=orjson.OPT_SORT_KEYS).decode()
        except (orjson.JSONDecodeError, TypeError):
            pass
    try:
        parsed = json.loads(arguments_json)
    except ValueError:
        return arguments_json
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def normalize_result(text: str) -> str:
    """A tool result without the timing fields harnesses add (equal results compare equal)."""
    if any(name in text for name in _HEADER_NAMES):
        text = _HEADERS.sub("", text)
    if '_seconds"' in text or '"duration_ms"' in text:
        text = _JSON_TIMING.sub("", text)
    head, tail = text[:-_SUMMARY_TAIL], text[-_SUMMARY_TAIL:]
    return head + _SUMMARY_TIMING.sub("", tail)


@dataclass(frozen=True)
class ToolLoopConfig:
    enabled: bool = True
    mode: Mode = "chance_then_break"
    max_repeats: int = 4
    cycle_max_period: int = 4
    cycle_max_repeats: int = 3
    no_progress_enabled: bool = True
    no_progress_max_calls: int = 8
    # Assistant text of at least this many characters, not said before in the turn, is progress.
    new_text_min_chars: int = 40

    def __post_init__(self) -> None:
        if self.mode not in ("break", "chance_then_break"):
            raise ValueError(f"unknown tool loop mode: {self.mode!r}")
        if self.max_repeats < 1 or self.cycle_max_repeats < 1 or self.no_progress_max_calls < 1:
            raise ValueError("tool loop limits must be positive")
        if self.cycle_max_period < 1:
            raise ValueError("cycle_max_period must be positive (1 turns cycle detection off)")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> ToolLoopConfig:
        """Build from Django-style ``TOOL_LOOP_*`` keys; absent keys keep the defaults."""
        keys: dict[str, tuple[str, Callable[[Any], Any]]] = {
            "TOOL_LOOP_DETECTION_ENABLED": ("enabled", _as_bool),
            "TOOL_LOOP_MODE": ("mode", _as_mode),
            "TOOL_LOOP_MAX_REPEATS": ("max_repeats", int),
            "TOOL_LOOP_CYCLE_MAX_PERIOD": ("cycle_max_period", int),
            "TOOL_LOOP_CYCLE_MAX_REPEATS": ("cycle_max_repeats", int),
            "TOOL_LOOP_NO_PROGRESS_ENABLED": ("no_progress_enabled", _as_bool),
            "TOOL_LOOP_NO_PROGRESS_MAX_CALLS": ("no_progress_max_calls", int),
        }
        values: dict[str, Any] = {}
        for key, (name, convert) in keys.items():
            if settings.get(key) is not None:
                values[name] = convert(settings[key])
        return cls(**values)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _as_mode(value: Any) -> str:
    mode = str(value).strip().lower()
    return {"warn": "chance_then_break", "warn_then_break": "chance_then_break", "stop": "break"}.get(mode, mode)


class _Result:
    """A call's result. Results are compared as they are first and normalised only when they differ
    (most never are: the raw text of a 100 kB file read compares in microseconds)."""

    __slots__ = ("raw", "_normal")

    def __init__(self, part: c.ToolResultPart) -> None:
        content = part.content
        if len(content) == 1 and type(content[0]) is c.TextPart:
            self.raw: tuple[bool, int, str] = (part.is_error, 0, content[0].text)
        else:
            texts = [p.text for p in content if isinstance(p, c.TextPart)]
            self.raw = (part.is_error, len(content) - len(texts), "\n".join(texts))
        self._normal: str | None = None

    @property
    def normal(self) -> str:
        if self._normal is None:
            self._normal = normalize_result(self.raw[2])
        return self._normal

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Result):
            return NotImplemented
        a, b = self.raw, other.raw
        return a == b or (a[:2] == b[:2] and self.normal == other.normal)

    __hash__ = None  # type: ignore[assignment]


@dataclass(slots=True, eq=False)
class Step:
    """One tool call of the current turn: its signature, result (None while pending) and whether
    the assistant said something new with it."""

    name: str
    signature: str
    call_id: str = ""
    result: _Result | None = None
    result_part: c.ToolResultPart | None = None
    new_text: bool = False
    pending: bool = False  # the call being made now (no result yet); a history call may lack one too

    def same_result(self, other: Step) -> bool:
        """Whether two calls got the same result; a pending call matches any."""
        return self.pending or (self.result is not None and self.result == other.result)


@dataclass(frozen=True)
class Judgement:
    """How far one call goes past a detector's limit, and why."""

    excess: int
    kind: Kind
    count: int  # calls in the run (tool_loop, cycle) or in the streak (no_progress)
    tool: str
    tools: tuple[str, ...] = ()

    def message(self, table: Mapping[str, str]) -> str:
        repeats = self.count // max(len(self.tools), 1)
        return table[self.kind].format(
            tool=self.tool, count=self.count, tools=", ".join(f'"{t}"' for t in self.tools), repeats=repeats
        )


@dataclass(frozen=True)
class ToolLoopVerdict:
    action: Action
    kind: Kind | None = None
    message: str = ""
    judgement: Judgement | None = None


ALLOW = ToolLoopVerdict("allow")
# The most calls of one turn the detectors look at (the latest): bounds the work on very long turns.
MAX_STEPS = 500


def _signature(name: str, arguments: str) -> str:
    return f"{name}\x00{canonical_arguments(arguments)}"


def _normal_text(text: str) -> str:
    return " ".join(text.lower().split())


def _turn_start(messages: Sequence[c.Message]) -> int:
    """Index of the current turn's first message: after the last user message that follows an answer
    (user text sent with tool results, such as Claude Code's reminders, starts no turn)."""
    following = ""  # the role of the closest non-system message after the one looked at
    for i in range(len(messages) - 1, -1, -1):
        role = messages[i].role
        if role == "system":
            continue
        if following == "user" and role != "tool":
            return i + 1
        following = role
    return 0


def conversation_steps(messages: Sequence[c.Message], config: ToolLoopConfig | None = None) -> list[Step]:
    """The tool calls of the conversation's current turn (its last ``MAX_STEPS``), with their results."""
    min_chars = (config or DEFAULT_CONFIG).new_text_min_chars
    steps: list[Step] = []
    by_id: dict[str, Step] = {}
    said: set[str] = set()
    call_part, result_part = c.ToolCallPart, c.ToolResultPart
    for message in messages[_turn_start(messages) :]:
        role = message.role
        if role == "assistant":
            text = message.text()
            new_text = False
            if len(text) >= min_chars:  # shorter text is never progress, so never needs remembering
                text = _normal_text(text)
                new_text = len(text) >= min_chars and text not in said
                said.add(text)
            for part in message.parts:
                if type(part) is call_part:
                    step = Step(part.name, _signature(part.name, part.arguments), part.id, new_text=new_text)
                    new_text = False  # said with the answer's first call
                    steps.append(step)
                    by_id[part.id] = step
        elif role == "tool":
            for part in message.parts:
                if type(part) is result_part:
                    called = by_id.get(part.tool_call_id)
                    if called is not None and called.result is None:
                        called.result, called.result_part = _Result(part), part
    return steps[-MAX_STEPS:]


class LoopAnalysis:
    """The detectors' state over one turn's calls; ``judge`` the calls of the model's answer."""

    def __init__(self, steps: list[Step], config: ToolLoopConfig | None = None) -> None:
        self.config = config or DEFAULT_CONFIG
        self.steps: list[Step] = []
        self._seen: dict[str, list[_Result]] = {}  # each signature's distinct results
        self._streak = 0  # consecutive calls, up to the last one, that repeated a call and its result
        # Judgements the history's calls had when they were made, for the warnings they earned.
        self.history: list[Judgement | None] = []
        for step in steps:
            self.history.append(self._judge_next(step))
            self._append(step)

    @classmethod
    def of(cls, messages: Sequence[c.Message], config: ToolLoopConfig | None = None) -> LoopAnalysis:
        return cls(conversation_steps(messages, config), config)

    def warnings(self) -> list[tuple[Step, Judgement]]:
        """History calls that earned a warning when they were made (``chance_then_break`` only)."""
        if self.config.mode != "chance_then_break":
            return []
        return [
            (step, judgement)
            for step, judgement in zip(self.steps, self.history, strict=True)
            if judgement is not None and judgement.excess == 1 and step.result_part is not None
        ]

    def annotate_warnings(self) -> list[str]:
        """Append each earned warning to its result (in the request going upstream); the kinds warned about."""
        kinds: list[str] = []
        for step, judgement in self.warnings():
            assert step.result is not None and step.result_part is not None
            step.result.normal  # noqa: B018 - from now on compared as the tool returned it, without the note
            annotate_result(step.result_part, judgement.message(WARN_MESSAGES))
            kinds.append(judgement.kind)
        return kinds

    def judge(self, calls: Iterable[tuple[str, str]]) -> ToolLoopVerdict:
        """The verdict on the answer's tool calls (name, JSON arguments), in order; the state is unchanged."""
        clone = LoopAnalysis.__new__(LoopAnalysis)
        clone.config, clone.steps, clone._seen, clone._streak, clone.history = (
            self.config, list(self.steps), dict(self._seen), self._streak, []
        )
        worst: Judgement | None = None
        for name, arguments in calls:
            step = Step(name, _signature(name, arguments), pending=True)
            judgement = clone._judge_next(step)
            clone._append(step)
            if judgement is not None and (worst is None or judgement.excess > worst.excess):
                worst = judgement
        return self.verdict(worst)

    def verdict(self, judgement: Judgement | None) -> ToolLoopVerdict:
        if judgement is None or judgement.excess <= 0:
            return ALLOW
        if judgement.excess == 1 and self.config.mode == "chance_then_break":
            return ToolLoopVerdict("warn", judgement.kind, judgement.message(WARN_MESSAGES), judgement)
        return ToolLoopVerdict("break", judgement.kind, judgement.message(BREAK_MESSAGES), judgement)

    # ------------------------------------------------------------ detectors

    def _append(self, step: Step) -> None:
        seen = self._seen.get(step.signature)
        if step.pending:
            stale = seen is not None
            if seen is None:
                self._seen[step.signature] = []  # ``judge`` works on a copy of the dict
        else:
            stale = (
                seen is not None and step.result is not None and step.result in seen and not step.new_text
            )
            if seen is None:
                self._seen[step.signature] = [step.result] if step.result is not None else []
            elif step.result is not None and not stale and step.result not in seen:
                seen.append(step.result)
        self._streak = self._streak + 1 if stale else 0
        self.steps.append(step)

    def _judge_next(self, step: Step) -> Judgement | None:
        """How the detectors judge ``step`` made after ``self.steps`` (its own result unseen)."""
        if step.signature not in self._seen:
            return None  # a call not made before in this turn repeats nothing
        best: Judgement | None = None
        for judgement in (self._tool_loop(step), self._cycle(step), self._no_progress(step)):
            if judgement is not None and (best is None or judgement.excess > best.excess):
                best = judgement
        return best

    def _tool_loop(self, step: Step) -> Judgement | None:
        limit = self.config.max_repeats
        steps, sig = self.steps, step.signature
        run, ref = 1, None
        for j in range(len(steps) - 1, max(-1, len(steps) - limit - 3), -1):
            prior = steps[j]
            if prior.signature != sig:
                break
            if not prior.pending:
                if prior.result is None or (ref is not None and prior.result != ref):
                    break
                ref = prior.result
            run += 1
        if run <= 1:
            return None
        return Judgement(run - limit, "tool_loop", run, step.name, (step.name,))

    def _cycle(self, step: Step) -> Judgement | None:
        cfg = self.config
        steps = self.steps
        i = len(steps)  # the index ``step`` will have
        best: Judgement | None = None
        for p in range(2, min(cfg.cycle_max_period, i) + 1):
            if steps[i - p].signature != step.signature:
                continue
            cap = cfg.cycle_max_repeats * p + 2
            k = i - 1
            matched = 1  # ``step`` against steps[i - p]
            while matched < cap and k - p >= 0:
                a, b = steps[k], steps[k - p]
                if a.signature != b.signature or not a.same_result(b):
                    break
                matched += 1
                k -= 1
            length = matched + p
            window = {s.signature for s in steps[i - p + 1 :]} | {step.signature}
            if len(window) < 2:
                continue  # a period made of one call is a tool_loop
            excess = length - cfg.cycle_max_repeats * p
            if best is None or excess > best.excess:
                names = tuple(s.name for s in steps[i - p + 1 :]) + (step.name,)
                best = Judgement(excess, "cycle", length, step.name, names)
        return best

    def _no_progress(self, step: Step) -> Judgement | None:
        if not self.config.no_progress_enabled or step.signature not in self._seen:
            return None
        streak = self._streak + 1
        return Judgement(streak - self.config.no_progress_max_calls, "no_progress", streak, step.name)


DEFAULT_CONFIG = ToolLoopConfig()


def warning_note(message: str) -> str:
    return f"{NOTE_PREFIX}{message}"


def annotate_result(part: c.ToolResultPart, message: str) -> None:
    """Add a warning to a tool result the model is about to read again (in the request going upstream).

    A JSON object result (Gemini's function responses) gets a ``proxy_notice`` key so it stays an
    object; any other result gets the note after its text."""
    note = warning_note(message)
    texts = [p for p in part.content if isinstance(p, c.TextPart)]
    if not texts:
        part.content.append(c.TextPart(note))
        return
    last = texts[-1]
    if len(texts) == 1 and last.text.startswith("{"):
        try:
            obj = orjson.loads(last.text)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            obj["proxy_notice"] = note
            last.text = orjson.dumps(obj).decode()
            return
    last.text = f"{last.text}\n\n{note}" if last.text else note
