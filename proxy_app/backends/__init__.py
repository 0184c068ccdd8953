"""Backend connectors, one per wire protocol."""

from __future__ import annotations

from .base import Connector
from .openai import OpenAIConnector

CONNECTORS: dict[str, type[Connector]] = {
    "openai_chat": OpenAIConnector,
}
