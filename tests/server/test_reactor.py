"""Daphne keeps the asyncio reactor ``llmproxy_site.server.reactor`` installs on a uvloop loop."""

from __future__ import annotations

from importlib import metadata


def test_daphne_serves_on_a_uvloop_event_loop() -> None:
    """``llmproxy_site`` installs Twisted's asyncio reactor on uvloop before Django imports Daphne,
    and Daphne keeps it rather than installing its own on the standard library's loop."""
    import daphne.server
    import uvloop
    from twisted.internet import reactor

    assert daphne.server.reactor is reactor and isinstance(reactor._asyncioEventloop, uvloop.Loop), (
        f"reactor.install relies on daphne.server keeping an asyncio reactor installed before it is imported, which "
        f"daphne {metadata.version('daphne')} (Twisted {metadata.version('twisted')}) no longer does: re-measure and "
        f"adapt the patch, or drop it"
    )
