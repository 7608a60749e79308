"""Triplet files (the ``anchor, positive, negative`` contract): read any table, write JSONL.

Reading goes through the careful table reader (:mod:`tripletforge.data.readers.table`): JSONL,
Parquet, CSV (quoted fields) or TSV (quotes are text), every row counted, a row without three
usable texts skipped with file, line and reason, kept rows unchanged (extra columns such as
the provenance of generated triplets are passed through). A folder holding XL-LoRA
``*_pos.csv`` / ``*_neg.csv`` files is read as real cross-lingual triplets
(:func:`tripletforge.data.xllora.read_xllora_triplets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import JsonlAppender
from tripletforge.data.readers.table import read_records
from tripletforge.data.schemas import TRIPLET_COLUMNS, ReadReport

Row = dict[str, Any]


def read_triplets(path: str | Path) -> tuple[list[Row], ReadReport]:
    """Rows of a triplet file (or XL-LoRA folder) with a usable anchor, positive and negative.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an unsupported
    extension or a table without the three columns; bad rows are only reported.
    """
    path = Path(path)
    if path.is_dir():
        from tripletforge.data.xllora import read_xllora_triplets

        return read_xllora_triplets(path)
    records, report = read_records(path, text=TRIPLET_COLUMNS, what="triplet file")
    return [{str(k): v for k, v in row.items()} for _, row in records], report


def write_triplets(rows: list[Row], path: str | Path) -> Path:
    """Write rows to JSONL (append-only writer) or Parquet, replacing an existing file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        pd.DataFrame(rows).to_parquet(path, index=False)
        return path
    path.unlink(missing_ok=True)
    with JsonlAppender(path, fsync=False) as out:
        for start in range(0, len(rows), 1000):
            out.write_many(rows[start : start + 1000])
    return path
