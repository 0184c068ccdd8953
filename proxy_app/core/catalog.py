"""What the in-chat commands may see of the configured backends, without depending on the providers layer.

``proxy_app.providers.registry.Registry`` implements it; ``commands_app`` types against it, so a
command can name, describe and list backends but cannot reach a connector or a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class BackendInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def protocol(self) -> str: ...

    @property
    def key_count(self) -> int: ...

    def key_states(self) -> str: ...


class BackendCatalog(Protocol):
    @property
    def backends(self) -> Mapping[str, BackendInfo]: ...

    @property
    def default_backend(self) -> str | None: ...

    async def list_models(self) -> list[tuple[str, str]]:
        """``[(backend, model), ...]`` over every backend; a backend that fails lists nothing."""
        ...
