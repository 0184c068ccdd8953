"""The live set of backends (environment + admin), rebuilt when configuration changes, and the models they offer."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from asgiref.sync import sync_to_async
from django.conf import settings

from proxy_app.models import Backend, BackendKey
from proxy_app.providers import CONNECTORS
from proxy_app.providers.config import BackendSpec, configured_specs
from proxy_app.providers.connector import Connector
from proxy_app.providers.keys import ClientKeyPool, KeyPool
from proxy_app.providers.user_urls import UserURLConnector

logger = logging.getLogger("llmproxy.registry")

MODELS_CACHE_SECONDS = 300.0


def connector_for(spec: BackendSpec) -> Connector:
    return UserURLConnector(spec) if spec.user_chosen else CONNECTORS[spec.protocol](spec)


@dataclass
class BackendRuntime:
    spec: BackendSpec
    connector: Connector
    pool: KeyPool

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def protocol(self) -> str:
        return self.spec.protocol

    @property
    def key_count(self) -> int:
        return len(self.spec.keys)

    def key_states(self) -> str:
        return self.pool.describe()

    def with_client_key(self, key: str) -> BackendRuntime:
        """This backend for one request served with the key its client brought (``ClientKeyPool``)."""
        return BackendRuntime(dataclasses.replace(self.spec, keys=(key,)), self.connector,
                              ClientKeyPool(self.name, key))


class Registry:
    def __init__(self, specs: list[BackendSpec], default: str | None = None) -> None:
        self.backends: dict[str, BackendRuntime] = {
            spec.name: BackendRuntime(spec, connector_for(spec), KeyPool(spec.name, spec.keys)) for spec in specs
        }
        if default and default not in self.backends:
            logger.warning("LLM_BACKEND=%s is not a configured backend; using the first one", default)
            default = None
        self.default_backend = default or next(iter(self.backends), None)
        self._session_backends: dict[str, BackendRuntime] = {}
        self._models: tuple[float, list[tuple[str, str]]] | None = None

    def get(self, name: str) -> BackendRuntime | None:
        return self.backends.get(name)

    def session_openai_backend(self, url: str) -> BackendRuntime:
        """A backend for a session's ``openai_url``; it gets the operator's OpenAI keys only
        when the URL's host is on ``OPENAI_URL_ALLOWED_HOSTS`` (otherwise any URL could
        harvest them), and reaches only the addresses a user-chosen URL may (``UserURLConnector``)."""
        runtime = self._session_backends.get(url)
        if runtime is None:
            host = (urlparse(url).hostname or "").lower()
            allowed = host in {h.lower() for h in settings.OPENAI_URL_ALLOWED_HOSTS}
            openai = self.backends.get("openai")
            keys = openai.spec.keys if (allowed and openai) else ()
            spec = BackendSpec(name="openai", protocol="openai_chat", base_url=url, keys=keys, user_chosen=True)
            runtime = BackendRuntime(spec, connector_for(spec), KeyPool("openai", keys))
            self._session_backends[url] = runtime
        return runtime

    def all_secrets(self) -> list[str]:
        return [key for runtime in self.backends.values() for key in runtime.spec.keys]

    async def list_models(self) -> list[tuple[str, str]]:
        """``[(backend, model), ...]`` over every backend, fetched concurrently and cached briefly;
        a backend that fails lists nothing."""
        if self._models and time.monotonic() - self._models[0] < MODELS_CACHE_SECONDS:
            return self._models[1]
        runtimes = list(self.backends.values())
        results = await asyncio.gather(
            *(rt.connector.list_models(rt.pool.key((rt.pool.rotation("") or [-1])[0])) for rt in runtimes),
            return_exceptions=True,
        )
        pairs = [
            (rt.name, model)
            for rt, models in zip(runtimes, results, strict=True)
            if isinstance(models, list)
            for model in models
        ]
        self._models = (time.monotonic(), pairs)
        return pairs


def _db_specs(env_specs: list[BackendSpec]) -> list[BackendSpec]:
    """Merge admin-defined backends and keys into the environment's specs."""
    by_name = {spec.name: spec for spec in env_specs}
    for row in Backend.objects.filter(is_enabled=True):
        by_name[row.name] = BackendSpec(
            name=row.name,
            protocol=row.protocol,
            base_url=row.base_url.rstrip("/"),
            headers=dict(row.extra_headers or {}),
            static_models=tuple(row.model_names or ()),
            source="admin",
        )
    extra_keys: dict[str, list[str]] = {}
    for key in BackendKey.objects.filter(is_enabled=True, invalid_since__isnull=True):
        extra_keys.setdefault(key.backend_name, []).append(key.secret)
    out = []
    for name, spec in by_name.items():
        keys = tuple(spec.keys) + tuple(k for k in extra_keys.get(name, []) if k not in spec.keys)
        out.append(dataclasses.replace(spec, keys=keys))
    return out


def build_registry() -> Registry:
    specs = configured_specs()
    try:
        specs = _db_specs(specs)
    except Exception:  # the tables may not exist yet (before migrate): run on the environment alone
        logger.debug("admin-defined backends not loaded", exc_info=True)
    return Registry(specs, settings.LLM_BACKEND or None)


_registry: Registry | None = None


async def get_registry() -> Registry:
    """The current registry; rebuilt off the event loop after an invalidation."""
    global _registry
    if _registry is None:
        _registry = await sync_to_async(build_registry, thread_sensitive=True)()
    return _registry


def invalidate_registry() -> None:
    global _registry
    _registry = None


async def list_all_models() -> list[tuple[str, str]]:
    """``[(backend, model), ...]`` of the current registry (see ``Registry.list_models``)."""
    return await (await get_registry()).list_models()


async def find_model(model: str) -> tuple[str, str] | None:
    """``(backend, name)`` of ``model`` as a client names it (``backend:name``, or a bare name the
    first backend offering it serves), or None when no backend lists it."""
    for backend, name in await list_all_models():
        if model in (f"{backend}:{name}", name):
            return backend, name
    return None
