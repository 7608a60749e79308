"""Readers for labelled sentence pairs (pair classification): AmericasNLI, XNLI, KorNLI.

MTEB's pair classification protocol on NLI data (its ``XNLI`` and ``KorNLI`` tasks) keeps the
entailment (label 1) and contradiction (label 0) pairs; neutral pairs are left out and reported
in the read report as ``neutral label`` so nothing disappears unnoticed.
"""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.languages import UnknownLanguageError, get_language
from tripletforge.data.readers._common import (
    EMPTY_TEXT,
    MALFORMED,
    MISSING_FIELD,
    clean,
    csv_records,
    find_column,
    require_file,
    skip_at,
    utf8_error,
)
from tripletforge.data.readers.bitext import _iso
from tripletforge.data.readers.labelled import DEV_SPLITS
from tripletforge.data.schemas import LabelledPairSet, ReadReport

NEUTRAL = "neutral label"
BAD_LABEL = "bad label"
#: Label → pair-classification label (None: left out): NLI words or a binary 1/0.
NLI_LABELS: dict[str, int | None] = {
    "entailment": 1,
    "contradiction": 0,
    "neutral": None,
    "1": 1,
    "0": 0,
}
#: AmericasNLI file names that are not ISO 639-3 codes.
AMERICASNLI_FILES = {"grn": "gn"}


class NliPairCollector:
    """Validates NLI rows and keeps entailment (1) / contradiction (0) pairs."""

    def __init__(self, report: ReadReport, path: str | Path) -> None:
        self.report = report
        self.path = str(path)
        self.sentence1: list[str] = []
        self.sentence2: list[str] = []
        self.labels: list[int] = []

    def add(self, line: int, premise: object, hypothesis: object, label: object) -> bool:
        s1, s2, tag = clean(premise), clean(hypothesis), clean(label).lower()
        reason = utf8_error(s1, s2, tag)
        if reason is None:
            for column, text in (("premise", s1), ("hypothesis", s2)):
                if not text:
                    reason = f"{EMPTY_TEXT}: {column}"
                    break
        if reason is None and not tag:
            reason = f"{MISSING_FIELD}: label"
        if reason is None and tag not in NLI_LABELS:
            reason = f"{BAD_LABEL}: {tag[:30]!r} is not entailment/neutral/contradiction or 1/0"
        if reason is None and NLI_LABELS[tag] is None:
            reason = f"{NEUTRAL}: pair classification keeps entailment and contradiction"
        if reason is not None:
            skip_at(self.report, self.path, line, reason)
            return False
        self.sentence1.append(s1)
        self.sentence2.append(s2)
        self.labels.append(int(NLI_LABELS[tag]))  # type: ignore[arg-type]
        self.report.rows_kept += 1
        return True

    def to_set(self, name: str, lang: str, files: list[Path]) -> LabelledPairSet:
        return LabelledPairSet(
            name=name,
            lang=lang,
            sentence1=self.sentence1,
            sentence2=self.sentence2,
            labels=self.labels,
            files=[str(f) for f in files],
            report=self.report,
        )


def _read_tsv(path: Path, rows: NliPairCollector, columns: tuple[list[str], ...], lang_col=None):
    """Add the rows of a header TSV (quotes are text); ``lang_col=(names, value)`` filters."""
    header, records = csv_records(path, rows.report, delimiter="\t", quoted=False)
    assert header is not None
    index = [find_column(header, names, path) for names in columns]
    only = None
    if lang_col is not None:
        only = (find_column(header, lang_col[0], path), lang_col[1])
    for line, fields in records:
        if len(fields) != len(header):
            msg = f"{MALFORMED}: {len(fields)} fields, header has {len(header)}"
            skip_at(rows.report, path, line, msg)
            continue
        if only is not None and fields[only[0]].strip() != only[1]:
            rows.report.rows_read -= 1  # another language's row: not part of this set
            continue
        rows.add(line, *(fields[i] for i in index))


def read_americasnli(root: str | Path, lang: str, split: str = "test") -> LabelledPairSet:
    """Read AmericasNLI (``<root>/<split>/<lang>.tsv`` or ``<root>/<split>.tsv``).

    Columns ``language, premise, hypothesis, label``; ``lang`` is the file's code (``aym``,
    ``quy``, ``gn``…; ``grn`` finds ``gn``). The combined ``<split>.tsv`` is filtered by the
    ``language`` column.
    """
    root = Path(root)
    split = "dev" if split in DEV_SPLITS else split
    code = AMERICASNLI_FILES.get(lang, lang)
    per_language = root / split / f"{code}.tsv"
    combined = root / f"{split}.tsv"
    if per_language.is_file():
        path, lang_col = per_language, None
    else:
        path = require_file(combined, "AmericasNLI split", f"Expected {per_language} or {combined}")
        lang_col = (["language"], code)
    report = ReadReport(str(path))
    rows = NliPairCollector(report, path)
    _read_tsv(path, rows, (["premise"], ["hypothesis"], ["label"]), lang_col)
    iso = {v: k for k, v in AMERICASNLI_FILES.items()}.get(code, _iso(code))
    return rows.to_set(f"americasnli-{iso}-{split}", iso, [path])


def read_xnli(root: str | Path, lang: str, split: str = "test") -> LabelledPairSet:
    """Read an XNLI translation with per-language columns (the myXNLI release).

    Files ``<root>/<xx>.genre.<split>.tsv`` with ``label, sentence1_<xx>, sentence2_<xx>``,
    where ``xx`` is the ISO 639-1 code (``sw``, ``my``, ``ur``); ``lang`` may be either code.
    """
    root = Path(root)
    split = "dev" if split in DEV_SPLITS else split
    short = lang
    if len(lang) != 2:
        try:
            short = get_language(lang).iso1 or lang
        except UnknownLanguageError:
            short = lang
    path = root / f"{short}.genre.{split}.tsv" if root.is_dir() else root
    path = require_file(path, "XNLI file", "Expected <root>/<xx>.genre.<split>.tsv (myXNLI)")
    report = ReadReport(str(path))
    rows = NliPairCollector(report, path)
    _read_tsv(path, rows, ([f"sentence1_{short}"], [f"sentence2_{short}"], ["label", "gold_label"]))
    iso = _iso(lang)  # the code the caller gave (swh stays swh; sw → swa)
    return rows.to_set(f"xnli-{iso}-{split}", iso, [path])


def read_kornli(root: str | Path, split: str = "test") -> LabelledPairSet:
    """Read KorNLI's XNLI part (``xnli.{dev,test}.ko.tsv``: ``sentence1, sentence2, gold_label``).

    ``root`` is the file, its folder or the KorSTS/KorNLI release folder.
    """
    root = Path(root)
    split = "dev" if split in DEV_SPLITS else split
    path = root
    if root.is_dir():
        name = f"xnli.{split}.ko.tsv"
        path = next((p for p in (root / name, root / "KorNLI" / name) if p.is_file()), root / name)
    path = require_file(path, "KorNLI file", "Expected xnli.dev.ko.tsv or xnli.test.ko.tsv")
    report = ReadReport(str(path))
    rows = NliPairCollector(report, path)
    _read_tsv(path, rows, (["sentence1"], ["sentence2"], ["gold_label", "label"]))
    return rows.to_set(f"kornli-{split}", "kor", [path])
