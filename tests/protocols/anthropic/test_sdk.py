"""The Anthropic SDK parses what the encoders emit."""

from __future__ import annotations

from proxy_app.protocols import anthropic as a
from tests.protocols.anthropic.samples import DOCUMENTED_RESPONSES, MODEL, RECORDED_STREAM
from tests.protocols.anthropic.streams import decode, parse


def test_it_emits_responses_and_stream_events_the_anthropic_sdk_parses() -> None:
    from anthropic.types import Message, RawMessageStreamEvent
    from pydantic import TypeAdapter

    for payload in DOCUMENTED_RESPONSES.values():
        resp = a.response_to_canonical(payload)
        Message.model_validate(a.response_from_canonical(resp, model=MODEL))
    encoder = a.StreamEncoder(model=MODEL, include_usage=False)
    events = parse(b"".join(encoder.encode(e) for e in decode(RECORDED_STREAM)))
    adapter = TypeAdapter(RawMessageStreamEvent)
    for event in events:
        if event["type"] != "ping":
            parsed = adapter.validate_python(event)
            assert parsed.type == event["type"]
