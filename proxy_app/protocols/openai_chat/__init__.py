"""OpenAI Chat Completions (``POST /v1/chat/completions``) <-> canonical model. Pure: dict in, dict out.

The protocol of OpenAI's chat API and of most OpenAI-compatible servers (vLLM, llama.cpp, DeepSeek,
OpenRouter); this package is what ``proxy_app.protocols.contract.WireProtocol`` asks of a protocol:

* ``types``        the wire shapes (request, completion, chunk, error) as TypedDicts
* ``extras``       the protocol's name and the keys it keeps in canonical ``extra`` / ``meta``
* ``request_in``   a client's request -> canonical, validated field by field
* ``request_out``  canonical -> an upstream's request body
* ``response``     a completion both ways, with finish reasons and usage
* ``stream``       ``StreamDecoder`` (chunks -> canonical events), ``StreamEncoder`` (events -> SSE)
* ``errors``       OpenAI's error envelope both ways
"""

from proxy_app.protocols.openai_chat.errors import error_body, error_to_canonical
from proxy_app.protocols.openai_chat.extras import NAME
from proxy_app.protocols.openai_chat.request_in import request_to_canonical
from proxy_app.protocols.openai_chat.request_out import request_from_canonical
from proxy_app.protocols.openai_chat.response import response_from_canonical, response_to_canonical
from proxy_app.protocols.openai_chat.stream import StreamDecoder, StreamEncoder

__all__ = [
    "NAME",
    "StreamDecoder",
    "StreamEncoder",
    "error_body",
    "error_to_canonical",
    "request_from_canonical",
    "request_to_canonical",
    "response_from_canonical",
    "response_to_canonical",
]
