"""English training data of both connect stages, read and passed through the English guard.

- Stage (a) needs English *sentences*: a ``.txt`` file (one per line), a triplet file (its
  anchor, positive and negative columns) or a table with a ``text`` column.
- Stage (b) needs English ``(anchor, positive, negative)`` triplets (the train stage's
  contract, :mod:`tripletforge.data.schemas`).

With no files given, both use the English SNLI pool shipped in the package
(``resources/nli_pool/snli_en.jsonl``, 300 triplets, CC BY-SA 4.0), so the default recipe
needs nothing outside the package. Unreadable rows are counted in read reports; non-English
texts are counted by :class:`~tripletforge.connect.english.EnglishGuard`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tripletforge.connect.english import EnglishGuard

TRIPLET_KEYS = ("anchor", "positive", "negative")


def shipped_pool() -> Path:
    """Path of the English SNLI triplet pool shipped with the package."""
    return Path(str(resources.files("tripletforge") / "resources" / "nli_pool" / "snli_en.jsonl"))


@dataclass
class EnglishData:
    """Texts or rows that passed the guard, with what was read and refused (JSON-ready)."""

    items: list[Any]
    files: list[str]
    read_reports: list[str] = field(default_factory=list)
    guard: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "kept": len(self.items),
            "files": self.files,
            "read_reports": self.read_reports,
            "english_guard": self.guard,
        }


def _texts_of(path: Path) -> tuple[list[str], str]:
    """Texts of one file (stripped) and its read-report line.

    A file without a table extension: one text per line (:mod:`tripletforge.data.readers.lines`).
    A table whose header (or first JSON row) has a ``text`` column but not the triplet columns:
    that column. Any other table, or an XL-LoRA folder: triplets (all three texts of each row).
    Every file goes through the project's careful readers, so bad rows are counted and
    reported, never raised.
    """
    from tripletforge.data.readers.table import is_table, read_records

    if not path.is_dir() and not is_table(path):
        from tripletforge.data.readers.lines import read_lines

        lines, report = read_lines(path, what="alignment text file")
        return [text for _, text in lines], report.summary()
    if not path.is_dir() and _is_text_table(path):
        records, report = read_records(path, text=["text"], what="alignment table")
        texts = []
        for line, row in records:
            text = str(row["text"]).strip()
            if text:
                texts.append(text)
            else:
                report.rows_kept -= 1
                report.skip(line, "empty text")
        return texts, report.summary()
    from tripletforge.data.triplets import read_triplets

    rows, report = read_triplets(path)
    texts = [str(row[key]).strip() for row in rows for key in TRIPLET_KEYS]
    return texts, report.summary()


def _is_text_table(path: Path) -> bool:
    """Whether the table's columns (header, or first JSON row) hold ``text`` but no triplet."""
    from tripletforge.data.readers.table import iter_records
    from tripletforge.data.schemas import ReadReport

    first = next(iter_records(path, ReadReport(str(path)), what="alignment table"), None)
    columns = {str(c) for c in first[1]} if first else set()
    return "text" in columns and not set(TRIPLET_KEYS) <= columns


def alignment_texts(files: list[Path], min_confidence: float = 0.0) -> EnglishData:
    """Unique English sentences of ``files`` (default: the shipped pool), in first-seen order.

    Raises:
        FileNotFoundError: a file that does not exist.
    """
    files = list(files) or [shipped_pool()]
    texts: list[str] = []
    notes = []
    for path in files:
        if not Path(path).exists():
            raise FileNotFoundError(f"alignment data {path} not found")
        part, note = _texts_of(Path(path))
        texts.extend(part)
        notes.append(note)
    unique = list(dict.fromkeys(texts))
    guard = EnglishGuard(min_confidence)
    kept = guard.texts(unique)
    return EnglishData(kept, [str(f) for f in files], notes, guard.summary())


def finetune_triplets(files: list[Path], min_confidence: float = 0.0) -> EnglishData:
    """English ``(anchor, positive, negative)`` rows of ``files`` (default: the shipped pool).

    A row is dropped when any of its three texts is refused by the guard.

    Raises:
        FileNotFoundError: a file that does not exist.
    """
    from tripletforge.data.triplets import read_triplets

    files = list(files) or [shipped_pool()]
    rows, reports = [], []
    for path in files:
        if not Path(path).exists():
            raise FileNotFoundError(f"fine-tuning data {path} not found")
        part, report = read_triplets(path)
        rows.extend(part)
        reports.append(report)
    guard = EnglishGuard(min_confidence)
    kept = guard.rows(rows, TRIPLET_KEYS)
    kept = [{key: str(row[key]) for key in TRIPLET_KEYS} for row in kept]
    return EnglishData(
        kept, [str(f) for f in files], [r.summary() for r in reports], guard.summary()
    )
