"""Django project package: settings, ASGI entry point, URLs and the Celery app."""

from llmproxy_site.server.reactor import install as _install_reactor

_install_reactor()  # before django.setup() imports Daphne, which would install its own

from llmproxy_site.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
