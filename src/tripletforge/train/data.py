"""Training data: triplet files to a datasets.Dataset, the data hash, and dev STS pairs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.schemas import ReadReport
from tripletforge.filter.files import read_triplets

if TYPE_CHECKING:
    from datasets import Dataset

Row = dict[str, Any]


def load_triplet_rows(paths: list[Path]) -> tuple[list[Row], list[ReadReport]]:
    """Read and concatenate triplet files; return rows and one read report per file."""
    rows: list[Row] = []
    reports: list[ReadReport] = []
    for path in paths:
        part, report = read_triplets(path)
        rows.extend(part)
        reports.append(report)
    return rows, reports


def data_hash(rows: list[Row]) -> str:
    """SHA-256 over the (anchor, positive, negative) texts in training order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\x00".join((row["anchor"], row["positive"], row["negative"])).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def to_dataset(rows: list[Row]) -> Dataset:
    """The three training columns, in contract order, as a ``datasets.Dataset``."""
    from datasets import Dataset

    return Dataset.from_dict({k: [r[k] for r in rows] for k in ("anchor", "positive", "negative")})


def load_dev_pairs(spec: str | Path, max_pairs: int | None = None) -> tuple[list, list, list]:
    """(sentence1, sentence2, scores) of an STS set.

    ``FORMAT:PATH`` uses ``tripletforge.data.readers`` (``stsb_multi_mt:stsb-en-dev.csv``);
    a plain path is a JSONL/CSV/TSV file with ``sentence1, sentence2, score`` columns.
    """
    from tripletforge.filter.leakage import read_eval_spec

    pairs = read_eval_spec(spec)
    if pairs is not None:
        s1, s2, scores = list(pairs.sentence1), list(pairs.sentence2), list(pairs.scores)
    else:
        import pandas as pd

        path = Path(spec)
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            frame = pd.read_json(path, lines=True)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        s1, s2 = frame["sentence1"].astype(str).tolist(), frame["sentence2"].astype(str).tolist()
        scores = frame["score"].astype(float).tolist()
    if max_pairs is not None:
        s1, s2, scores = s1[:max_pairs], s2[:max_pairs], scores[:max_pairs]
    return s1, s2, scores
