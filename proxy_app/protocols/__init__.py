"""Pure protocol translators: every wire format converts to and from ``canonical``.

Each protocol module (``openai_chat``, ``anthropic``, ``gemini``, …) exposes the same
surface, so frontends and backends can treat them alike:

* ``NAME``
* ``request_to_canonical(payload) -> ChatRequest`` / ``request_from_canonical(req) -> dict``
* ``response_to_canonical(payload) -> ChatResponse`` /
  ``response_from_canonical(resp, *, model) -> dict``
* ``StreamDecoder().feed(data, event) -> [StreamEvent]`` and ``.finish() -> [StreamEvent]``
* ``StreamEncoder(model=..., include_usage=...).encode(event) -> bytes``
* ``error_body(ProxyError) -> dict`` / ``error_to_canonical(status, body) -> ProxyError``

No module here does I/O or imports Django.
"""
