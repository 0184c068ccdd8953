"""OpenAI Responses API (``POST /v1/responses``) <-> canonical model. Pure: dict in, dict out.

The protocol of OpenAI's newer API and of Codex CLI: a request's ``input`` is a list of items
(messages, reasoning, function calls and their outputs), a response is a ``response`` object with
output items, and a stream is named events around snapshots of that object. Stored conversation
state (``previous_response_id`` & co) is the one thing it has that no canonical request can carry.
This package is what ``proxy_app.protocols.contract.WireProtocol`` asks of a protocol:

* ``types``       the wire shapes (request, response object, output items, stream events) as TypedDicts
* ``extras``      the protocol's name and what it keeps in canonical ``extra`` / ``meta``
* ``namespaces``  Codex's namespace tools as flat function names and back
* ``request_in``  a client's request -> canonical (validated), its echo, the stateful-field check
* ``request_out`` canonical -> an upstream's request body
* ``response``    a response object both ways, with usage and the incomplete reasons
* ``stream_in``   ``StreamDecoder``: an upstream's stream events -> canonical events
* ``stream_out``  ``StreamEncoder``: canonical events -> the stream a client reads
* ``errors``      OpenAI's error envelope (shared with Chat Completions) and a stream's failure
"""

from proxy_app.protocols.openai_responses.errors import error_body, error_to_canonical
from proxy_app.protocols.openai_responses.extras import META_ECHO, NAME, X
from proxy_app.protocols.openai_responses.request_in import (
    STATEFUL_UNSUPPORTED,
    request_to_canonical,
    stateful_reference,
)
from proxy_app.protocols.openai_responses.request_out import request_from_canonical
from proxy_app.protocols.openai_responses.response import response_from_canonical, response_to_canonical
from proxy_app.protocols.openai_responses.stream_in import StreamDecoder
from proxy_app.protocols.openai_responses.stream_out import StreamEncoder

__all__ = [
    "META_ECHO",
    "NAME",
    "STATEFUL_UNSUPPORTED",
    "X",
    "StreamDecoder",
    "StreamEncoder",
    "error_body",
    "error_to_canonical",
    "request_from_canonical",
    "request_to_canonical",
    "response_from_canonical",
    "response_to_canonical",
    "stateful_reference",
]
