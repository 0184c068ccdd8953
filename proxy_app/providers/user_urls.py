"""The connector for a URL a client chose (a session's ``openai-url``): it reaches only the addresses
``OPENAI_URL_ALLOWED_HOSTS`` / ``OPENAI_URL_ALLOWED_NETWORKS`` allow besides public ones.

Each call first resolves the host and checks every address (a 403 in the client's protocol when one
is refused), then runs with ``destinations.GUARD`` set, so that the proxy's own transport checks the
addresses it connects to once more and connects to those (DNS rebinding between the two checks
cannot redirect it). The library transports (``PROXY_UPSTREAM_TRANSPORT=httpx|aiohttp``) resolve
the name again themselves: for them only the check before sending holds, and a name whose DNS
answer changes in the milliseconds between the two could still reach a refused address.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from django.conf import settings

from proxy_app.core import canonical as c
from proxy_app.core.destinations import GUARD, DestinationPolicy, DestinationRefused
from proxy_app.providers.openai import OpenAIConnector


def user_url_policy() -> DestinationPolicy:
    return DestinationPolicy.of(settings.OPENAI_URL_ALLOWED_HOSTS, settings.OPENAI_URL_ALLOWED_NETWORKS)


class UserURLConnector(OpenAIConnector):
    """An OpenAI-compatible connector whose every upstream call is checked before it is sent and at connect time."""

    async def _checked(self) -> DestinationPolicy:
        """The policy after checking the base URL's host under it; ``ProxyError`` (403 or 502) when refused."""
        policy = user_url_policy()
        parts = urllib.parse.urlsplit(self.spec.base_url)
        try:
            await policy.resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        except DestinationRefused as exc:
            raise c.ProxyError(f"the session's openai-url is refused: {exc}", kind="permission") from None
        except OSError as exc:
            raise c.ProxyError(f"the session's openai-url host {parts.hostname} does not resolve ({exc})",
                               kind="bad_gateway") from None
        return policy

    async def _post_json(self, url: str, body: bytes, key: str | None, req: c.ChatRequest) -> Any:
        token = GUARD.set(await self._checked())
        try:
            return await super()._post_json(url, body, key, req)
        finally:
            GUARD.reset(token)

    async def stream(self, req: c.ChatRequest, model: str, key: str | None) -> AsyncIterator[c.StreamEvent]:
        policy = await self._checked()
        events = super().stream(req, model, key)
        assert isinstance(events, AsyncGenerator)  # the base class's is one: closed below, with its upstream call
        try:
            while True:
                token = GUARD.set(policy)  # around each step: the generator runs in its consumer's context
                try:
                    event = await anext(events)
                except StopAsyncIteration:
                    return
                finally:
                    GUARD.reset(token)
                yield event
        finally:
            await events.aclose()

    async def list_models(self, key: str | None) -> list[str]:
        try:
            policy = await self._checked()
        except c.ProxyError:
            return []
        token = GUARD.set(policy)
        try:
            return await super().list_models(key)
        finally:
            GUARD.reset(token)
