"""Process-wide counts that the request path updates and ``/metrics`` reads at scrape time.

They live in the core so the usage app's metrics can read them without importing the layers
that update them.
"""

from __future__ import annotations

import collections

# Request fields a client sent that a backend of another protocol does not take, by
# (field name, client protocol, backend protocol): ``llmproxy_dropped_fields_total``.
DROPPED_FIELDS: collections.Counter[tuple[str, str, str]] = collections.Counter()
