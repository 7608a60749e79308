"""The filter protocol and the registry of filters (texts are compared by ``data.text``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tripletforge.filter.config import FilterConfig

Row = dict[str, Any]


class TripletFilter(Protocol):
    """A filter sees a batch of triplet rows and returns, per row, ``None`` (keep) or a reason."""

    name: str

    def __call__(self, rows: Sequence[Row]) -> list[str | None]: ...


FilterFactory = Callable[["FilterConfig"], TripletFilter]
FILTERS: dict[str, FilterFactory] = {}


def register_filter(name: str) -> Callable[[FilterFactory], FilterFactory]:
    """Register a filter factory (usually the class) under ``name``.

    Raises ``ValueError`` when ``name`` is taken by another factory (re-importing the module
    that registered it is not an error).
    """

    def decorator(factory: FilterFactory) -> FilterFactory:
        known = FILTERS.get(name)
        if known is not None and _qualified(known) != _qualified(factory):
            raise ValueError(
                f"filter {name!r} is already registered ({_qualified(known)}); "
                "register yours under another name"
            )
        FILTERS[name] = factory
        return factory

    return decorator


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def build_filter(name: str, config: FilterConfig) -> TripletFilter:
    """Instantiate a registered filter from the config."""
    if name not in FILTERS:
        raise ValueError(f"unknown filter {name!r}; known: {', '.join(sorted(FILTERS))}")
    return FILTERS[name](config)
