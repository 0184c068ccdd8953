"""Puts the Twisted reactor Daphne serves on onto a uvloop event loop.

Daphne installs Twisted's asyncio reactor when ``daphne.server`` is first imported (at
``django.setup()``, through ``"daphne"`` in ``INSTALLED_APPS``), on a loop from
``asyncio.new_event_loop()``: the standard library's selector loop. If an asyncio reactor is
already installed, Daphne keeps it, so installing one on a uvloop loop first makes the whole
request path (Twisted's sockets, the application's tasks, the upstream client's connections) run on
libuv. Measured with ``bench/`` (Daphne, non-stream, A/B): CPU per request at c = 10 1.43 → 1.30 ms
(−9 %) and 1.51 → 1.40 ms (−7 %), added p50 at c = 1 1.79 → 1.67 and 1.86 → 1.78 ms. Without uvloop
(not built for the platform) Daphne's own loop is used, as before.

Written and tested against daphne 4.2.3, Twisted 26.10.0 and uvloop 0.23.0. It uses only public
Twisted and uvloop calls, but relies on what ``daphne.server`` does when imported (keep an asyncio
reactor already installed); that cannot be checked before Daphne is imported, which must come
after, so ``tests/server/test_reactor.py`` checks it.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor


def install() -> None:
    """Install the asyncio reactor on a uvloop loop, unless a reactor is already installed."""
    if "twisted.internet.reactor" in sys.modules:
        return
    try:
        import uvloop
    except ImportError:
        return
    from twisted.internet import asyncioreactor

    loop = uvloop.new_event_loop()
    if "ASGI_THREADS" in os.environ:  # what Daphne does with the loop it would have made
        loop.set_default_executor(ThreadPoolExecutor(max_workers=int(os.environ["ASGI_THREADS"])))
    asyncioreactor.install(loop)
