"""The third-party internals a server patch relies on, and the check that they are still there.

Each patch module lists what it touches in Daphne, Twisted, uvicorn or Django (private names,
signatures, the names a library function looks up when it runs) as a ``Patch``. At install time
``Patch.fits()`` checks them: a patch that no longer fits the running library is left out, with a
warning, and the server runs that library's own code instead of crashing. ``tests/server/`` runs
the same check, so an upgrade that breaks a patch fails the tests with the same message.
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

logger = logging.getLogger("llmproxy.server")


@dataclass(frozen=True)
class Internal:
    """``owner.name`` (``owner`` a module or class), a callable taking ``parameters`` (by name) and
    whose code ``uses`` these names (globals, attributes or string constants it looks up when run)."""

    owner: Any
    name: str
    parameters: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()

    @property
    def library(self) -> str:
        module = self.owner.__name__ if isinstance(self.owner, types.ModuleType) else self.owner.__module__
        return str(module).partition(".")[0]

    @property
    def path(self) -> str:
        owner = self.owner
        prefix = owner.__name__ if isinstance(owner, types.ModuleType) else f"{owner.__module__}.{owner.__qualname__}"
        return f"{prefix}.{self.name}"

    def gaps(self) -> Iterator[str]:
        """What of this is missing, each as the end of ``relies on …, which <library> no longer has``."""
        if not hasattr(self.owner, self.name):
            yield self.path
            return
        target = inspect.unwrap(getattr(self.owner, self.name))
        if self.parameters:
            try:
                present = set(inspect.signature(target).parameters)
            except (TypeError, ValueError):  # no longer a Python callable
                present = set()
            yield from (f"the parameter {p!r} of {self.path}" for p in self.parameters if p not in present)
        if self.uses:
            code = getattr(target, "__code__", None)  # None: no longer a Python function
            used = names_in(code) if code is not None else set()
            yield from (f"{self.path} using {name!r}" for name in self.uses if name not in used)


def names_in(code: types.CodeType) -> set[str]:
    """The global and attribute names and the string constants ``code`` (and the code nested in it) refers to."""
    return set(code.co_names) | _strings(code.co_consts)


def _strings(constants: tuple[Any, ...] | frozenset[Any]) -> set[str]:
    found: set[str] = set()
    for const in constants:
        if isinstance(const, str):
            found.add(const)
        elif isinstance(const, tuple | frozenset):
            found |= _strings(const)
        elif isinstance(const, types.CodeType):
            found |= names_in(const)
    return found


@dataclass(frozen=True)
class Patch:
    """One change to a library's behaviour (``module.Class``) and the internals it relies on."""

    name: str
    relies_on: tuple[Internal, ...]

    def problems(self) -> list[str]:
        """One sentence per missing internal; empty when the patch fits the installed libraries."""
        return [
            f"{self.name} relies on {gap}, which {internal.library} {installed_version(internal.library)} no longer "
            f"has: re-measure and adapt the patch, or drop it"
            for internal in self.relies_on
            for gap in internal.gaps()
        ]

    def fits(self) -> bool:
        """Whether to install the patch: False, with a warning per missing internal, when it no longer fits."""
        problems = self.problems()
        for problem in problems:
            logger.warning("%s; running without this patch", problem)
        return not problems


def installed_version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "(version unknown)"
