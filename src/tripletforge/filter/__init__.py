"""Filter stage: one filter per module, a registry, and a funnel that counts every reject."""

from tripletforge.filter import (  # noqa: F401  (register)
    consistency,
    copies,
    dedup,
    langid,
    length,
    relevance,
    teacher_margin,
)
from tripletforge.filter.base import FILTERS, TripletFilter, register_filter
from tripletforge.filter.config import DEFAULT_FILTERS, FilterConfig
from tripletforge.filter.funnel import FilterRun, FunnelStep, funnel_table, run_filters

__all__ = [
    "DEFAULT_FILTERS",
    "FILTERS",
    "FilterConfig",
    "FilterRun",
    "FunnelStep",
    "TripletFilter",
    "funnel_table",
    "register_filter",
    "run_filters",
]
