"""The one careful reader of user tables: CSV, TSV, JSONL or Parquet, row by row.

Every table a user hands the toolkit (triplet files, dev pairs, mining inputs, leakage sets,
seed files, adapter data) is read here, so they all follow one rule:

- the format comes from the extension (:data:`TABLE_FORMATS`); CSV fields may be quoted
  (RFC 4180: a quoted field may hold commas and quotes), while in TSV a quote is plain text
  (``"Ina zuwa kasuwa," in ji Musa.`` reads as written); in both, one row is one line: a
  quoted line break or a stray quote that would join the following lines into one row makes
  that row malformed, reported over every line it covers (nothing is merged silently);
- every data row is counted in :attr:`ReadReport.rows_read`; a row that cannot be used
  (wrong number of fields, undecodable bytes, a required text cell that is missing, empty,
  not a string or holds control characters, malformed or torn JSON) is skipped and recorded
  with file, line and reason — never raised, never dropped silently;
- kept values are returned exactly as they are in the file (no stripping, no quote
  processing beyond CSV's own); callers apply their own documented normalisation;
- a file-level problem (no header, a required column absent, an unknown extension) raises
  ``ValueError`` naming the file and the fix; a missing file raises ``FileNotFoundError``.

:func:`read_records` returns rows as dicts; :func:`read_table` maps columns onto the scored
pairs / bitext contracts for evaluation suites.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    text_problem,
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
    ".json": "jsonl",
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
#: ``(line, row)``: the 1-based line a row starts on (Parquet: row number) and its values.
Record = tuple[int, dict[Column, Any]]


def table_format(path: str | Path) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet`` from the extension (``ValueError`` if none)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        known = ", ".join(sorted(TABLE_FORMATS))
        raise ValueError(
            f"cannot tell the format of {Path(path).name}; supported extensions: {known}"
        )
    return TABLE_FORMATS[suffix]


def is_table(path: str | Path) -> bool:
    """Whether ``path`` has a table extension (else it is read as plain lines)."""
    return Path(path).suffix.lower() in TABLE_FORMATS


def iter_records(
    path: str | Path,
    report: ReadReport,
    *,
    columns: Sequence[Column] = (),
    delimiter: str | None = None,
    quoted: bool | None = None,
    header: bool = True,
    what: str = "table",
    spans: dict[int, int] | None = None,
) -> Iterator[Record]:
    """Yield every well-formed row of a table; count each row, report the malformed ones.

    ``columns`` must exist (header names, JSON keys, Parquet columns; or 0-based positions
    for a delimited file read with ``header=False``): a file without them raises
    ``ValueError``, a row without them is reported as ``missing field``. Delimited rows are
    dicts keyed by header name (or position without a header); JSONL rows keep every key.
    ``delimiter`` and ``quoted`` default to the format's (CSV: ``,`` quoted; TSV: tab, quotes
    are text). ``what`` names the file in errors (``"triplet file"``). ``spans`` receives
    ``start line → last line`` of rows that span several lines (none in delimited files).
    """
    path = require_file(path, what)
    fmt = table_format(path)
    if fmt in ("csv", "tsv"):
        yield from _delimited(
            path,
            report,
            columns,
            delimiter=delimiter or ("," if fmt == "csv" else "\t"),
            quoted=fmt == "csv" if quoted is None else quoted,
            header=header,
            spans=spans,
        )
    elif fmt == "jsonl":
        yield from _jsonl(path, report, columns)
    else:
        yield from _parquet(path, report, columns)


def _delimited(
    path: Path,
    report: ReadReport,
    columns: Sequence[Column],
    *,
    delimiter: str,
    quoted: bool,
    header: bool,
    spans: dict[int, int] | None = None,
) -> Iterator[Record]:
    spans = spans if spans is not None else {}
    head, records = csv_records(
        path,
        report,
        delimiter=delimiter,
        quoted=quoted,
        header=header,
        spans=spans,
        multiline=False,
    )
    names = [column for column in columns if isinstance(column, str)]
    if names and head is None:
        raise ValueError(f"columns {names} need a header line; use positions (int)")
    absent = [name for name in names if name not in (head or [])]
    if absent:
        raise ValueError(f"{path}: no column(s) {absent} in header {head}; rename the header")
    for line, fields in records:
        if head is not None and len(fields) != len(head):
            reason = f"{MALFORMED}: {len(fields)} fields, header has {len(head)}"
            report.skip(line, reason, spans.get(line))
            continue
        if head is None:
            missing = [str(c) for c in columns if isinstance(c, int) and c >= len(fields)]
            if missing:
                report.skip(
                    line, f"{MISSING_FIELD}: column(s) {', '.join(missing)}", spans.get(line)
                )
                continue
            yield line, dict(enumerate(fields))
        else:
            yield line, dict(zip(head, fields, strict=True))


def _jsonl(path: Path, report: ReadReport, columns: Sequence[Column]) -> Iterator[Record]:
    scratch = ReadReport(str(path))  # iter_jsonl counts every line and reports bad ones
    try:
        for row in iter_jsonl(path, scratch):
            line = scratch.rows_read  # iter_jsonl counts a line before it yields it
            missing = [str(column) for column in columns if column not in row]
            if missing:
                report.skip(line, f"{MISSING_FIELD}: {', '.join(missing)}")
                continue
            yield line, row
    finally:
        report.rows_read += scratch.rows_read
        report.bad_rows.extend(scratch.bad_rows)


def _parquet(path: Path, report: ReadReport, columns: Sequence[Column]) -> Iterator[Record]:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    absent = [column for column in columns if column not in names]
    if absent:
        raise ValueError(f"{path}: no column(s) {absent} in {names}; rename the columns")
    table = pq.read_table(path)
    report.rows_read += table.num_rows
    yield from enumerate(table.to_pylist(), start=1)


def read_records(
    path: str | Path,
    report: ReadReport | None = None,
    *,
    text: Sequence[Column],
    delimiter: str | None = None,
    quoted: bool | None = None,
    header: bool = True,
    what: str = "table",
) -> tuple[list[Record], ReadReport]:
    """Rows of a table whose ``text`` columns all hold usable text (see the module rules).

    Returns ``([(line, row), ...], report)``; ``report.rows_kept`` counts the rows returned.
    Values are unchanged; other columns are passed through as they are.
    """
    report = report if report is not None else ReadReport(str(path))
    kept: list[Record] = []
    spans: dict[int, int] = {}
    rows = iter_records(
        path,
        report,
        columns=text,
        delimiter=delimiter,
        quoted=quoted,
        header=header,
        what=what,
        spans=spans,
    )
    for line, row in rows:
        problem = next((p for c in text if (p := text_problem(str(c), row.get(c)))), None)
        if problem is not None:
            report.skip(line, problem, spans.get(line))
            continue
        kept.append((line, row))
        report.rows_kept += 1
    return kept, report


def read_table(
    path: str | Path,
    contract: Literal["pairs", "bitext", "labels", "labelled_pairs"],
    columns: Mapping[str, Column] | None = None,
    lang: str | None = None,
    **kw: Any,
) -> PairSet | BitextSet | LabelledSet | LabelledPairSet:
    """Read a CSV/TSV/JSONL/Parquet file (by extension) as one of the data contracts.

    ``contract`` is ``pairs`` (``sentence1, sentence2, score``), ``bitext`` (``source, target``),
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
    if contract not in _CONTRACTS:
        raise ValueError(f"contract must be one of {sorted(_CONTRACTS)}, got {contract!r}")
    path = require_file(path, f"{contract} table")
    fmt = table_format(path)
    contract_columns = _CONTRACTS[contract]
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(contract_columns))
    if unknown:
        raise ValueError(
            f"unknown {contract} column(s) {unknown}; the contract has {list(contract_columns)}"
        )
    header = kw.pop("header", True)
    mapping = {
        name: columns.get(name, name if header or fmt not in ("csv", "tsv") else position)
        for position, name in enumerate(contract_columns)
    }
    report = ReadReport(str(path))
    records = iter_records(
        path,
        report,
        columns=list(mapping.values()),
        delimiter=kw.pop("delimiter", None),
        quoted=kw.pop("quoted", None),
        header=header,
    )
    rows = (
        (line, {name: row.get(column) for name, column in mapping.items()}) for line, row in records
    )
    code = get_language(lang).code if lang else "und"
    name = kw.pop("name", path.stem)
    if contract == "pairs":
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
    if contract == "labels":
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
    if contract == "labelled_pairs":
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
