"""Helpers for table tests over wire payloads."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()  # as the value: remove the key instead of setting it


def changed(base: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the item at ``path`` set to ``value`` (or removed, for ``DELETE``)."""
    payload = copy.deepcopy(base)
    target: Any = payload
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload
