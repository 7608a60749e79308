"""Read generation seeds (``text, lang`` + optional ``seed_id``): txt, CSV/TSV, JSONL, Parquet.

Files are read by the careful readers (:mod:`tripletforge.data.readers.table` for tables,
:mod:`tripletforge.data.readers.lines` for text files). Bad rows never crash the reader and
are never lost silently: empty text, invalid UTF-8, unknown language codes, malformed rows and
duplicates are skipped and recorded in the :class:`SeedReport`. A kept seed's text has its
whitespace runs collapsed to one space and control characters removed (rows where control
characters were removed are listed in ``SeedReport.cleaned``); overlong texts are truncated
(at a word boundary) and counted.

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

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripletforge.data.languages import UnknownLanguageError, get_language
from tripletforge.data.readers.lines import read_lines
from tripletforge.data.readers.table import is_table, iter_records
from tripletforge.data.schemas import ReadReport, SeedSentence, seed_id_for

#: Longest seed text kept (characters); longer ones are cut at a word boundary.
MAX_SEED_CHARS = 1000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


@dataclass
class SeedReport(ReadReport):
    """A :class:`ReadReport` that also lists truncated rows and unknown language codes."""

    truncated: list[int] = field(default_factory=list)
    cleaned: list[int] = field(default_factory=list)  # lines whose control characters went
    unknown_languages: set[str] = field(default_factory=set)

    def summary(self) -> str:
        text = super().summary()
        if self.cleaned:
            text += f"; {len(self.cleaned)} had control characters removed"
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


def _rows(path: Path, report: SeedReport) -> list[tuple[int, dict[str, Any]]]:
    """Every readable row of a seed file (the careful readers count and report the rest)."""
    if not is_table(path):
        scratch = ReadReport(str(path))  # the seeds' own checks decide what is kept
        lines, _ = read_lines(path, scratch, skip_empty=False, reject_control=False)
        report.rows_read += scratch.rows_read
        report.bad_rows.extend(scratch.bad_rows)
        return [(number, {"text": text}) for number, text in lines]
    try:
        return list(iter_records(path, report, columns=("text",)))
    except ValueError as exc:
        raise ValueError(
            f"{path}: seed files need a 'text' column; optional columns: lang, seed_id ({exc})"
        ) from None


def read_seeds(
    path: str | Path, lang: str | None = None, max_chars: int = MAX_SEED_CHARS
) -> tuple[list[SeedSentence], SeedReport]:
    """Read seeds; ``lang`` is the language of rows without one (ISO 639-3 or an alias).

    Raises :class:`~tripletforge.data.languages.UnknownLanguageError` for an unknown ``lang``
    and ``ValueError`` for a table without a ``text`` column; bad rows are only reported.
    """
    path = Path(path)
    default_lang = get_language(lang).code if lang else None
    report = SeedReport(str(path))
    seeds: list[SeedSentence] = []
    seen: set[str] = set()
    for number, row in _rows(path, report):
        seed = _seed_from_row(row, number, default_lang, max_chars, report)
        if seed is None:
            continue
        if seed.seed_id in seen:
            report.skip(number, f"duplicate seed: {seed.seed_id}")
            continue
        seen.add(seed.seed_id)
        seeds.append(seed)
        report.rows_kept += 1
    report.bad_rows.sort(key=lambda bad: bad.line)  # file order (the readers report first)
    return seeds, report


def _seed_from_row(
    row: dict[str, Any], number: int, default_lang: str | None, max_chars: int, report: SeedReport
) -> SeedSentence | None:
    text = row.get("text")
    if not isinstance(text, str):
        report.skip(number, "empty text" if text is None else f"text is not a string: {text!r:.40}")
        return None
    if _SURROGATE.search(text) or _SURROGATE.search(str(row.get("lang") or "")):
        report.skip(number, "invalid UTF-8")
        return None
    stripped = _CONTROL.sub("", text)
    if stripped != text:
        report.cleaned.append(number)
    text = " ".join(stripped.split())
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
    return SeedSentence(text=text, lang=code, seed_id=seed_id)
