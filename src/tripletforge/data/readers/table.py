"""Generic reader: CSV, TSV, JSONL or Parquet with a column mapping onto a contract."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from tripletforge.data.jsonl import iter_jsonl
from tripletforge.data.languages import get_language
from tripletforge.data.readers._common import (
    MALFORMED,
    MISSING_FIELD,
    BitextCollector,
    PairCollector,
    csv_records,
    require_file,
)
from tripletforge.data.schemas import (
    BITEXT_COLUMNS,
    PAIR_COLUMNS,
    BitextSet,
    LabelledPairSet,
    LabelledSet,
    PairSet,
    ReadReport,
)

#: File format of each supported extension.
TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CONTRACTS = {
    "pairs": PAIR_COLUMNS,
    "bitext": BITEXT_COLUMNS,
    "labels": ("text", "label"),
    "labelled_pairs": ("sentence1", "sentence2", "label"),
}

Column = str | int


def _table_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        known = ", ".join(sorted(TABLE_FORMATS))
        raise ValueError(f"cannot tell the format of {path.name}; supported extensions: {known}")
    return TABLE_FORMATS[suffix]


def _delimited(
    path: Path,
    report: ReadReport,
    mapping: Mapping[str, Column],
    *,
    delimiter: str,
    header: bool,
    quoted: bool,
) -> Iterator[tuple[int, dict[str, Any]]]:
    head, records = csv_records(path, report, delimiter=delimiter, quoted=quoted, header=header)
    names = [column for column in mapping.values() if isinstance(column, str)]
    if names and head is None:
        raise ValueError(f"columns {names} need a header line; use positions (int)")
    absent = [name for name in names if name not in (head or [])]
    if absent:
        raise ValueError(f"{path}: no column(s) {absent} in header {head}")
    index = {
        contract: column if isinstance(column, int) else (head or []).index(column)
        for contract, column in mapping.items()
    }
    for line, fields in records:
        if head is not None and len(fields) != len(head):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(head)}")
            continue
        missing = [name for name, position in index.items() if position >= len(fields)]
        if missing:
            report.skip(line, f"{MISSING_FIELD}: {', '.join(missing)}")
            continue
        yield line, {name: fields[position] for name, position in index.items()}


def _jsonl(
    path: Path, report: ReadReport, mapping: Mapping[str, Column]
) -> Iterator[tuple[int, dict[str, Any]]]:
    scratch = ReadReport(str(path))
    for row in iter_jsonl(path, scratch):
        line = scratch.rows_read  # iter_jsonl counts every line before it yields one
        missing = [str(column) for column in mapping.values() if column not in row]
        if missing:
            report.skip(line, f"{MISSING_FIELD}: {', '.join(missing)}")
            continue
        yield line, {name: row[column] for name, column in mapping.items()}
    report.rows_read += scratch.rows_read
    report.bad_rows.extend(scratch.bad_rows)


def _parquet(
    path: Path, report: ReadReport, mapping: Mapping[str, Column]
) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    absent = [column for column in mapping.values() if column not in names]
    if absent:
        raise ValueError(f"{path}: no column(s) {absent} in {names}")
    table = pq.read_table(path, columns=list(dict.fromkeys(map(str, mapping.values()))))
    report.rows_read += table.num_rows
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, {name: row[str(column)] for name, column in mapping.items()}


def read_table(
    path: str | Path,
    kind: Literal["pairs", "bitext", "labels", "labelled_pairs"],
    columns: Mapping[str, Column] | None = None,
    lang: str | None = None,
    **kw: Any,
) -> PairSet | BitextSet | LabelledSet | LabelledPairSet:
    """Read a CSV/TSV/JSONL/Parquet file (by extension) as one of the data contracts.

    ``kind`` is ``pairs`` (``sentence1, sentence2, score``), ``bitext`` (``source, target``),
    ``labels`` (``text, label``: classification, clustering) or ``labelled_pairs``
    (``sentence1, sentence2, label`` with 1/0 or entailment/contradiction; neutral rows are
    left out and reported). ``columns`` maps contract columns
    to file columns: header names or JSON keys, or 0-based positions for a delimited file
    read with ``header=False``; unmapped contract columns keep their own name (or position).
    ``lang`` is the language (pairs) or source language (bitext); ``und`` when not given.
    Keywords: ``name``, ``lang2`` and ``score_range=(lo, hi)`` (pairs), ``target_lang``
    (bitext, default ``eng``), ``delimiter``, ``header`` (default True) and ``quoted`` (CSV
    default True, TSV False: quotes in TSV are text) for delimited files. For Parquet the
    reported "line" is the 1-based row number.
    """
    if kind not in _CONTRACTS:
        raise ValueError(f"kind must be one of {sorted(_CONTRACTS)}, got {kind!r}")
    path = require_file(path, f"{kind} table")
    fmt = _table_format(path)
    contract = _CONTRACTS[kind]
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(contract))
    if unknown:
        raise ValueError(f"unknown {kind} column(s) {unknown}; the contract has {list(contract)}")
    header = kw.pop("header", True)
    mapping = {
        name: columns.get(name, name if header or fmt not in ("csv", "tsv") else position)
        for position, name in enumerate(contract)
    }
    report = ReadReport(str(path))
    if fmt in ("csv", "tsv"):
        rows = _delimited(
            path,
            report,
            mapping,
            delimiter=kw.pop("delimiter", "," if fmt == "csv" else "\t"),
            header=header,
            quoted=kw.pop("quoted", fmt == "csv"),
        )
    elif fmt == "jsonl":
        rows = _jsonl(path, report, mapping)
    else:
        rows = _parquet(path, report, mapping)
    code = get_language(lang).code if lang else "und"
    name = kw.pop("name", path.stem)
    if kind == "pairs":
        pairs = PairCollector(report, score_range=kw.pop("score_range", None))
        lang2 = kw.pop("lang2", None)
        _no_extra(kw)
        for line, row in rows:
            pairs.add(line, row["sentence1"], row["sentence2"], row["score"])
        return PairSet(
            name=name,
            lang=code,
            sentence1=pairs.sentence1,
            sentence2=pairs.sentence2,
            scores=pairs.scores,
            lang2=get_language(lang2).code if lang2 else None,
            files=[str(path)],
            report=report,
        )
    if kind == "labels":
        from tripletforge.data.readers.labelled import LabelCollector

        split = kw.pop("split", "test")
        _no_extra(kw)
        labelled = LabelCollector(report)
        for line, row in rows:
            labelled.add(line, row["text"], row["label"])
        return LabelledSet(
            name=name,
            lang=code,
            texts=labelled.texts,
            labels=labelled.labels,
            split=split,
            files=[str(path)],
            report=report,
        )
    if kind == "labelled_pairs":
        from tripletforge.data.readers.pairclass import NliPairCollector

        _no_extra(kw)
        nli = NliPairCollector(report, path)
        for line, row in rows:
            nli.add(line, row["sentence1"], row["sentence2"], row["label"])
        return nli.to_set(name, code, [path])
    target_lang = kw.pop("target_lang", "eng")
    _no_extra(kw)
    bitext = BitextCollector(report)
    for line, row in rows:
        bitext.add(line, row["source"], row["target"])
    return BitextSet(
        name=name,
        source_lang=code,
        target_lang=get_language(target_lang).code,
        source=bitext.source,
        target=bitext.target,
        files=[str(path)],
        report=report,
    )


def _no_extra(kw: Mapping[str, Any]) -> None:
    if kw:
        raise TypeError(f"read_table got unexpected keyword(s): {sorted(kw)}")
