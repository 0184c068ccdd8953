"""Hypothesis strategies for what Chat Completions' responses and streams carry (stop reasons, usage);
the protocol-independent ones are in ``tests/protocols/strategies.py``."""

from __future__ import annotations

from hypothesis import strategies as st

from proxy_app.core import canonical as c

stop_reasons = st.sampled_from(["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter",
                                "loop_detected", "error", None])
# canonical stop reasons Chat Completions has no word for come back as end_turn
STOP_BACK = {"stop_sequence": "end_turn", "loop_detected": "end_turn", "error": "end_turn"}
usages = st.builds(c.Usage, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
