"""Leakage check: training sentences that also occur in evaluation sets (exact or normalised).

Normalised means equal under :func:`tripletforge.data.text.text_key`.
The evaluation sets are lists of sentences; :func:`tripletforge.data.evalsets.eval_sentences`
reads them from ``FORMAT:PATH`` specs or files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tripletforge.data.text import text_key
from tripletforge.filter.base import Row

FIELDS = ("anchor", "positive", "negative")


@dataclass
class Leak:
    row: int
    field: str
    text: str
    match: str  # "exact" | "normalised"
    eval_set: str


@dataclass
class LeakReport:
    """Leaks found, rows affected, and the rows that remain after removal."""

    rows_in: int
    leaks: list[Leak] = field(default_factory=list)
    kept: list[Row] = field(default_factory=list)
    removed: bool = True

    @property
    def leaked_rows(self) -> int:
        return len({leak.row for leak in self.leaks})

    def summary(self) -> dict[str, Any]:
        by_set: dict[str, int] = {}
        for leak in self.leaks:
            by_set[leak.eval_set] = by_set.get(leak.eval_set, 0) + 1
        return {
            "rows_in": self.rows_in,
            "leaked_rows": self.leaked_rows,
            "leaked_sentences": len(self.leaks),
            "exact": sum(leak.match == "exact" for leak in self.leaks),
            "normalised": sum(leak.match == "normalised" for leak in self.leaks),
            "by_eval_set": by_set,
            "removed": self.removed,
            "rows_out": len(self.kept),
        }


def check_leakage(
    rows: list[Row], eval_sets: dict[str, Iterable[str]], remove: bool = True
) -> LeakReport:
    """Find training sentences present in any evaluation set; drop their rows if ``remove``."""
    exact: dict[str, str] = {}
    normal: dict[str, str] = {}
    for name, sentences in eval_sets.items():
        for sentence in sentences:
            exact.setdefault(sentence.strip(), name)
            normal.setdefault(text_key(sentence), name)
    normal.pop("", None)
    report = LeakReport(rows_in=len(rows), removed=remove)
    leaked: set[int] = set()
    for index, row in enumerate(rows):
        for key in FIELDS:
            text = str(row.get(key, ""))
            if text.strip() in exact:
                report.leaks.append(Leak(index, key, text, "exact", exact[text.strip()]))
                leaked.add(index)
            elif (norm := text_key(text)) in normal:
                report.leaks.append(Leak(index, key, text, "normalised", normal[norm]))
                leaked.add(index)
    report.kept = [r for i, r in enumerate(rows) if not (remove and i in leaked)]
    return report
