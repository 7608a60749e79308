"""Lookup in a lazy registry: a name not registered yet is tried as a sibling module.

The generation strategies and tasks register their classes with a decorator when their module
is imported; shipped ones that are heavy to import (``compose``, ``xlora``) are imported only
when first named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], package: str, name: str, *, what: str,
           builtin: Iterable[str] = ()) -> T:  # fmt: skip
    """``registry[name]``, importing ``<package>.<name>`` first when it is not registered yet.

    Raises ``ValueError`` naming ``what`` and listing the known names (registered and
    ``builtin``) for an unknown name; an import error inside an existing module propagates.
    """
    if name not in registry and name.isidentifier():
        try:
            import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise
    if name not in registry:
        known = sorted(set(registry) | set(builtin))
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(known)}")
    return registry[name]
