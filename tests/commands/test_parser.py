"""Tests for the in-chat command parser."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands_app.parser import (
    DEFAULT_PREFIX,
    ERR_AFTER_QUOTE,
    ERR_BAD_KEY,
    ERR_EMPTY_ARGUMENT,
    ERR_MISSING_NAME,
    ERR_PREFIX_BACKTICK,
    ERR_PREFIX_CHARS,
    ERR_PREFIX_LENGTH,
    ERR_UNCLOSED_ARGS,
    ERR_UNCLOSED_QUOTE,
    ERR_UNQUOTED_EQUALS,
    Argument,
    Command,
    find_command_message,
    parse_commands,
    strip_commands_from_message,
    suggest,
    validate_prefix,
)
from proxy_app.core.canonical import ImagePart, Message, TextPart, ToolCallPart, ToolResultPart


def kw(key: str, value: str) -> Argument:
    return Argument(key, value)


def pos(value: str) -> Argument:
    return Argument(None, value)


# (text, [(name, args)], remaining_text)
PARSE_CASES: list[tuple[str, list[tuple[str, tuple[Argument, ...]]], str]] = [
    ("!/help", [("help", ())], ""),
    ("!/help(set)", [("help", (pos("set"),))], ""),
    ("!/help()", [("help", ())], ""),
    ("!/help( )", [("help", ())], ""),
    ("!/set(model=openrouter:openai/gpt-4)", [("set", (kw("model", "openrouter:openai/gpt-4"),))], ""),
    (
        "!/set(backend=openrouter, temperature=0.5)",
        [("set", (kw("backend", "openrouter"), kw("temperature", "0.5")))],
        "",
    ),
    ("!/unset(model)", [("unset", (pos("model"),))], ""),
    ("!/oneoff(gemini:gemini-2.5-flash)", [("oneoff", (pos("gemini:gemini-2.5-flash"),))], ""),
    (
        "!/create-failover-route(name=main_fallback, policy=m)",
        [("create-failover-route", (kw("name", "main_fallback"), kw("policy", "m")))],
        "",
    ),
    (
        "!/route-append(name=main_fallback, openrouter:gpt-4, openrouter:sonnet-3.5)",
        [
            (
                "route-append",
                (kw("name", "main_fallback"), pos("openrouter:gpt-4"), pos("openrouter:sonnet-3.5")),
            )
        ],
        "",
    ),
    ('!/set(project="my, project")', [("set", (kw("project", "my, project"),))], ""),
    ("!/set(note='a (b), c=d')", [("set", (kw("note", "a (b), c=d"),))], ""),
    ('!/set(note="say \\"hi\\"")', [("set", (kw("note", 'say "hi"'),))], ""),
    ("!/set(note='it\\'s')", [("set", (kw("note", "it's"),))], ""),
    ('!/set(path="C:\\dir\\\\x")', [("set", (kw("path", "C:\\dir\\x"),))], ""),
    ('!/help("a=b")', [("help", (pos("a=b"),))], ""),
    ('!/set(empty="")', [("set", (kw("empty", ""),))], ""),
    ("!/set(note=it's)", [("set", (kw("note", "it's"),))], ""),
    ("!/set(expr=f(x, g(y)))", [("set", (kw("expr", "f(x, g(y))"),))], ""),
    ("!/set(  model =  x ,  y  )", [("set", (kw("model", "x"), pos("y")))], ""),
    ("!/set(project=my project)", [("set", (kw("project", "my project"),))], ""),
    ("!/set(\n  model=x,\n  temperature=1\n)", [("set", (kw("model", "x"), kw("temperature", "1")))], ""),
    ("please !/set(model=x) answer this", [("set", (kw("model", "x"),))], "please answer this"),
    ("answer this !/set(model=x)", [("set", (kw("model", "x"),))], "answer this"),
    ("run !/help.", [("help", ())], "run."),
    (
        "!/set(model=x) !/unset(temperature) What is 2+2?",
        [("set", (kw("model", "x"),)), ("unset", (pos("temperature"),))],
        "What is 2+2?",
    ),
    ("!/set(model=x)\nWhat is 2+2?", [("set", (kw("model", "x"),))], "What is 2+2?"),
    (
        "Intro\n\n!/set(model=x)\n\nBody\n!/help\nEnd",
        [("set", (kw("model", "x"),)), ("help", ())],
        "Intro\n\nBody\nEnd",
    ),
    ("Intro\n\n!/a\n!/b\n\nBody", [("a", ()), ("b", ())], "Intro\n\nBody"),
    ("!/help (set)", [("help", ())], "(set)"),
    ("Héllo !/sét(clé=vålue)", [("sét", (kw("clé", "vålue"),))], "Héllo"),
    ("see http://x!/y and a!/b", [], "see http://x!/y and a!/b"),
    ("(!/help) \\!/help", [], "(!/help) \\!/help"),
    ("!/a!/b", [("a", ())], "!/b"),
    ("```\n!/set(model=x)\n```\n!/help", [("help", ())], "```\n!/set(model=x)\n```"),
    ("~~~md\n!/set(model=x)\n~~~", [], "~~~md\n!/set(model=x)\n~~~"),
    ("```python\n!/set(model=x)\nnever closed !/help", [], "```python\n!/set(model=x)\nnever closed !/help"),
    ("use `!/help` to see more", [], "use `!/help` to see more"),
    ("``a ` !/help`` !/x", [("x", ())], "``a ` !/help``"),
    ("```!/help``` !/x", [("x", ())], "```!/help```"),
    ("a stray ` then !/help", [("help", ())], "a stray ` then"),
    ('!/set(prompt="use `ls` here") ok', [("set", (kw("prompt", "use `ls` here"),))], "ok"),
    ("no commands here  \n", [], "no commands here  \n"),
]


@pytest.mark.parametrize(("text", "expected", "remaining"), PARSE_CASES)
def test_it_parses_the_table(text: str, expected: list[tuple[str, tuple[Argument, ...]]], remaining: str) -> None:
    result = parse_commands(text)
    assert result.errors == []
    assert [(c.name, c.args) for c in result.commands] == expected
    assert result.remaining_text == remaining
    for command in result.commands:
        assert text[command.start : command.end] == command.raw


def test_it_records_raw_text_and_positions() -> None:
    text = "hi !/set(model=x)  there"
    (command,) = parse_commands(text).commands
    assert command == Command("set", (kw("model", "x"),), "!/set(model=x)", 3, 17)


def test_it_returns_several_commands_in_order() -> None:
    result = parse_commands("!/b !/a(x) text !/c")
    assert [c.name for c in result.commands] == ["b", "a", "c"]
    assert result.remaining_text == "text"


def test_it_uses_a_custom_prefix() -> None:
    result = parse_commands("$$set(model=x) hello !/help", prefix="$$")
    assert [c.name for c in result.commands] == ["set"]
    assert result.remaining_text == "hello !/help"


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("!/set(model=x", ERR_UNCLOSED_ARGS.format(command="!/set"), 5),
        ("!/set(model=x !/help", ERR_UNCLOSED_ARGS.format(command="!/set"), 5),
        ("!/help(", ERR_UNCLOSED_ARGS.format(command="!/help"), 6),
        ("!/set(a=f(x)", ERR_UNCLOSED_ARGS.format(command="!/set"), 5),
        ('!/set(a="x)', ERR_UNCLOSED_QUOTE.format(command="!/set"), 8),
        ("!/", ERR_MISSING_NAME.format(prefix="!/"), 0),
        ("hello !/ world", ERR_MISSING_NAME.format(prefix="!/"), 6),
        ("!/(x)", ERR_MISSING_NAME.format(prefix="!/"), 0),
        ("!/set(a,,b)", ERR_EMPTY_ARGUMENT.format(command="!/set"), 8),
        ("!/set(a,)", ERR_EMPTY_ARGUMENT.format(command="!/set"), 8),
        ("!/set(=x)", ERR_BAD_KEY.format(key="", command="!/set"), 6),
        ("!/set(my key=x)", ERR_BAD_KEY.format(key="my key", command="!/set"), 6),
        ("!/set(url=http://x?a=b)", ERR_UNQUOTED_EQUALS.format(key="url", command="!/set"), 20),
        ('!/set(a="x"y)', ERR_AFTER_QUOTE.format(char="y", command="!/set"), 11),
    ],
)
def test_it_reports_errors_with_positions(text: str, message: str, position: int) -> None:
    result = parse_commands(text)
    assert result.commands == []
    assert [(e.message, e.position) for e in result.errors] == [(message, position)]
    assert result.remaining_text == text


def test_it_keeps_parsing_after_a_local_error() -> None:
    result = parse_commands("!/set(a=b=c) !/help")
    assert [c.name for c in result.commands] == ["help"]
    assert len(result.errors) == 1
    assert result.remaining_text == "!/set(a=b=c)"


@pytest.mark.parametrize(
    ("prefix", "error"),
    [
        ("!/", None),
        ("$$", None),
        ("@@bot:", None),
        ("~/", None),
        ("!", ERR_PREFIX_LENGTH),
        ("", ERR_PREFIX_LENGTH),
        ("12345678901", ERR_PREFIX_LENGTH),
        ("! /", ERR_PREFIX_CHARS),
        ("!\n", ERR_PREFIX_CHARS),
        ("!\x00", ERR_PREFIX_CHARS),
        ("``", ERR_PREFIX_BACKTICK),
    ],
)
def test_it_validates_prefixes(prefix: str, error: str | None) -> None:
    assert validate_prefix(prefix) == error


def test_it_reports_an_invalid_prefix_instead_of_raising() -> None:
    result = parse_commands("!/help", prefix=" ")
    assert result.commands == []
    assert result.remaining_text == "!/help"
    assert [e.message for e in result.errors] == [ERR_PREFIX_LENGTH]


def test_it_normalises_keyword_keys() -> None:
    command = parse_commands("!/set(Reasoning_Effort=high, top-p=1, TOP_P=0.5, extra)").commands[0]
    assert command.kwargs() == {"reasoning-effort": "high", "top-p": "0.5"}
    assert command.positional() == ["extra"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("hlep", "help"), ("Set", "set"), ("route_append", "route-append"), ("zzzz", None), ("", None)],
)
def test_it_suggests_close_names(name: str, expected: str | None) -> None:
    assert suggest(name, ["help", "set", "unset", "route-append"]) == expected


# ---------------------------------------------------------------- messages


def user(*parts: TextPart | ImagePart | ToolResultPart) -> Message:
    return Message(role="user", parts=list(parts))


def test_it_reads_commands_from_the_last_user_message() -> None:
    messages = [user(TextPart("!/set(model=x)")), Message("assistant", [TextPart("ok")]), user(TextPart("hi"))]
    assert find_command_message(messages) == 2


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [user(TextPart("!/help")), Message("assistant", [TextPart("done")])],
        [
            user(TextPart("!/help")),
            Message("assistant", [ToolCallPart("c1", "f", "{}")]),
            Message("tool", [ToolResultPart("c1", [TextPart("!/set(model=x)")])]),
        ],
        [user(ToolResultPart("c1", [TextPart("!/set(model=x)")]))],
    ],
)
def test_it_finds_no_command_turn_unless_a_user_text_message_is_last(messages: list[Message]) -> None:
    assert find_command_message(messages) is None


def test_it_strips_commands_from_text_parts_only() -> None:
    image = ImagePart(url="https://example.com/a.png")
    tool_result = ToolResultPart("c1", [TextPart("!/unset(model)")])
    message = user(TextPart("!/set(model=x) describe", extra={"k": 1}), image, tool_result, TextPart("!/help"))
    commands, errors, stripped = strip_commands_from_message(message, DEFAULT_PREFIX)
    assert [c.name for c in commands] == ["set", "help"]
    assert errors == []
    assert stripped == user(TextPart("describe", extra={"k": 1}), image, tool_result)
    assert message.parts[0] == TextPart("!/set(model=x) describe", extra={"k": 1})


def test_it_returns_no_message_when_only_commands_remain() -> None:
    message = user(TextPart("!/set(model=x)\n"), TextPart("  !/help  "))
    commands, errors, stripped = strip_commands_from_message(message, DEFAULT_PREFIX)
    assert [c.name for c in commands] == ["set", "help"]
    assert stripped is None


def test_it_keeps_a_message_without_commands() -> None:
    message = user(TextPart(""), TextPart("!/set(model="))
    commands, errors, stripped = strip_commands_from_message(message, DEFAULT_PREFIX)
    assert commands == []
    assert [e.message for e in errors] == [ERR_UNCLOSED_ARGS.format(command="!/set")]
    assert stripped == message


# ---------------------------------------------------------------- properties

prefixes = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=2, max_size=10).filter(
    lambda p: validate_prefix(p) is None
)

tokens = st.sampled_from(
    ["!/", "$$", "(", ")", ",", "=", '"', "'", "\\", "`", "```", "~~~", " ", "\n", "help", "set", "a:b/c"]
)
tricky_text = st.lists(tokens | st.text(max_size=3), max_size=40).map("".join)


@settings(max_examples=300)
@given(text=st.text() | tricky_text, prefix=st.just(DEFAULT_PREFIX) | prefixes)
def test_it_never_raises(text: str, prefix: str) -> None:
    result = parse_commands(text, prefix)
    for command in result.commands:
        assert text[command.start : command.end] == command.raw
        assert command.raw.startswith(prefix)
    for error in result.errors:
        assert 0 <= error.position <= len(text)
    if not result.commands:
        assert result.remaining_text == text


@settings(max_examples=300)
@given(text=tricky_text, prefix=st.just("$$") | prefixes)
def test_it_never_raises_on_custom_prefix_tokens(text: str, prefix: str) -> None:
    text = text.replace("!/", prefix)
    parse_commands(text, prefix)
    strip_commands_from_message(user(TextPart(text), TextPart(text)), prefix)


names = st.from_regex(r"[\w-]+", fullmatch=True)
values = st.text(max_size=12) | st.sampled_from(["openrouter:openai/gpt-4", "0.5", "f(x, y)", "a b", ""])
arguments = st.builds(Argument, key=st.none() | names, value=values)
commands_st = st.tuples(names, st.lists(arguments, max_size=4).map(tuple))
separators = st.sampled_from([" ", "\n", "  \t", "\n\n", " please answer ", "\nsome prose\n"])

_PLAIN_VALUE = re.compile(r"[^\s,()=\"'\\`]+")


def render_value(value: str, quote: str) -> str:
    if _PLAIN_VALUE.fullmatch(value) or (value == "f(x, y)"):
        return value
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


def render(prefix: str, name: str, args: tuple[Argument, ...], quote: str, with_parens: bool) -> str:
    if not args and not with_parens:
        return prefix + name
    items = [render_value(a.value, quote) if a.key is None else f"{a.key}={render_value(a.value, quote)}" for a in args]
    return f"{prefix}{name}({', '.join(items)})"


@settings(max_examples=300)
@given(
    generated=st.lists(commands_st, min_size=1, max_size=4),
    prefix=st.just(DEFAULT_PREFIX) | prefixes,
    quote=st.sampled_from(['"', "'"]),
    with_parens=st.booleans(),
    seps=st.lists(separators, min_size=5, max_size=5),
)
def test_it_round_trips_rendered_commands(
    generated: list[tuple[str, tuple[Argument, ...]]],
    prefix: str,
    quote: str,
    with_parens: bool,
    seps: list[str],
) -> None:
    if any(prefix in sep for sep in seps):
        return  # the prose would itself contain a command
    text = seps[0]
    for index, (name, args) in enumerate(generated):
        text += render(prefix, name, args, quote, with_parens) + seps[index + 1]
    result = parse_commands(text, prefix)
    assert result.errors == []
    assert [(c.name, c.args) for c in result.commands] == generated
    assert " ".join(result.remaining_text.split()) == " ".join(w for s in seps[: len(generated) + 1] for w in s.split())


# ---------------------------------------------------------------- what the user typed, in agentic clients


def test_claude_code_reminder_blocks_do_not_count_as_text_beside_a_command() -> None:
    message = Message("user", [TextPart("<system-reminder>\nEnvironment: /tmp\n</system-reminder>"),
                               TextPart("!/hello")])
    commands, errors, stripped = strip_commands_from_message(message)
    assert [c_.name for c_ in commands] == ["hello"] and not errors
    assert stripped is None  # a command-only turn: the proxy answers it


def test_a_command_inside_a_client_block_is_not_the_users() -> None:
    message = Message("user", [TextPart("<session_context>\nuse !/hello to greet\n</session_context>")])
    assert strip_commands_from_message(message) == ([], [], message)


def test_commands_typed_with_a_task_keep_the_clients_blocks_for_upstream() -> None:
    block = "<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"
    message = Message("user", [TextPart(f"{block}\n!/set(model=openai:gpt-4o) read the file")])
    commands, _, stripped = strip_commands_from_message(message)
    assert [c_.name for c_ in commands] == ["set"]
    assert stripped is not None and stripped.parts[0].text.startswith(block)
    assert stripped.parts[0].text.endswith("read the file")


def test_commands_are_read_from_the_user_turn_before_a_trailing_system_turn() -> None:
    messages = [Message("user", [TextPart("!/hello")]), Message("system", [TextPart("# Environment")])]
    assert find_command_message(messages) == 0
    assert find_command_message([Message("system", [TextPart("s")])]) is None
