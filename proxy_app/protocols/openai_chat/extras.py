"""The protocol's name and the keys it keeps in canonical ``extra`` and ``meta``.

They carry what only an OpenAI client and an OpenAI backend share (see ``core/canonical.py``): the
decoders set them, and only this protocol's encoders read them back.
"""

from __future__ import annotations

NAME = "openai_chat"

# ``TextPart.extra`` key: the text is the model's refusal (``message.refusal``), not its content.
REFUSAL = "refusal"
# ``Message.extra`` key (never sent): an assistant message that came without ``content``.
NO_CONTENT = "__openai_no_content__"
# ``ChatRequest.meta`` key: which of ``max_tokens`` / ``max_completion_tokens`` the client used.
MAX_TOKENS_FIELD = "openai_max_tokens_field"
# ``ChatRequest.meta`` key: ``response_format.json_schema.description``, which OpenAI alone reads.
JSON_SCHEMA_DESCRIPTION = "openai_json_schema_description"
