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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

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
    reply = Reply()
    if view.tool_result is not None:
        reply.text = f"The tool returned: {view.tool_result}"
    elif view.tool_names:
        reply.tool_name = view.tool_names[0]
        reply.tool_args = {"city": "Paris", "unit": "celsius"}
    elif view.wants_json or "[[json]]" in text:
        reply.text = json.dumps({"answer": "ok", "echo": text[:40]})
    elif view.has_image:
        reply.text = "I see an image of a red square."
    else:
        reply.text = f"Hello from the fake provider! You said: {text}"
    if view.system_text:
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
