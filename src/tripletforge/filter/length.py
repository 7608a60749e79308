"""Length bounds on every field and a bound on the length ratio to the anchor.

The ratio bound applies to symmetric tasks (``nli``, ``paraphrase``), whose three texts are
sentences of a kind; a retrieval query is short by nature and its passage may be a paragraph
(:mod:`tripletforge.data.tasks`), so retrieval rows are held to the length bounds only.
"""

from __future__ import annotations

from collections.abc import Sequence

from tripletforge.data.tasks import task_of, task_shape
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig


@register_filter("length")
class LengthFilter:
    name = "length"

    def __init__(self, config: FilterConfig) -> None:
        self.min_chars = config.min_chars
        self.max_chars = config.max_chars
        self.max_ratio = config.max_length_ratio

    def check(self, row: Row) -> str | None:
        lengths = {key: len(str(row[key]).strip()) for key in ("anchor", "positive", "negative")}
        for key, length in lengths.items():
            if length < self.min_chars:
                return f"{key} too short ({length} < {self.min_chars} chars)"
            if length > self.max_chars:
                return f"{key} too long ({length} > {self.max_chars} chars)"
        try:
            symmetric = task_shape(task_of(row)).symmetric
        except ValueError:
            return f"unknown task {task_of(row)!r}"
        if not symmetric:
            return None
        for key in ("positive", "negative"):
            ratio = max(lengths[key], lengths["anchor"]) / min(lengths[key], lengths["anchor"])
            if ratio > self.max_ratio:
                return f"{key}/anchor length ratio > {self.max_ratio} ({ratio:.1f})"
        return None

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        return [self.check(row) for row in rows]
