"""Read generation seeds (``text, lang`` + optional ``seed_id``): txt, CSV/TSV, JSONL, Parquet.

Bad rows never crash the reader and are never lost silently: empty text, invalid UTF-8,
unknown language codes, malformed rows and duplicates are skipped and recorded in the
:class:`SeedReport`; overlong texts are truncated (at a word boundary) and counted.

==========  ==================================================================================
format      layout
==========  ==================================================================================
``.txt``    one sentence per line; the language comes from ``lang=``
``.csv``    header with a ``text`` column; optional ``lang``, ``seed_id`` (``.tsv``: tabs)
``.jsonl``  one object per line with the same keys
``.parquet``  the same columns
==========  ==================================================================================
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripletforge.data.jsonl import iter_jsonl
from tripletforge.data.languages import UnknownLanguageError, get_language
from tripletforge.data.schemas import ReadReport, Seed, seed_id_for

#: Longest seed text kept (characters); longer ones are cut at a word boundary.
MAX_SEED_CHARS = 1000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


@dataclass
class SeedReport(ReadReport):
    """A :class:`ReadReport` that also lists truncated rows and unknown language codes."""

    truncated: list[int] = field(default_factory=list)
    unknown_languages: set[str] = field(default_factory=set)

    def summary(self) -> str:
        text = super().summary()
        if self.truncated:
            text += f"; {len(self.truncated)} truncated to {MAX_SEED_CHARS} characters"
        if self.unknown_languages:
            codes = ", ".join(sorted(self.unknown_languages))
            text += (
                f"; unknown language codes: {codes} (accepted: ISO 639-1/639-3 codes, BCP-47 "
                "tags and FLORES codes in any case; for a language outside ISO 639 see "
                "tripletforge.data.languages.register_language(code, name, iso1, flores))"
            )
        return text


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, at a word boundary when possible."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip()


def _rows_txt(data: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(data.split("\n"), start=1):
        yield number, {"text": line.rstrip("\r")}


def _rows_csv(
    data: str, delimiter: str, report: SeedReport
) -> Iterator[tuple[int, dict[str, Any]]]:
    csv.field_size_limit(1 << 30)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.DictReader(io.StringIO(data, newline=""), delimiter=delimiter, quoting=quoting)
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise ValueError(
            f"{report.path}: seed files need a 'text' column (found {reader.fieldnames}); "
            "optional columns: lang, seed_id"
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows_read += 1
            report.skip(reader.line_num, f"malformed row: {exc}")
            continue
        if None in row:  # more fields than the header
            row.pop(None)
        yield reader.line_num, row


def _rows_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "text" not in table.column_names:
        raise ValueError(f"{path}: seed files need a 'text' column (found {table.column_names})")
    yield from enumerate(table.to_pylist(), start=1)


def _rows_jsonl(path: Path, report: SeedReport) -> Iterator[tuple[int, dict[str, Any]]]:
    inner = ReadReport(str(path))  # iter_jsonl's own report: torn, malformed, non-UTF-8 lines
    for row in iter_jsonl(path, inner):
        yield inner.rows_read, row
    report.rows_read += len(inner.bad_rows)
    report.bad_rows.extend(inner.bad_rows)


def read_seeds(
    path: str | Path, lang: str | None = None, max_chars: int = MAX_SEED_CHARS
) -> tuple[list[Seed], SeedReport]:
    """Read seeds; ``lang`` is the language of rows without one (ISO 639-3 or an alias).

    Raises :class:`~tripletforge.data.languages.UnknownLanguageError` for an unknown ``lang``
    and ``ValueError`` for a file without a ``text`` column; bad rows are only reported.
    """
    path = Path(path)
    default_lang = get_language(lang).code if lang else None
    report = SeedReport(str(path))
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix == ".parquet":
        rows: Iterator[tuple[int, dict[str, Any]]] = _rows_parquet(path)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        rows = _rows_jsonl(path, report)
    else:
        data = path.read_bytes().decode("utf-8", errors="surrogateescape")
        if suffix in (".csv", ".tsv"):
            rows = _rows_csv(data, "\t" if suffix == ".tsv" else ",", report)
        else:
            if data.endswith("\n"):
                data = data[:-1]
            rows = _rows_txt(data)
    seeds: list[Seed] = []
    seen: set[str] = set()
    for number, row in rows:
        report.rows_read += 1
        seed = _seed_from_row(row, number, default_lang, max_chars, report)
        if seed is None:
            continue
        if seed.seed_id in seen:
            report.skip(number, f"duplicate seed: {seed.seed_id}")
            continue
        seen.add(seed.seed_id)
        seeds.append(seed)
        report.rows_kept += 1
    return seeds, report


def _seed_from_row(
    row: dict[str, Any], number: int, default_lang: str | None, max_chars: int, report: SeedReport
) -> Seed | None:
    text = row.get("text")
    if not isinstance(text, str):
        report.skip(number, "empty text" if text is None else f"text is not a string: {text!r:.40}")
        return None
    if _SURROGATE.search(text) or _SURROGATE.search(str(row.get("lang") or "")):
        report.skip(number, "invalid UTF-8")
        return None
    text = " ".join(_CONTROL.sub("", text).split())
    if not text:
        report.skip(number, "empty text")
        return None
    if len(text) > max_chars:
        text = truncate(text, max_chars)
        report.truncated.append(number)
    code = str(row.get("lang") or "").strip() or default_lang
    if not code:
        report.skip(number, "missing language: give a lang column or lang=")
        return None
    try:
        code = get_language(code).code
    except UnknownLanguageError:
        report.unknown_languages.add(code)
        report.skip(number, f"unknown language: {code!r}")
        return None
    seed_id = str(row.get("seed_id") or "").strip() or seed_id_for(text, code)
    return Seed(text=text, lang=code, seed_id=seed_id)
