"""Tests for the streaming loop detector: legitimate repetition passes, real loops are cut."""

from __future__ import annotations

import json
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy_app.guards.loop_detection import (
    LoopConfig,
    LoopDetector,
    LoopMatch,
    find_loop,
    halt_notice,
    required_repetitions,
)

PARAGRAPH = (
    "The committee reviewed the quarterly figures again and concluded that the proposal "
    "needs one more round of analysis before any decision can be made. "
)
SENTENCE = "Let me check the configuration file now. "
TOOL_LINE = "I will now call the tool.\n"
JSON_OBJECT = json.dumps({"id": 7, "name": "widget", "status": "active", "tags": ["a", "b"]}) + ",\n"


def _feed_in_chunks(text: str, seed: int, config: LoopConfig | None = None) -> LoopMatch | None:
    rng = random.Random(seed)
    detector = LoopDetector(config)
    pos = 0
    while pos < len(text):
        size = rng.randint(1, 40)
        match = detector.feed(text[pos : pos + size])
        if match is not None:
            return match
        pos += size
    return detector.finish()


def _markdown_table() -> str:
    rows = ["| # | Name | Status | Owner | Score |", "|---|------|--------|-------|-------|"]
    for i in range(1, 121):
        rows.append(f"| {i} | Item {i % 7} | active | team-{i % 3} | 0 |")
    return "Here is the table:\n\n" + "\n".join(rows) + "\n"


def _numbered_list() -> str:
    return "".join(f"{i}. Item\n" for i in range(1, 400))


def _code_with_repeated_lines() -> str:
    funcs = []
    for i in range(60):
        funcs.append(
            f"def handler_{i}(request):\n    x = 0\n    y = 0\n    if request is None:\n        return x\n    return y\n\n"
        )
    return "```python\n" + "".join(funcs) + "```\n"


def _json_array() -> str:
    items = [{"id": i, "name": "widget", "status": "active", "price": 0, "tags": ["a", "b"]} for i in range(150)]
    return json.dumps(items, indent=2)


def _log_excerpt() -> str:
    lines = []
    for i in range(300):
        lines.append(
            f"2024-05-01T12:{i // 60:02d}:{i % 60:02d}.{i * 7 % 1000:03d}Z WARN worker-1 retrying connection to db:5432 (attempt 1)\n"
        )
    return "```\n" + "".join(lines) + "```\n"


def _poem_with_refrain() -> str:
    refrain = "And still the river runs, the river runs,\nAnd still the river runs to the sea.\n\n"
    verses = [
        "The morning broke on silver hills,\nThe miller turned his wheel.\n",
        "The farmer walked the furrowed fields,\nHis hands as hard as steel.\n",
        "The children ran beside the banks,\nTheir laughter light and free.\n",
        "The old men sat and told their tales,\nBeneath the willow tree.\n",
        "The winter came with bitter winds,\nThe ice lay thick and grey.\n",
        "But spring returned with gentle rain,\nAnd washed the cold away.\n",
    ]
    # A refrain sung twice in a row at the end is still not a loop.
    return "".join(verse + refrain for verse in verses) + refrain


def _ascii_separators() -> str:
    parts = []
    for i in range(40):
        parts.append("-" * 60 + "\n" + f"Section {i}: results\n" + "=" * 80 + "\n")
    parts.append("+" + "-" * 30 + "+" + "-" * 30 + "+\n")
    parts.append("|" + "-" * 200 + "|\n")
    return "".join(parts)


def _zero_filled_data() -> str:
    array = "[" + ", ".join(["0"] * 200) + "]\n"
    table = "static const uint8_t table[] = {\n" + "    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,\n" * 12 + "};\n"
    return array + table


def _blank_markdown_table() -> str:
    return "| Day | Task | Notes |\n|-----|------|-------|\n" + "|     |      |       |\n" * 20


def _prose_with_emphasis() -> str:
    return (
        "This is very very very very important. " + "Really, really, really. " * 3 + "Ha ha ha ha ha ha! " + "No. " * 5
    )


LEGITIMATE = {
    "markdown_table": _markdown_table(),
    "numbered_list": _numbered_list(),
    "code_repeated_lines": _code_with_repeated_lines(),
    "json_array": _json_array(),
    "log_excerpt": _log_excerpt(),
    "poem_with_refrain": _poem_with_refrain(),
    "ascii_separators": _ascii_separators(),
    "zero_filled_data": _zero_filled_data(),
    "blank_markdown_table": _blank_markdown_table(),
    "prose_with_emphasis": _prose_with_emphasis(),
    "whitespace": "\n" * 3000 + " " * 3000 + "\t" * 500,
}

LOOPS = {
    "paragraph": ("Sure, here is the summary.\n\n", PARAGRAPH, 20),
    "sentence": ("Okay.\n", SENTENCE, 40),
    "tool_line": ("Let me think.\n", TOOL_LINE, 60),
    "json_object": ("[\n", JSON_OBJECT, 30),
    "exclamations": ("Wow", "!", 3000),
}


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_never_fires_on_legitimate_repetitive_answers(name: str, seed: int) -> None:
    text = LEGITIMATE[name]
    assert _feed_in_chunks(text, seed) is None
    assert find_loop(text) is None


@pytest.mark.parametrize("name", sorted(LOOPS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_fires_on_genuine_loops(name: str, seed: int) -> None:
    preface, block, count = LOOPS[name]
    match = _feed_in_chunks(preface + block * count, seed)
    assert match is not None
    assert len(match.pattern) == len(block)
    assert match.pattern in block * 2  # the block itself, possibly rotated
    assert match.repetitions >= required_repetitions(len(block), LoopConfig())


def test_it_fires_within_three_repetitions_for_long_blocks() -> None:
    for block in (PARAGRAPH, PARAGRAPH * 2, "x" + PARAGRAPH * 3):
        assert len(block) >= 100
        match = _feed_in_chunks("Intro.\n" + block * 10, seed=5)
        assert match is not None
        assert match.repetitions <= 3


def test_it_reports_where_the_loop_starts_so_the_first_copy_can_be_kept() -> None:
    preface = "Sure, here is the summary:\n\n"
    text = preface + PARAGRAPH * 6
    match = find_loop(text)
    assert match is not None
    assert match.start == len(preface)
    assert match.pattern == PARAGRAPH
    assert text[: match.safe_prefix_length] == preface + PARAGRAPH


def test_it_reports_the_match_only_once_and_keeps_it() -> None:
    detector = LoopDetector()
    first = detector.feed("Hi.\n" + SENTENCE * 20)
    assert first is not None
    assert detector.feed(SENTENCE * 20) is None
    assert detector.finish() is None
    assert detector.match == first


def test_it_does_not_leak_state_between_instances() -> None:
    looping, clean = LoopDetector(), LoopDetector()
    prose = LEGITIMATE["markdown_table"]
    matched = None
    for i in range(0, 3000, 25):
        matched = matched or looping.feed((SENTENCE * 80)[i : i + 25])
        assert clean.feed(prose[i : i + 25]) is None
    assert matched is not None
    assert LoopDetector().feed("Fresh answer with nothing repeated yet.") is None
    assert LoopDetector().match is None


def test_it_analyses_the_tail_of_a_stream_on_finish() -> None:
    detector = LoopDetector(LoopConfig(analysis_interval=1000))
    assert detector.feed("Okay.\n" + SENTENCE * 10) is None  # 416 chars: no checkpoint yet
    match = detector.finish()
    assert match is not None
    assert match.pattern == SENTENCE


def test_it_does_nothing_when_disabled() -> None:
    config = LoopConfig(enabled=False)
    assert find_loop(PARAGRAPH * 20, config) is None
    assert LoopDetector(config).feed(PARAGRAPH * 20) is None


def test_it_ignores_blocks_longer_than_the_maximum_pattern_length() -> None:
    block = " ".join(f"word{i}" for i in range(120)) + "\n"  # about 800 chars
    assert len(block) > LoopConfig().max_pattern_length
    assert find_loop(block * 4) is None


def test_it_requires_more_copies_of_shorter_blocks() -> None:
    config = LoopConfig()
    assert required_repetitions(10, config) == 8
    assert required_repetitions(30, config) == 4
    assert required_repetitions(99, config) == 4
    assert required_repetitions(100, config) == 3
    assert find_loop("Intro.\n" + SENTENCE * 3) is None
    assert find_loop("Intro.\n" + SENTENCE * 5) is not None


def test_it_needs_a_long_run_for_low_information_blocks() -> None:
    assert find_loop("=" * 1000) is None
    assert find_loop("| " * 500) is None
    match = find_loop("=" * 1100)
    assert match is not None and match.pattern == "="


def test_it_reads_settings_keys() -> None:
    config = LoopConfig.from_mapping(
        {
            "LOOP_DETECTION_ENABLED": "false",
            "LOOP_DETECTION_BUFFER_SIZE": "4096",
            "LOOP_DETECTION_MAX_PATTERN_LENGTH": 800,
            "LOOP_DETECTION_MIN_REPETITIONS_SHORT": "10",
            "LOOP_DETECTION_MIN_REPETITIONS_MEDIUM": 5,
            "LOOP_DETECTION_MIN_REPETITIONS_LONG": 4,
            "LOOP_DETECTION_ANALYSIS_INTERVAL": "32",
            "UNRELATED": 1,
        }
    )
    assert config == LoopConfig(
        enabled=False,
        buffer_size=4096,
        max_pattern_length=800,
        min_repetitions_short=10,
        min_repetitions_medium=5,
        min_repetitions_long=4,
        analysis_interval=32,
    )
    assert LoopConfig.from_mapping({}) == LoopConfig()
    assert LoopConfig.from_mapping({"LOOP_DETECTION_ENABLED": True}).enabled is True


def test_it_rejects_a_buffer_too_small_for_the_longest_loop() -> None:
    with pytest.raises(ValueError):
        LoopConfig(buffer_size=1000, max_pattern_length=500, min_repetitions_long=3)


def test_it_renders_a_short_halt_notice() -> None:
    notice = halt_notice(LoopMatch(pattern=PARAGRAPH, repetitions=3, start=0))
    assert notice.startswith("\n\n[Response halted by llm-interactive-proxy: a loop was detected")
    assert '"The committee reviewed the quarterly figures again and concl…"' in notice
    assert "repeated 3 times" in notice
    short = halt_notice(LoopMatch(pattern="I will now\ncall the tool.\n", repetitions=9, start=0))
    assert '"I will now call the tool."' in short


_pieces = st.sampled_from(["alpha ", "beta ", "\n", "| a | b |\n", "0, ", "-" * 10, "x"])


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.lists(_pieces, max_size=60).map("".join),
    block=st.text(alphabet="abcde \n.,", min_size=1, max_size=140),
    copies=st.integers(0, 12),
    suffix=st.lists(_pieces, max_size=20).map("".join),
    cuts=st.lists(st.integers(0, 3000), max_size=40),
)
def test_it_finds_the_same_loop_however_the_text_is_split(
    prefix: str, block: str, copies: int, suffix: str, cuts: list[int]
) -> None:
    text = prefix + block * copies + suffix
    bounds = sorted({c for c in cuts if c < len(text)} | {0, len(text)})
    detector = LoopDetector()
    streamed = None
    for start, end in zip(bounds, bounds[1:], strict=False):
        streamed = detector.feed(text[start:end])
        if streamed is not None:
            break
    else:
        streamed = detector.finish()
    assert streamed == find_loop(text)
    if streamed is not None:
        run = text[streamed.start : streamed.start + streamed.repetitions * len(streamed.pattern)]
        assert run == streamed.pattern * streamed.repetitions


def test_it_is_fast_on_a_megabyte_of_ordinary_text() -> None:
    rng = random.Random(42)
    words = "the a model proxy request stream token answer table row value key function return".split()
    text = " ".join(rng.choice(words) for _ in range(250_000))[:1_000_000]
    detector = LoopDetector()
    started = time.perf_counter()
    for i in range(0, len(text), 20):
        assert detector.feed(text[i : i + 20]) is None
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5


# ---------------------------------------------------------------- paraphrased loops (opt-in)

PARAPHRASE_ON = LoopConfig(paraphrase_enabled=True)
REWORDED = [
    "I apologize for the error. Let me fix the function so that it handles the empty list correctly. Here is the corrected version of the function.",
    "Sorry about that mistake. I will correct the function so it properly handles an empty list. Here's the fixed version of the function.",
    "My apologies for the error. Let me correct the function so that the empty list is handled properly. Below is the corrected function.",
    "I'm sorry for the mistake. I'll fix the function so it correctly handles the empty list case. Here is the fixed function.",
    "Apologies for the error in the function. Let me fix it so that an empty list is handled correctly. Here's the corrected version.",
    "Sorry for the error. I will fix the function to handle the empty list properly. Here is the corrected version of the function.",
]
PARAPHRASE_LOOP = "You're right, the empty case is still broken.\n\n" + "\n\n".join(REWORDED) + "\n"


def test_paraphrase_detection_is_off_by_default() -> None:
    assert LoopConfig().paraphrase_enabled is False
    assert find_loop(PARAPHRASE_LOOP) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_it_catches_the_same_content_in_other_words(seed: int) -> None:
    match = _feed_in_chunks(PARAPHRASE_LOOP, seed, PARAPHRASE_ON)
    assert match is not None and match.kind == "paraphrase"
    assert match == find_loop(PARAPHRASE_LOOP, PARAPHRASE_ON), "the same match however the answer is split"
    end_of_fourth = PARAPHRASE_LOOP.index(REWORDED[3]) + len(REWORDED[3])
    assert match.start < match.safe_prefix_length <= end_of_fourth
    assert PARAPHRASE_LOOP[match.start : match.safe_prefix_length].split() == match.pattern.split()
    notice = halt_notice(match)
    assert "loop was detected" in notice and "in other words" in notice


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
def test_paraphrase_detection_leaves_legitimate_repetition_alone(name: str) -> None:
    assert find_loop(LEGITIMATE[name], PARAPHRASE_ON) is None


def test_it_reads_only_prose() -> None:
    fenced = "Here is the log:\n\n```\n" + "\n".join(REWORDED) + "\n```\n"
    bullets = "Options:\n\n" + "".join(f"- {s}\n" for s in REWORDED)
    labelled = "".join(f"Attempt {i}: {s}\n" for i, s in enumerate(REWORDED))
    quoted_table = "".join(f"| {s} |\n" for s in REWORDED)
    for text in (fenced, bullets, labelled, quoted_table):
        assert find_loop(text, PARAPHRASE_ON) is None, text[:40]


def test_a_sentence_repeated_word_for_word_is_not_a_paraphrase() -> None:
    chorus = "And still the river runs, the river runs to the sea, it carries all our troubles far away.\n"
    verses = ["The morning broke on silver hills and the miller turned his wheel.\n",
              "The children ran beside the banks with laughter light and free.\n",
              "The winter came with bitter winds and the ice lay thick and grey.\n",
              "Old men sat beneath the willow telling tales of summers past.\n",
              "Lanterns glow along the water when the evening settles down.\n"]
    assert find_loop("".join(v + chorus for v in verses), PARAPHRASE_ON) is None


def test_hard_wrapped_paragraphs_are_read_as_sentences() -> None:
    wrapped = "\n".join(line for s in REWORDED for line in (s[: len(s) // 2], s[len(s) // 2 :])) + "\n"
    match = find_loop(wrapped, PARAPHRASE_ON)
    assert match is not None and match.kind == "paraphrase"


def test_it_reads_paraphrase_settings_keys() -> None:
    config = LoopConfig.from_mapping({"LOOP_DETECTION_PARAPHRASE_ENABLED": "true",
                                      "LOOP_DETECTION_PARAPHRASE_SIMILARITY": "0.6",
                                      "LOOP_DETECTION_PARAPHRASE_WINDOW": 16})
    assert (config.paraphrase_enabled, config.paraphrase_similarity, config.paraphrase_window) == (True, 0.6, 16)
    with pytest.raises(ValueError):
        LoopConfig(paraphrase_similarity=0)


def test_paraphrase_detection_is_fast_on_a_megabyte_of_prose() -> None:
    rng = random.Random(7)
    words = ("the proxy routes each request to a backend and records its usage while the guard watches the "
             "stream for loops in the answer text and tool calls made by agents").split()
    sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 20))).capitalize() + "."
                 for _ in range(8000)]
    text = " ".join(sentences)[:1_000_000]
    detector = LoopDetector(LoopConfig(paraphrase_enabled=True, paraphrase_similarity=1.0))
    started = time.perf_counter()
    for i in range(0, len(text), 20):
        detector.feed(text[i : i + 20])
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
