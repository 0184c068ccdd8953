"""Which session a request lands in: the client's own conversation ids, never the key alone."""

from __future__ import annotations

from commands_app.session_identity import conversation_fingerprint, session_id_for
from proxy_app.core import canonical as c
from proxy_app.protocols import anthropic, gemini, openai_responses

CLAUDE_USER_ID = '{"device_id":"94eb5c","account_uuid":"","session_id":"5c5430c9-5b7e"}'


def _anthropic(user_id: str | None = None) -> c.ChatRequest:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    return anthropic.request_to_canonical(body)


def test_an_explicit_session_header_wins() -> None:
    headers = {"x-session-id": "mine", "x-claude-code-session-id": "cc"}
    assert session_id_for(headers, _anthropic(CLAUDE_USER_ID)) == "mine"


def test_claude_code_is_identified_by_its_session_header_or_the_id_inside_user_id() -> None:
    assert session_id_for({"x-claude-code-session-id": "5c54"}, _anthropic()) == "5c54"
    assert session_id_for({}, _anthropic(CLAUDE_USER_ID)) == "5c5430c9-5b7e"
    assert session_id_for({}, _anthropic("plain-user")) == "plain-user"


def test_codex_threads_are_sessions_of_their_own() -> None:
    chat = openai_responses.request_to_canonical({"model": "m", "input": "hi", "prompt_cache_key": "pck"})
    assert session_id_for({"session-id": "s1", "thread-id": "t2"}, chat) == "t2"
    assert session_id_for({"session-id": "s1"}, chat) == "s1"
    assert session_id_for({}, chat) == "pck"


def test_a_client_without_ids_gets_one_session_per_conversation_opening() -> None:
    def gemini_request(*turns: str) -> c.ChatRequest:
        contents = [{"role": "user" if i % 2 == 0 else "model", "parts": [{"text": t}]} for i, t in enumerate(turns)]
        return gemini.request_to_canonical({"contents": contents, "systemInstruction": {"parts": [{"text": "sys"}]}},
                                           model="gemini-2.5-pro")

    first = session_id_for({}, gemini_request("task one"))
    later = session_id_for({}, gemini_request("task one", "done", "and now?"))
    other = session_id_for({}, gemini_request("task two"))
    assert first == later  # the same conversation, a later turn
    assert first != other  # another conversation of the same key
    assert first.startswith("conv-")


def test_the_fingerprint_is_the_users_text_up_to_the_first_typed() -> None:
    opening = [c.Message("system", [c.TextPart("s")]), c.Message("user", [c.TextPart("u")])]
    more = [*opening, c.Message("assistant", [c.TextPart("a")]), c.Message("user", [c.TextPart("next")])]
    assert conversation_fingerprint(opening) == conversation_fingerprint(more)
    # Gemini CLI's router asks about the same opening under another system prompt, split into two turns
    context = "<session_context>\ncwd: /w\n</session_context>"
    main = [c.Message("system", [c.TextPart("You are Gemini CLI")]),
            c.Message("user", [c.TextPart(context), c.TextPart("read the file")])]
    router = [c.Message("system", [c.TextPart("You are a Task Routing AI")]),
              c.Message("user", [c.TextPart(context)]), c.Message("user", [c.TextPart("read the file")])]
    assert conversation_fingerprint(main) == conversation_fingerprint(router)
    assert conversation_fingerprint(main) != conversation_fingerprint(
        [c.Message("user", [c.TextPart(context), c.TextPart("another task")])])
