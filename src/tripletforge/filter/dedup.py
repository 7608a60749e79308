"""Exact and normalised duplicates (the first occurrence is kept).

Normalised means equal under :func:`tripletforge.data.text.text_key` (case, punctuation,
spacing, Unicode form, tatweel and abjad vowel pointing do not count; every other mark does).
"""

from __future__ import annotations

from collections.abc import Sequence

from tripletforge.data.text import text_key
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig


@register_filter("dedup")
class DedupFilter:
    name = "dedup"

    def __init__(self, config: FilterConfig) -> None:
        self.fields = (
            ("anchor",) if config.dedup_key == "anchor" else ("anchor", "positive", "negative")
        )

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        exact: dict[tuple[str, ...], int] = {}
        normal: dict[tuple[str, ...], int] = {}
        out: list[str | None] = []
        for index, row in enumerate(rows):
            ref = row.get("_row", index)
            key = tuple(str(row[f]) for f in self.fields)
            norm = tuple(text_key(k) for k in key)
            if key in exact:
                out.append(f"exact duplicate of row {exact[key]}")
            elif norm in normal:
                out.append(f"normalised duplicate of row {normal[norm]}")
            else:
                out.append(None)
            exact.setdefault(key, ref)
            normal.setdefault(norm, ref)
        return out
