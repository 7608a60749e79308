"""Training data: triplet files to a datasets.Dataset, the data hash, and dev STS pairs."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.data.schemas import ReadReport
from tripletforge.data.triplets import read_triplets

if TYPE_CHECKING:
    from datasets import Dataset

Row = dict[str, Any]
log = logging.getLogger(__name__)


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
    """(sentence1, sentence2, scores) of an STS dev set (``FORMAT:PATH`` or a pairs table).

    Bad rows are skipped and logged with file, line and reason; ``ValueError`` names the file
    when no row is usable (raised while the run is set up, before training starts).
    """
    from tripletforge.data.evalsets import read_scored_pairs

    pairs = read_scored_pairs(spec, max_pairs)
    if pairs.report is not None and pairs.report.bad_rows:
        log.warning("dev set %s", pairs.report.summary())
        for bad in pairs.report.bad_rows[:10]:
            log.warning("  skipped %s", bad)
    return list(pairs.sentence1), list(pairs.sentence2), list(pairs.scores)
