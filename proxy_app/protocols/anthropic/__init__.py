"""Anthropic Messages API (``POST /v1/messages``) <-> the canonical model. Pure: dict in, dict out.

This package is the ``WireProtocol`` for Anthropic: the names below are what the rest of the proxy
uses. Where each part lives:

* ``types``       the wire shapes (TypedDicts) and ``NAME``
* ``request_in``  a client's request -> ``ChatRequest`` (validation, naming the offending field)
* ``request_out`` ``ChatRequest`` -> an upstream request (thinking budgets, tool-result merging)
* ``cache_hints`` prompt-cache breakpoints for clients that cannot set ``cache_control``
* ``markers``     what ``request_in`` leaves in ``extra`` so ``request_out`` re-encodes a request as it came
* ``blocks``      content blocks <-> canonical parts, shared by requests and responses
* ``response``    non-streamed responses, both directions
* ``stream``      ``StreamDecoder`` and ``StreamEncoder`` for the named SSE events
* ``envelope``    message id, stop reasons and usage, shared by responses and streams
* ``errors``      error bodies, both directions
"""

from proxy_app.protocols.anthropic.cache_hints import AUTO_CACHE
from proxy_app.protocols.anthropic.envelope import usage_from_canonical, usage_to_canonical
from proxy_app.protocols.anthropic.errors import error_body, error_to_canonical
from proxy_app.protocols.anthropic.request_in import request_to_canonical
from proxy_app.protocols.anthropic.request_out import DEFAULT_MAX_TOKENS, request_from_canonical
from proxy_app.protocols.anthropic.response import response_from_canonical, response_to_canonical
from proxy_app.protocols.anthropic.stream import StreamDecoder, StreamEncoder
from proxy_app.protocols.anthropic.types import NAME

__all__ = [
    "AUTO_CACHE",
    "DEFAULT_MAX_TOKENS",
    "NAME",
    "StreamDecoder",
    "StreamEncoder",
    "error_body",
    "error_to_canonical",
    "request_from_canonical",
    "request_to_canonical",
    "response_from_canonical",
    "response_to_canonical",
    "usage_from_canonical",
    "usage_to_canonical",
]
