"""Reading and writing triplet files (JSONL, Parquet, CSV/TSV) with the triplet contract."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import JsonlAppender, iter_jsonl
from tripletforge.data.schemas import TRIPLET_COLUMNS, ReadReport

Row = dict[str, Any]


def _valid(row: Row) -> str | None:
    for key in TRIPLET_COLUMNS:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return f"missing {key}"
        if not isinstance(value, str):
            return f"{key} is not a string"
        if not value.strip():
            return f"empty {key}"
    return None


def read_triplets(path: str | Path) -> tuple[list[Row], ReadReport]:
    """Read triplet rows; rows without a non-empty anchor, positive and negative are reported.

    A folder holding XL-LoRA ``*_pos.csv`` and ``*_neg.csv`` files is read as real triplets
    (:func:`tripletforge.train.real_data.xllora_triplets`).
    """
    path = Path(path)
    report = ReadReport(str(path))
    suffix = path.suffix.lower()
    if path.is_dir():
        from tripletforge.train.real_data import xllora_files, xllora_triplets

        raw = xllora_triplets(*xllora_files(path))
        offset = 1
    elif suffix in (".jsonl", ".json"):
        raw: list[Row] = list(iter_jsonl(path, report))
        report.rows_read = report.rows_kept = 0  # recounted below on the parsed rows
        offset = 1
    elif suffix == ".parquet":
        import pandas as pd

        raw = pd.read_parquet(path).to_dict("records")
        offset = 1
    elif suffix in (".csv", ".tsv"):
        import pandas as pd

        sep = "\t" if suffix == ".tsv" else ","
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False).to_dict("records")
        offset = 2  # header line
    else:
        raise ValueError(f"unsupported triplet file {path} (use .jsonl, .parquet, .csv or .tsv)")
    rows: list[Row] = []
    for number, row in enumerate(raw, start=offset):
        report.rows_read += 1
        if reason := _valid(row):
            report.skip(number, reason)
            continue
        report.rows_kept += 1
        rows.append(row)
    return rows, report


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
