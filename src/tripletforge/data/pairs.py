"""Inputs of hard-negative mining: (anchor, positive) pairs and a corpus of candidate sentences.

Both go through the careful readers: pairs are a table (JSONL, Parquet, CSV, TSV) with
``anchor`` and ``positive`` columns (other columns, e.g. ``lang``, are kept); a corpus is a
text file with one sentence per line, or a table with a ``text`` column. Bad rows are skipped
and counted with file, line and reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripletforge.data.readers.lines import read_lines
from tripletforge.data.readers.table import is_table, read_records
from tripletforge.data.schemas import ReadReport

PAIR_TEXT = ("anchor", "positive")


def read_anchor_pairs(path: str | Path) -> tuple[list[dict[str, Any]], ReadReport]:
    """Rows with a usable ``anchor`` and ``positive`` (values unchanged, other columns kept)."""
    records, report = read_records(path, text=PAIR_TEXT, what="pairs file")
    return [{str(k): v for k, v in row.items()} for _, row in records], report


def read_corpus(path: str | Path) -> tuple[list[str], ReadReport]:
    """Candidate sentences: the lines of a text file, or a table's ``text`` column (stripped)."""
    if not is_table(path):
        lines, report = read_lines(path, what="corpus")
        return [text for _, text in lines], report
    records, report = read_records(path, text=("text",), what="corpus")
    return [str(row["text"]).strip() for _, row in records], report
