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
    """Raw texts of one file and a read-report line.

    ``.txt``: one text per line. A table whose rows have a ``text`` field but no triplet
    fields: that column. Anything else is read as triplets (all three texts of each row).
    """
    suffix = path.suffix.lower()
    if suffix == ".txt":
        texts, bad = [], 0
        for raw in path.read_bytes().splitlines():
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                bad += 1
                continue
            if line:
                texts.append(line)
        note = f", {bad} undecodable lines skipped" if bad else ""
        return texts, f"{path}: {len(texts)} lines{note}"
    if suffix in (".jsonl", ".csv", ".tsv", ".parquet") and _is_text_table(path):
        return _table_texts(path)
    from tripletforge.train.data import load_triplet_rows

    rows, reports = load_triplet_rows([path])
    texts = [str(row[key]).strip() for row in rows for key in TRIPLET_KEYS]
    return texts, reports[0].summary()


def _is_text_table(path: Path) -> bool:
    """Whether the file's rows carry ``text`` and not the triplet fields."""
    if path.suffix.lower() == ".jsonl":
        from tripletforge.data.jsonl import iter_jsonl

        first = next(iter_jsonl(path), {})
        columns = set(first)
    else:
        from tripletforge.data.tables import read_table_frame

        columns = set(read_table_frame(path).columns)
    return "text" in columns and not set(TRIPLET_KEYS) <= columns


def _table_texts(path: Path) -> tuple[list[str], str]:
    from tripletforge.data.schemas import ReadReport

    if path.suffix.lower() == ".jsonl":
        from tripletforge.data.jsonl import read_jsonl

        rows, report = read_jsonl(path)
    else:
        from tripletforge.data.tables import read_table_frame

        rows, report = read_table_frame(path).to_dict("records"), ReadReport(str(path))
        report.rows_read = report.rows_kept = len(rows)
    texts = []
    for number, row in enumerate(rows, start=1):
        value = row.get("text")
        text = "" if value is None or value != value else str(value).strip()  # NaN != NaN
        if text:
            texts.append(text)
        else:
            report.skip(number, "empty text")
    return texts, report.summary()


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
    from tripletforge.train.data import load_triplet_rows

    files = list(files) or [shipped_pool()]
    for path in files:
        if not Path(path).exists():
            raise FileNotFoundError(f"fine-tuning data {path} not found")
    rows, reports = load_triplet_rows([Path(f) for f in files])
    guard = EnglishGuard(min_confidence)
    kept = guard.rows(rows, TRIPLET_KEYS)
    kept = [{key: str(row[key]) for key in TRIPLET_KEYS} for row in kept]
    return EnglishData(
        kept, [str(f) for f in files], [r.summary() for r in reports], guard.summary()
    )
