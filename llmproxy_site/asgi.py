"""ASGI entry point.

Client-protocol paths (``/v1``, ``/v1beta``, ``/anthropic``, ``/healthz``, ``/metrics``) go to
a Django handler with no middleware: the admin's session/CSRF/auth stack is useless there,
and each of those middlewares costs a thread hop per request under ASGI. Everything else
(admin, usage API, dashboard) gets the full stack; websockets (live inspector) go to Channels.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmproxy_site.settings")

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from llmproxy_site.server.lean_handler import LeanASGIHandler, PathSplitter  # noqa: E402
from proxy_app.operations import inspector  # noqa: E402

lean_application = LeanASGIHandler()

application = ProtocolTypeRouter(
    {
        "http": PathSplitter(lean=lean_application, full=django_application),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(inspector.websocket_urlpatterns))),
    }
)
inspector.install_for_shared_layer()

from llmproxy_site.server.heap import warm_up_and_freeze  # noqa: E402

warm_up_and_freeze()
