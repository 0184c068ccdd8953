"""Incremental detection of degenerate repetition (a model looping) in answer text.

A *loop* is a block of ``L`` characters repeated back to back at the end of the text.
How many repetitions it takes depends on ``L`` (defaults in brackets):

* long blocks, ``long_pattern_length``..``max_pattern_length`` chars [100..500]:
  ``min_repetitions_long`` [3] — a paragraph said three times in a row is never prose;
* medium blocks, ``medium_pattern_length``..``long_pattern_length - 1`` [30..99]:
  ``min_repetitions_medium`` [4] — one sentence or code line four times in a row;
* short blocks, below ``medium_pattern_length`` [1..29]: ``min_repetitions_short`` [8]
  *and* at least ``min_short_loop_chars`` [160] repeated characters, so ``very very``,
  ``0, 0, 0`` or ``ha ha`` stay legal while ``the the the …`` is caught;
* low-information blocks (fewer than 3 distinct letters/digits, e.g. ``-----``,
  ``|---|``, ``0x00, ``, ``| | |``, emoji, ``!!!``) whatever their length need at least
  ``min_low_information_chars`` [1024] repeated characters: separators, table rules and
  zero-filled arrays are legitimately long, yet a real ``!!!!…`` loop is still stopped;
* whitespace-only blocks never count.

Repetition must be *exact* and *consecutive*: numbered lists, tables whose rows differ in
one cell, JSON arrays with different ids, timestamped logs and refrains separated by
verses are therefore never periodic and cannot fire.

Cost: the text is analysed only when its length crosses a multiple of
``analysis_interval`` and only over the last ``buffer_size`` characters, so the result
depends only on the text, never on how it was split into deltas. One analysis finds the
candidate periods from the earlier occurrences of the final characters
(``str.rfind``) and measures each candidate run with slice comparisons (C speed), about
O(max_pattern_length) work per analysis — amortised O(1) per character.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Longest text tail used to propose candidate periods: longer tails recur by chance less often.
_MAX_TAIL = 64
_NOTICE_SNIPPET = 60

HALT_NOTICE = '\n\n[Response halted by llm-interactive-proxy: a loop was detected — the block "{snippet}" repeated {repetitions} times.]'
PARAPHRASE_NOTICE = (
    "\n\n[Response halted by llm-interactive-proxy: a loop was detected — the answer kept saying the same thing "
    'in other words ("{snippet}", at least {repetitions} times).]'
)


@dataclass(frozen=True)
class LoopConfig:
    enabled: bool = True
    buffer_size: int = 2048
    max_pattern_length: int = 500
    min_repetitions_short: int = 8
    min_repetitions_medium: int = 4
    min_repetitions_long: int = 3
    analysis_interval: int = 64
    min_pattern_length: int = 1
    medium_pattern_length: int = 30
    long_pattern_length: int = 100
    min_short_loop_chars: int = 160
    min_low_information_chars: int = 1024
    # Paraphrased loops (see ``ParaphraseDetector``); off by default.
    paraphrase_enabled: bool = False
    paraphrase_window: int = 12
    paraphrase_similarity: float = 0.5
    paraphrase_min_echoes: int = 2
    paraphrase_consecutive: int = 1

    def __post_init__(self) -> None:
        if self.analysis_interval < 1 or self.min_pattern_length < 1:
            raise ValueError("analysis_interval and min_pattern_length must be positive")
        if self.buffer_size < self.max_pattern_length * self.min_repetitions_long:
            raise ValueError("buffer_size must hold max_pattern_length * min_repetitions_long characters")
        if not 0 < self.paraphrase_similarity <= 1 or self.paraphrase_window < 2:
            raise ValueError("paraphrase_similarity must be in (0, 1] and paraphrase_window at least 2")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> LoopConfig:
        """Build from Django-style settings keys; absent keys keep the defaults."""
        keys = {
            "LOOP_DETECTION_ENABLED": "enabled",
            "LOOP_DETECTION_BUFFER_SIZE": "buffer_size",
            "LOOP_DETECTION_MAX_PATTERN_LENGTH": "max_pattern_length",
            "LOOP_DETECTION_MIN_REPETITIONS_SHORT": "min_repetitions_short",
            "LOOP_DETECTION_MIN_REPETITIONS_MEDIUM": "min_repetitions_medium",
            "LOOP_DETECTION_MIN_REPETITIONS_LONG": "min_repetitions_long",
            "LOOP_DETECTION_ANALYSIS_INTERVAL": "analysis_interval",
            "LOOP_DETECTION_PARAPHRASE_ENABLED": "paraphrase_enabled",
            "LOOP_DETECTION_PARAPHRASE_SIMILARITY": "paraphrase_similarity",
            "LOOP_DETECTION_PARAPHRASE_WINDOW": "paraphrase_window",
        }
        values: dict[str, Any] = {}
        for key, field_name in keys.items():
            if key not in settings or settings[key] is None:
                continue
            raw = settings[key]
            if field_name in ("enabled", "paraphrase_enabled"):
                values[field_name] = _as_bool(raw)
            elif field_name == "paraphrase_similarity":
                values[field_name] = float(raw)
            else:
                values[field_name] = int(raw)
        return cls(**values)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


@dataclass(frozen=True)
class LoopMatch:
    pattern: str
    repetitions: int
    # Offset in the whole fed text where the run (the block's first occurrence) begins; for a
    # paraphrase, where the sentence that completed it begins.
    start: int
    kind: str = "text_loop"  # or "paraphrase"

    @property
    def safe_prefix_length(self) -> int:
        """Text before this offset may be forwarded: it ends after the block's first occurrence."""
        return self.start + len(self.pattern)


def required_repetitions(length: int, config: LoopConfig) -> int:
    """How many consecutive copies a block of ``length`` chars needs to count as a loop."""
    if length >= config.long_pattern_length:
        return config.min_repetitions_long
    if length >= config.medium_pattern_length:
        return config.min_repetitions_medium
    return config.min_repetitions_short


def _is_loop(block: str, run: int, config: LoopConfig) -> bool:
    length = len(block)
    if length < config.min_pattern_length or run // length < required_repetitions(length, config):
        return False
    if length < config.medium_pattern_length and run < config.min_short_loop_chars:
        return False
    if len({c for c in block if c.isalnum()}) < 3:
        return run >= config.min_low_information_chars
    return True


@lru_cache(maxsize=32)
def tail_length(config: LoopConfig) -> int:
    """Longest tail that still recurs at distance ``p`` whenever a ``p``-periodic run could fire.

    A run long enough to fire covers ``p + tail`` characters, so its tail occurs ``p``
    characters earlier; a longer tail means fewer chance occurrences to check.
    """
    periods = range(config.min_pattern_length, config.max_pattern_length + 1)
    slack = min(_shortest_firing_run(p, config) - p for p in periods)
    return max(1, min(_MAX_TAIL, slack))


def _shortest_firing_run(period: int, config: LoopConfig) -> int:
    run = required_repetitions(period, config) * period
    if period < config.medium_pattern_length:
        run = max(run, config.min_short_loop_chars)
    return run


def _run_length(window: str, period: int) -> int:
    """Length of the longest suffix of ``window`` that is ``period``-periodic (galloping + bisection)."""
    n = len(window)

    def periodic(length: int) -> bool:
        return window[n - length : n - period] == window[n - length + period :]

    good = 2 * period  # the caller has checked two full copies
    step = good
    while good < n:
        probe = min(n, good + step)
        if not periodic(probe):
            bad = probe
            break
        good = probe
        step *= 2
    else:
        return n
    while bad - good > 1:
        mid = (good + bad) // 2
        if periodic(mid):
            good = mid
        else:
            bad = mid
    return good


def _analyse(window: str, offset: int, config: LoopConfig, tail_len: int) -> LoopMatch | None:
    """Find a loop ending at the end of ``window`` (whose first char is at ``offset`` in the text)."""
    n = len(window)
    if n <= tail_len:
        return None
    tail_start = n - tail_len
    tail = window[tail_start:]
    lo = max(0, tail_start - config.max_pattern_length)
    hi = n - 1  # an occurrence must end before the text does, i.e. period >= 1
    seen: set[int] = set()
    while True:
        found = window.rfind(tail, lo, hi)
        if found < 0:
            return None
        period = tail_start - found
        hi = found + tail_len - 1
        if 2 * period > n or window[n - 2 * period : n - period] != window[n - period :]:
            continue
        block = window[n - period :]
        # A block made of smaller copies is judged by its primitive period, so "-" * 300
        # is not mistaken for three 100-char blocks.
        primitive = (block + block).find(block, 1)
        if primitive < period:
            period = primitive
            block = window[n - period :]
        if period in seen:
            continue
        seen.add(period)
        run = _run_length(window, period)
        # Candidates inside this run are multiples of its period (same run) or were seen first.
        hi = min(hi, max(n - run + tail_len - 1, 0))
        if not block.strip():
            continue
        if _is_loop(block, run, config):
            begin = n - run
            return LoopMatch(pattern=window[begin : begin + period], repetitions=run // period, start=offset + begin)


# ---------------------------------------------------------------- paraphrased loops

_STOPWORDS = frozenset("""
a an the and or but if then else of to in on at by for with from as is are was were be been being it its this that these
those i i'm i'll i've i'd you you're your we we're our they they're their he she his her them me my mine us do does did
done have has had having not no so will would can could should shall may might must there here what which who whom when
where why how all any each every some such than too very just also let let's now ok okay up out into over under again
once more most other only own same about after before because while until both few further off don't doesn't didn't isn't
aren't wasn't weren't won't can't couldn't it's that's here's there's what's yes
""".split())
_WORD = re.compile(r"[a-z0-9][a-z0-9.']*[a-z0-9]|[a-z]")
_SENTENCE_END = re.compile(r"[.!?][\"')\]*_]*\s+")
_BULLET = re.compile(r"(?:[-*+]|\d+[.)])\s")
_LABEL = re.compile(r"[A-Za-z][\w-]*(?: [\w-]+){0,2}:\s")  # "Requires-Python: ", "Note: ", "Q: "
_MAX_SENTENCE = 2000
_MAX_SENTENCE_WORDS = 100


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """A crude stem, enough for comparing bags of words: plural/-ed/-ing off, then 5 letters."""
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith(("ses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return word[:5]


class ParaphraseDetector:
    """Near-duplicate detection over an answer's prose: the same content said again in other words.

    Only prose is read: paragraphs of lines that start with a letter, outside code fences, that
    are not list items, table rows, headings, ``Label: value`` lines or indented code (structured
    output repeats by design; exact loops in it are the periodic detector's job). Each new
    sentence adds its content words (stop words dropped, crudely stemmed) to a stream; a sentence
    said before word for word adds nothing, so refrains, choruses and boilerplate never count.
    After each sentence the last ``paraphrase_window`` words (a set of 1-shingles) are compared by
    Jaccard similarity with the earlier windows that do not overlap it: a window similar
    (``paraphrase_similarity``) to ``paraphrase_min_echoes`` earlier ones says the same thing for
    at least the third time; ``paraphrase_consecutive`` such windows in a row are a loop. Windows
    are 12-word sets, so exact Jaccard over the last ``_HISTORY`` windows is cheaper here than
    MinHash signatures would be. Off by default: long reference-style prose (API docs, changelogs)
    says similar things in similar words often enough to trip it (see the README).
    """

    _HISTORY = 32

    __slots__ = ("config", "match", "_line", "_line_start", "_kind", "_in_code", "_para", "_para_start",
                 "_stems", "_count", "_said", "_windows", "_hot")

    def __init__(self, config: LoopConfig) -> None:
        self.config = config
        self.match: LoopMatch | None = None
        self._line: list[str] = []  # the current line while it is not known whether it is prose
        self._line_start = 0
        self._kind: str | None = None  # the current line: "prose", "fence", "other" or None (not known yet)
        self._in_code = False
        self._para: list[str] = []  # the current paragraph's text not yet read as sentences (newlines as spaces)
        self._para_start = 0  # its offset in the answer
        self._stems: deque[str] = deque(maxlen=config.paraphrase_window)
        self._count = 0
        self._said: set[str] = set()
        self._windows: deque[tuple[int, frozenset[str]]] = deque(maxlen=self._HISTORY)
        self._hot = 0

    def feed(self, text: str, offset: int) -> LoopMatch | None:
        """Add ``text`` (found at ``offset`` in the answer); returns the match once a paraphrase loop is seen."""
        if self.match is not None:
            return None
        for i, piece in enumerate(text.split("\n")):
            if i:
                self._end_line()
                if self.match is not None:
                    return self.match
                self._line_start = offset
            self._add(piece)
            offset += len(piece) + 1
        return self.match

    def finish(self) -> LoopMatch | None:
        if self.match is None:
            self._end_line()
            self._end_paragraph()
        return self.match

    def _add(self, piece: str) -> None:
        if self._kind is None:
            self._line.append(piece)
            raw = "".join(self._line)
            if len(raw.lstrip()) < 4:
                return  # too little of the line to tell what it is
            self._classified(raw)
        elif self._kind == "prose":
            self._para.append(piece)
            if _SENTENCE_END.search(piece) or sum(map(len, self._para)) > _MAX_SENTENCE:
                self._sentences(final=False)

    def _classified(self, raw: str) -> None:
        head = raw.lstrip()
        if head.startswith(("```", "~~~")):
            kind = "fence"
        elif self._in_code or raw.startswith(("    ", "\t")) or _BULLET.match(head):
            kind = "other"
        else:
            head = head.lstrip("*_>\"' ")
            kind = "prose" if head[:1].isalpha() and not _LABEL.match(head) else "other"
        self._kind = kind
        self._line.clear()
        if kind != "prose":
            self._end_paragraph()
            return
        if not self._para:
            self._para_start = self._line_start
        self._para.append(raw)
        if _SENTENCE_END.search(raw):
            self._sentences(final=False)

    def _end_line(self) -> None:
        if self._kind is None:
            raw = "".join(self._line)
            if raw.strip():
                self._classified(raw)
            else:
                self._line.clear()
                self._end_paragraph()  # a blank line
        if self._kind == "fence":
            self._in_code = not self._in_code
        elif self._kind == "prose" and self.match is None:
            self._sentences(final=False)
            if self._para:
                self._para.append(" ")  # the paragraph may go on on the next line
        self._kind = None

    def _end_paragraph(self) -> None:
        if self._para and self.match is None:
            self._sentences(final=True)
        self._para.clear()

    def _sentences(self, final: bool) -> None:
        text = "".join(self._para)
        consumed = 0
        for m in _SENTENCE_END.finditer(text):
            self._sentence(text[consumed : m.end()], self._para_start + consumed)
            consumed = m.end()
            if self.match is not None:
                return
        if final or len(text) - consumed > _MAX_SENTENCE:
            if text[consumed:].strip():
                self._sentence(text[consumed:], self._para_start + consumed)
            consumed = len(text)
        self._para = [text[consumed:]] if consumed < len(text) else []
        self._para_start += consumed

    def _sentence(self, sentence: str, start: int) -> None:
        words = _WORD.findall(sentence.lower())
        key = " ".join(words)
        if key in self._said:
            return
        self._said.add(key)
        stems = [_stem(w) for w in words if len(w) > 2 and w not in _STOPWORDS]
        if not 3 <= len(stems) <= _MAX_SENTENCE_WORDS:
            return  # too short to judge, or a run-on (word lists, data) rather than a sentence
        cfg = self.config
        self._stems.extend(stems)
        self._count += len(stems)
        if self._count < cfg.paraphrase_window:
            return
        window = frozenset(self._stems)
        horizon = self._count - cfg.paraphrase_window
        # |A & B| >= t * |A | B|  <=>  |A & B| * (1 + t) >= t * (|A| + |B|)
        scale = cfg.paraphrase_similarity / (1 + cfg.paraphrase_similarity)
        size = len(window)
        echoes = 0
        for end, earlier in self._windows:
            if end > horizon:
                break  # windows are in order; later ones overlap this one
            if len(window & earlier) >= scale * (size + len(earlier)):
                echoes += 1
        self._windows.append((self._count, window))
        if echoes < cfg.paraphrase_min_echoes:
            self._hot = 0
            return
        self._hot += 1
        if self._hot >= cfg.paraphrase_consecutive:
            self.match = LoopMatch(pattern=sentence, repetitions=echoes + 1, start=start, kind="paraphrase")


class LoopDetector:
    """Per-request streaming detector: ``feed`` each text delta, act on the first match."""

    __slots__ = ("config", "match", "_tail_len", "_buffer", "_pending", "_total", "_next_check", "_paraphrase")

    def __init__(self, config: LoopConfig | None = None) -> None:
        self.config = config or LoopConfig()
        self.match: LoopMatch | None = None
        self._tail_len = tail_length(self.config)
        self._buffer = ""
        self._pending: list[str] = []
        self._total = 0
        self._next_check = self.config.analysis_interval
        # Reads the text a checkpoint at a time, as the periodic analysis does (nothing per delta).
        self._paraphrase = ParaphraseDetector(self.config) if self.config.paraphrase_enabled else None

    @property
    def fed_length(self) -> int:
        return self._total

    def feed(self, text: str) -> LoopMatch | None:
        """Add a delta; returns a match only on the call that first detects a loop."""
        if not text or self.match is not None or not self.config.enabled:
            return None
        self._pending.append(text)
        self._total += len(text)
        if self._total < self._next_check:
            return None
        return self._analyse_until(self._total)

    def finish(self) -> LoopMatch | None:
        """Analyse the text after the last analysis point (call when the stream ends)."""
        if self.match is not None or not self.config.enabled:
            return None
        match = self._analyse_until(self._total)
        if match is None and self._total % self.config.analysis_interval:
            match = self._check_at(self._total)
        if match is None and self._paraphrase is not None:
            self._join()
            match = self.match = self._paraphrase.finish()
        return match

    def _join(self) -> tuple[str, int]:
        if self._pending:
            new = "".join(self._pending)
            self._pending.clear()
            if self._paraphrase is not None:
                self._paraphrase.feed(new, self._total - len(new))
            self._buffer += new
        return self._buffer, self._total - len(self._buffer)

    def _check_at(self, end: int) -> LoopMatch | None:
        data, base = self._join()
        begin = max(base, end - self.config.buffer_size)
        self.match = _analyse(data[begin - base : end - base], begin, self.config, self._tail_len)
        if self.match is None and self._paraphrase is not None:
            # Reported at the first checkpoint past it, so the result never depends on how the text was split.
            found = self._paraphrase.match
            if found is not None and found.safe_prefix_length <= end:
                self.match = found
        return self.match

    def _analyse_until(self, end: int) -> LoopMatch | None:
        interval = self.config.analysis_interval
        while self._next_check <= end:
            checkpoint = self._next_check
            self._next_check += interval
            if self._check_at(checkpoint) is not None:
                return self.match
        self._buffer = self._buffer[-self.config.buffer_size :]
        return None


def find_loop(text: str, config: LoopConfig | None = None) -> LoopMatch | None:
    """The loop a streaming detector would report for ``text`` (for non-streamed answers)."""
    detector = LoopDetector(config)
    return detector.feed(text) or detector.finish()


def halt_notice(match: LoopMatch) -> str:
    """The user-visible note appended where a looping answer is cut."""
    snippet = " ".join(match.pattern.split())
    if len(snippet) > _NOTICE_SNIPPET:
        snippet = snippet[:_NOTICE_SNIPPET].rstrip() + "…"
    template = PARAPHRASE_NOTICE if match.kind == "paraphrase" else HALT_NOTICE
    return template.format(snippet=snippet, repetitions=match.repetitions)
