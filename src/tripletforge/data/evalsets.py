"""Evaluation data named on the command line or in a config: ``FORMAT:PATH`` or a plain file.

A spec is either ``FORMAT:PATH`` (a reader format of :data:`tripletforge.data.readers.READERS`,
e.g. ``semrel:hau_dev_with_labels.csv``, ``stsb_multi_mt:stsb-de-dev.csv``) or a plain path:
a table (CSV/TSV/JSONL/Parquet, read by the careful table reader) or a text file with one
sentence per line. Used by training (``--dev`` pairs, ``--leak-check`` sets) and the leakage
check; bad rows are counted with file, line and reason in the returned report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tripletforge.data.readers import READERS, read_dataset
from tripletforge.data.readers._common import text_problem
from tripletforge.data.readers.lines import read_lines
from tripletforge.data.readers.table import is_table, iter_records, read_table
from tripletforge.data.schemas import BitextSet, PairSet, ReadReport

#: Columns read as sentences from a plain table given as an evaluation set.
TEXT_COLUMNS = (
    "sentence1",
    "sentence2",
    "source",
    "target",
    "text",
    "anchor",
    "positive",
    "negative",
)


def split_spec(spec: str | Path) -> tuple[str | None, str]:
    """``("semrel", "x.csv")`` for ``semrel:x.csv``; ``(None, spec)`` for a plain path."""
    text = str(spec)
    fmt, sep, path = text.partition(":")
    if sep and fmt and "/" not in fmt and fmt.strip().lower().replace("-", "_") in READERS:
        return fmt, path
    return None, text


def read_eval_spec(spec: str | Path) -> PairSet | BitextSet | None:
    """Read ``FORMAT:PATH`` with its reader; None for a plain path."""
    fmt, path = split_spec(spec)
    return None if fmt is None else read_dataset(fmt, path=path)


def dataset_sentences(data: Any) -> list[str]:
    """Every held-out sentence of a data set (its ``sentences()``; see ``data.schemas``).

    Contracts without ``sentences()`` give their text columns (a ``PairSet``'s pairs, a
    ``BitextSet``'s sides).
    """
    if hasattr(data, "sentences"):
        return list(data.sentences())
    return [s for attr in ("sentence1", "sentence2", "source", "target")
            for s in getattr(data, attr, None) or []]  # fmt: skip


def eval_sentences(spec: str | Path, report: ReadReport | None = None) -> list[str]:
    """All sentences of an evaluation set: ``FORMAT:PATH`` via the readers, else a file.

    A plain table gives the non-empty values of its text columns (:data:`TEXT_COLUMNS`,
    whichever it has); any other file gives its lines. Bad rows go to ``report``.
    """
    data = read_eval_spec(spec)
    if data is not None:
        if report is not None and data.report is not None:
            report.rows_read += data.report.rows_read
            report.rows_kept += data.report.rows_kept
            report.bad_rows.extend(data.report.bad_rows)
        return dataset_sentences(data)
    path = Path(spec)
    report = report if report is not None else ReadReport(str(path))
    if not is_table(path):
        lines, _ = read_lines(path, report, what="evaluation set")
        return [text for _, text in lines]
    out: list[str] = []
    columns: list[str] | None = None
    for line, row in iter_records(path, report):
        if columns is None:
            columns = [c for c in TEXT_COLUMNS if c in row]
            if not columns:
                raise ValueError(
                    f"{path}: no text column ({', '.join(TEXT_COLUMNS)}) in {sorted(map(str, row))}"
                )
        texts = [row.get(c) for c in columns]
        problems = [p for c, t in zip(columns, texts, strict=True) if (p := text_problem(c, t))]
        if len(problems) == len(columns):
            report.skip(line, problems[0])
            continue
        report.rows_kept += 1
        out += [t.strip() for t in texts if isinstance(t, str) and not text_problem("", t)]
    return out


def read_scored_pairs(spec: str | Path, max_pairs: int | None = None) -> PairSet:
    """The scored sentence pairs of an STS set (``FORMAT:PATH`` or a pairs table).

    A plain table needs ``sentence1, sentence2, score`` columns; rows without two texts and a
    finite score are skipped and counted in ``.report``. Raises ``ValueError`` naming the file
    when no row is usable (so a run fails before it starts, not at its first evaluation).
    """
    data = read_eval_spec(spec)
    if data is None:
        data = read_table(Path(spec), "pairs")
    if not isinstance(data, PairSet):
        raise ValueError(f"{spec}: a {type(data).__name__}, not scored pairs; use an STS set")
    if not len(data):
        summary = data.report.summary() if data.report is not None else str(spec)
        raise ValueError(
            f"{spec}: no usable (sentence1, sentence2, score) row ({summary}); fix the file"
        )
    if max_pairs is not None and len(data) > max_pairs:
        data.sentence1, data.sentence2 = data.sentence1[:max_pairs], data.sentence2[:max_pairs]
        data.scores = data.scores[:max_pairs]
    return data
