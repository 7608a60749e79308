"""Leakage check: training sentences that also occur in evaluation sets (exact or normalised)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripletforge.data.tables import TABLE_SUFFIXES, read_table_frame
from tripletforge.filter.base import Row, normalize_text

FIELDS = ("anchor", "positive", "negative")
_TEXT_COLUMNS = (
    "sentence1",
    "sentence2",
    "source",
    "target",
    "text",
    "anchor",
    "positive",
    "negative",
)


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
            normal.setdefault(normalize_text(sentence), name)
    normal.pop("", None)
    report = LeakReport(rows_in=len(rows), removed=remove)
    leaked: set[int] = set()
    for index, row in enumerate(rows):
        for key in FIELDS:
            text = str(row.get(key, ""))
            if text.strip() in exact:
                report.leaks.append(Leak(index, key, text, "exact", exact[text.strip()]))
                leaked.add(index)
            elif (norm := normalize_text(text)) in normal:
                report.leaks.append(Leak(index, key, text, "normalised", normal[norm]))
                leaked.add(index)
    report.kept = [r for i, r in enumerate(rows) if not (remove and i in leaked)]
    return report


def read_eval_spec(spec: str | Path) -> Any | None:
    """Read ``FORMAT:PATH`` (a ``tripletforge.data.readers`` format) as a PairSet/BitextSet.

    Returns None for a plain path (or when the readers are unavailable).
    """
    text = str(spec)
    fmt, sep, path = text.partition(":")
    if not sep or "/" in fmt or not fmt:
        return None
    try:
        from tripletforge.data.readers import READERS, read_dataset
    except ImportError:
        return None
    if fmt.strip().lower().replace("-", "_") not in READERS:
        return None
    return read_dataset(fmt, path=path)


def dataset_sentences(data: Any) -> list[str]:
    """Every sentence of an evaluation data set (its ``sentences()``; see ``data.schemas``)."""
    if hasattr(data, "sentences"):
        return list(data.sentences())
    return [s for attr in ("sentence1", "sentence2", "source", "target")
            for s in getattr(data, attr, None) or []]  # fmt: skip


def eval_sentences(spec: str | Path) -> list[str]:
    """All sentences of an evaluation set: ``FORMAT:PATH`` via the readers, else a file.

    A plain path is read as the text columns of a JSONL/CSV/TSV/Parquet file (``sentence1``,
    ``sentence2``, ``source``, ``target``, ``text``…) or the lines of a text file.
    """
    data = read_eval_spec(spec)
    if data is not None:
        return dataset_sentences(data)
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        frame = read_table_frame(path)
        columns = [c for c in _TEXT_COLUMNS if c in frame.columns]
        return [str(v) for c in columns for v in frame[c].dropna()]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
