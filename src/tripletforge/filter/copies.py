"""Copies: positive or negative (near-)equal to the anchor, or positive equal to negative."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from tripletforge.filter.base import Row, normalize_text, register_filter
from tripletforge.filter.config import FilterConfig


def char_similarity(a: str, b: str) -> float:
    """Character-level similarity in [0, 1] of the normalised texts (difflib ratio)."""
    a, b = normalize_text(a), normalize_text(b)
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@register_filter("copy")
class CopyFilter:
    name = "copy"

    def __init__(self, config: FilterConfig) -> None:
        self.threshold = config.copy_similarity

    def check(self, row: Row) -> str | None:
        anchor, positive, negative = (str(row[k]) for k in ("anchor", "positive", "negative"))
        if normalize_text(positive) == normalize_text(negative):
            return "positive equals negative"
        for key, text in (("positive", positive), ("negative", negative)):
            similarity = char_similarity(anchor, text)
            if similarity >= self.threshold:
                return f"{key} copies anchor (similarity {similarity:.2f})"
        return None

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        return [self.check(row) for row in rows]
