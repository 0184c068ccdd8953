"""Pure protocol translators: every wire format converts to and from ``proxy_app.core.canonical``.

One package per wire protocol (``openai_chat``, ``openai_responses``, ``anthropic``, ``gemini``), each
split by concern (``types``, request, response, stream, errors) behind a facade that exposes the same
surface, checked by mypy against ``contract.WireProtocol``:

* ``NAME``
* ``request_to_canonical(payload) -> ChatRequest`` / ``request_from_canonical(req) -> wire request``
* ``response_to_canonical(payload) -> ChatResponse`` /
  ``response_from_canonical(resp, *, model) -> wire response``
* ``StreamDecoder().feed(data, event) -> [StreamEvent]`` and ``.finish() -> [StreamEvent]``
* ``StreamEncoder(model=..., include_usage=...).encode(event) -> bytes``
* ``error_body(ProxyError) -> wire error`` / ``error_to_canonical(status, body) -> ProxyError``

No module here does I/O or imports Django (an import-linter contract keeps it so).
"""
