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
    """Register a filter factory (usually the class) under ``name``."""

    def decorator(factory: FilterFactory) -> FilterFactory:
        FILTERS[name] = factory
        return factory

    return decorator


def build_filter(name: str, config: FilterConfig) -> TripletFilter:
    """Instantiate a registered filter from the config."""
    if name not in FILTERS:
        raise ValueError(f"unknown filter {name!r}; known: {', '.join(sorted(FILTERS))}")
    return FILTERS[name](config)
