"""The start-up warm-up's reliance on Django is still there."""

from __future__ import annotations

from llmproxy_site.server.heap import RESOLVER_WARM_UP


def test_the_warm_up_fits_the_installed_django() -> None:
    assert RESOLVER_WARM_UP.problems() == []
