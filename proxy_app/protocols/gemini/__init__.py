"""Google Gemini API (``generateContent`` / ``streamGenerateContent``) <-> canonical model.

Pure: dict in, dict out. Gemini puts the model and the stream flag in the URL, so
``request_to_canonical`` takes the model as a keyword and the caller sets ``req.stream``;
``request_from_canonical`` builds the body only.

Same-protocol losslessness: whatever the canonical model cannot express is kept in ``extra`` dicts
(or as ``RawPart``) and only written back when the request came from a Gemini client. Snake_case
field names are accepted on input; output is camelCase.

This package is the protocol (``proxy_app.protocols.contract.WireProtocol``); its modules:

* ``request_in`` / ``request_out``: the request body, decoded and encoded;
* ``response``: the answer body, with the usage and finish-reason mappings;
* ``stream``: ``StreamDecoder`` and ``StreamEncoder`` for ``streamGenerateContent``;
* ``errors``: error bodies (``google.rpc.Status``) both ways;
* ``parts``: one content part both ways, shared by the three above;
* ``schema``: JSON Schema <-> Gemini's OpenAPI-style ``Schema``;
* ``types``: the wire shapes (TypedDicts); ``wire``, ``json_text``, ``call_ids``: small shared helpers.
"""

from proxy_app.protocols.gemini.errors import ERROR_STATUSES, error_body, error_to_canonical
from proxy_app.protocols.gemini.request_in import request_to_canonical
from proxy_app.protocols.gemini.request_out import DUMMY_THOUGHT_SIGNATURE, EFFORT_BUDGETS, request_from_canonical
from proxy_app.protocols.gemini.response import (
    FINISH_REASON_IN,
    FINISH_REASON_OUT,
    response_from_canonical,
    response_to_canonical,
    usage_from_canonical,
)
from proxy_app.protocols.gemini.schema import schema_from_gemini, schema_to_gemini
from proxy_app.protocols.gemini.stream import StreamDecoder, StreamEncoder
from proxy_app.protocols.gemini.wire import NAME

__all__ = [
    "DUMMY_THOUGHT_SIGNATURE",
    "EFFORT_BUDGETS",
    "ERROR_STATUSES",
    "FINISH_REASON_IN",
    "FINISH_REASON_OUT",
    "NAME",
    "StreamDecoder",
    "StreamEncoder",
    "error_body",
    "error_to_canonical",
    "request_from_canonical",
    "request_to_canonical",
    "response_from_canonical",
    "response_to_canonical",
    "schema_from_gemini",
    "schema_to_gemini",
    "usage_from_canonical",
]
