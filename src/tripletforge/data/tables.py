"""Read a generic table file into a pandas DataFrame, chosen by its extension."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".jsonl", ".parquet", ".csv", ".tsv")


def read_table_frame(path: str | Path) -> pd.DataFrame:
    """JSONL, Parquet, CSV or TSV (text columns as strings) → DataFrame."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str)
    raise ValueError(f"unsupported table file {path} (use {', '.join(TABLE_SUFFIXES)})")
