"""Keep the cyclic garbage collector off the long-lived startup heap.

A full collection walks every tracked object. After start-up that is Django, the URL resolvers and
the price list: ~170k objects, ~90 ms a pass. Under load the objects of in-flight requests keep
getting promoted to the oldest generation, which triggers a full pass every few hundred requests:
measured in the benchmark with ``gc.callbacks``, full passes took 15-20% of the proxy's CPU.
``gc.freeze()`` moves everything alive at start-up to a generation the collector never walks; it
would live as long as the process anyway. So first load what the first requests would otherwise
load lazily (and leave unfrozen), collect once, then freeze.

The request path is kept free of reference cycles (see ``lean_handler.cancel_on_disconnect`` and
``daphne_tuning.WebRequest``), so its objects are freed by reference counting and
young collections can be rare.

Patches nothing (``gc.freeze`` is CPython's, 3.7+); the warm-up leans on Django's undocumented
``URLResolver.reverse_dict`` (tested against Django 5.2.19), left out with a warning if it is gone.
"""

from __future__ import annotations

import gc
import logging

from django.conf import settings
from django.urls import URLResolver, get_resolver

from llmproxy_site.server.internals import Internal, Patch

logger = logging.getLogger("llmproxy.heap")

# A young collection every 50k net container allocations (~100 requests) instead of 700 (~7): the
# request path leaves no cyclic garbage, so collecting that often only re-walked live requests.
# Measured in the benchmark: GC time per request 45 -> 14 µs.
GC_THRESHOLDS = (50_000, 20, 20)

RESOLVER_WARM_UP = Patch("heap.warm_up_and_freeze", (Internal(URLResolver, "reverse_dict"),))


def warm_up_and_freeze() -> None:
    """Load the lazily built start-up state, then freeze the heap (once per process)."""
    if RESOLVER_WARM_UP.fits():
        get_resolver().reverse_dict  # noqa: B018  (imports every URLconf module, builds the lookup tables)
    if settings.USAGE_RECORDING_ENABLED:
        from usage_app.pricing import load_seeded_prices

        load_seeded_prices()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    logger.debug("froze %d start-up objects out of the cyclic GC's reach", gc.get_freeze_count())
