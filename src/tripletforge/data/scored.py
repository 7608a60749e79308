"""Labelled sentence pairs as training rows: the ``scored`` source of a mix arm.

The data contract
-----------------
A scored training row is ``{"anchor": s1, "positive": s2, "score": float, "lang": code,
"task": "sts"}``: two sentences and their gold similarity or relatedness, in the file's own
range (SemRel2024 0–1, STS-B 0–5; the CoSENT loss these rows train with uses only the order
of the scores within a batch, so ranges need no rescaling). The text columns keep the triplet
contract's names so the leakage check, the JSONL writers and the trainer treat them like any
other rows; there is no ``negative``.

Sources: the ``<lang>_<split>.csv`` files of SemRel2024 (Ousidhoum et al. 2024; Track A has
train splits for amh arq ary eng esp hau kin mar tel) or any table of ``sentence1, sentence2,
score`` (:func:`tripletforge.data.readers.read_table`, contract ``pairs``). Rows the readers
cannot use (empty cells, a missing score, a score out of range) are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tripletforge.data.languages import canonical_code
from tripletforge.data.schemas import PairSet

#: SemRel2024's tracks that hold per-language folders, searched in this order.
SEMREL_TRAIN_TRACKS = ("Track_A", "Track_B", "Track_C")
#: SemRel2024 folder names that are not ISO 639-3 (the reverse of the reader's aliases).
_SEMREL_FOLDERS = {"spa": "esp"}

Row = dict[str, Any]


def semrel_split_files(
    root: str | Path, languages: Sequence[str], split: str = "train"
) -> dict[str, Path]:
    """Each language's SemRel2024 ``<lang>_<split>.csv`` under ``root`` (languages without one
    are left out); ``FileNotFoundError`` when ``root`` is missing or no language has the split.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; give the SemRel2024 folder")
    found: dict[str, Path] = {}
    for code in languages:
        lang = canonical_code(code)
        folder = _SEMREL_FOLDERS.get(lang, lang)
        for track in SEMREL_TRAIN_TRACKS:
            path = root / track / folder / f"{folder}_{split}.csv"
            if path.is_file():
                found[lang] = path
                break
    if not found:
        raise FileNotFoundError(
            f"no SemRel2024 {split} file for {', '.join(languages)} under {root} (looked for "
            f"Track_A/<lang>/<lang>_{split}.csv); SemRel2024 has train splits for amh arq ary "
            "eng esp hau kin mar tel"
        )
    return found


def pairs_to_rows(pairs: PairSet) -> list[Row]:
    """A pair set's pairs as scored training rows (see the module's contract)."""
    return [
        {"anchor": s1, "positive": s2, "score": float(score), "lang": pairs.lang, "task": "sts"}
        for s1, s2, score in zip(pairs.sentence1, pairs.sentence2, pairs.scores, strict=True)
    ]


def read_scored_rows(
    files: Sequence[str | Path], format: str = "semrel"
) -> tuple[list[Row], dict[str, int]]:
    """The scored rows of ``files`` (``semrel``: SemRel2024 CSVs, the language from each file
    name; ``table``: ``sentence1, sentence2, score`` tables, language ``und``) and the rows
    skipped, by reason. ``ValueError`` for another format."""
    from tripletforge.data.readers import read_semrel, read_table

    if format not in ("semrel", "table"):
        raise ValueError(f"unknown scored-pairs format {format!r}; use semrel or table")
    rows: list[Row] = []
    skipped: dict[str, int] = {}
    for path in files:
        pairs = read_semrel(path) if format == "semrel" else read_table(path, "pairs")
        rows += pairs_to_rows(pairs)  # type: ignore[arg-type]
        for reason, count in pairs.report.skipped_by_reason.items():
            skipped[reason] = skipped.get(reason, 0) + count
    return rows, skipped
