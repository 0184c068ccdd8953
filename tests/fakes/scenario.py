"""What a fake provider answers, decided from a protocol-neutral view of the request.

Magic words in the newest user text steer it:

* ``[[error:NNN]]``  answer HTTP NNN with the provider's error body
* ``[[loop]]``       stream a degenerate answer that repeats one paragraph forever-ish
* ``[[slow]]``       stream many small chunks with a gap (client-disconnect tests)
* ``[[cut]]``        break the connection after a few stream frames
* ``[[hang]]``       wait 5 s before answering (timeout tests)
* ``[[linger]]``     keep a finished stream's body open for 5 s after its last frame
* ``[[late-end]]``   end a finished stream's body 50 ms after its last frame (as a network may)
* ``[[nousage]]``    report no token usage (as some OpenAI-compatible servers do)
* ``[[json]]``       answer with a JSON object (also when a JSON response format is requested)
* ``[[think]]``      include reasoning (also when the request enables thinking)

Tools: when the request offers tools and the conversation's last message is not a tool
result, the fake calls the first tool; after a tool result it answers with that result.

``[[agent:…]]`` tags in the newest *human* text make the fake a scripted coding agent instead
(``agent.py``): it calls the tools a CLI offers to read and edit files. When the request asks for JSON
with a schema, the answer conforms to that schema (CLIs' routers and checkers parse it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .agent import ToolCall, human_text, plan_agent, sample_for_schema

LOOP_PARAGRAPH = (
    "I am going to check the configuration file again to see whether the value is set correctly, "
    "and then I will report back. "
)
SECRET_PATTERN_NOTE = "fake providers never see real keys"


@dataclass
class NeutralRequest:
    """The few facts about a request that decide the fake's answer."""

    last_user_text: str = ""
    tool_names: list[str] = field(default_factory=list)
    tool_result: str | None = None  # text of the tool result if the last turn is one
    wants_json: bool = False
    wants_thinking: bool = False
    has_image: bool = False
    system_text: str = ""
    prompt_chars: int = 0
    # the newest user text a human typed: CLI context blocks stripped, turns of only tool results skipped
    human_text: str = ""
    tool_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # offered tools: name -> parameters
    tool_calls: list[ToolCall] = field(default_factory=list)  # the model's calls, whole conversation, in order
    tool_results: list[str] = field(default_factory=list)  # every tool result's text, in order
    turn_start_calls: int = 0  # how many of tool_calls came before the newest human text
    turn_start_results: int = 0  # how many of tool_results came before it
    json_schema: dict[str, Any] | None = None  # the requested response schema, if any


@dataclass
class Reply:
    text: str = ""
    thinking: str = ""
    tool_name: str | None = None
    tool_args: dict[str, object] | None = None
    error_status: int | None = None
    loop: bool = False
    slow: bool = False
    cut: bool = False
    hang: float = 0.0
    linger: float = 0.0
    no_usage: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    call_index: int = 1  # this tool call's number in the conversation (1-based): ids stay unique

    def text_chunks(self) -> list[str]:
        """The answer split into stream deltas (word by word, like real providers do)."""
        if self.loop:
            return [self.text[i : i + 20] for i in range(0, len(self.text), 20)]
        if self.slow:
            return [f"tick {i} " for i in range(400)]
        return re.findall(r"\S+\s*|\s+", self.text) or ([self.text] if self.text else [])


def plan_reply(view: NeutralRequest) -> Reply:
    text = view.last_user_text
    if m := re.search(r"\[\[error:(\d{3})\]\]", text):
        return Reply(error_status=int(m.group(1)))
    reply = Reply(call_index=len(view.tool_calls) + 1)
    # a tagged task is worked on in the requests that offer tools; a CLI's side requests (titles, routing,
    # checks with a JSON schema) quote the same human text but get ordinary answers
    step = plan_agent(view) if view.tool_schemas and view.json_schema is None else None
    if step is not None:
        reply.text, reply.tool_name, reply.tool_args = step.text or "", step.tool_name, step.tool_args
    elif view.tool_result is not None:
        reply.text = f"The tool returned: {view.tool_result}"
    elif view.tool_names:
        reply.tool_name = view.tool_names[0]
        reply.tool_args = {"city": "Paris", "unit": "celsius"}
    elif view.json_schema is not None:
        hints = {"answer": "ok", "echo": text[:40]}
        reply.text = json.dumps(sample_for_schema(view.json_schema, hints))
    elif view.wants_json or "[[json]]" in text:
        reply.text = json.dumps({"answer": "ok", "echo": text[:40]})
    elif view.has_image:
        reply.text = "I see an image of a red square."
    else:
        reply.text = f"Hello from the fake provider! You said: {text}"
    if view.system_text and step is None and view.json_schema is None:
        reply.text += f" [system: {view.system_text[:40]}]"
    reply.loop = "[[loop]]" in text
    if reply.loop:
        reply.text = LOOP_PARAGRAPH * 40
    reply.slow = "[[slow]]" in text
    reply.cut = "[[cut]]" in text
    reply.hang = 5.0 if "[[hang]]" in text else 0.0
    reply.linger = 5.0 if "[[linger]]" in text else 0.05 if "[[late-end]]" in text else 0.0
    reply.no_usage = "[[nousage]]" in text
    if view.wants_thinking or "[[think]]" in text:
        reply.thinking = "Let me think step by step about this request."
        reply.reasoning_tokens = 9
    reply.input_tokens = 11 + view.prompt_chars // 4
    reply.cached_tokens = 3 if "[[cached]]" in text else 0
    reply.output_tokens = max(1, len(reply.text.split())) + reply.reasoning_tokens + (12 if reply.tool_name else 0)
    return reply


__all__ = ["LOOP_PARAGRAPH", "NeutralRequest", "Reply", "ToolCall", "human_text", "plan_reply"]
