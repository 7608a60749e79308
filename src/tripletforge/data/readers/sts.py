"""Readers for scored sentence pairs: SemRel2024, STS-B multi-MT, SemEval-2017 STS, KorSTS."""

from __future__ import annotations

import re
from pathlib import Path

from tripletforge.data.languages import get_language
from tripletforge.data.readers._common import (
    EMPTY_LINE,
    MALFORMED,
    MISALIGNED,
    MISSING_FIELD,
    NO_GOLD,
    PairCollector,
    csv_records,
    find_column,
    numbered_lines,
    require_file,
    skip_at,
)
from tripletforge.data.schemas import PairSet, ReadReport

#: SemRel2024 file-name codes that are not ISO 639-3.
SEMREL_CODE_ALIASES = {"esp": "spa"}
_SEMREL_FILE = re.compile(r"^([a-z]{3})_")
_STSB_FILE = re.compile(r"^stsb-([a-z]{2,3})-(\w+)$")
_STS17_FILE = re.compile(r"\.([a-z]{2,3})-([a-z]{2,3})\.txt$")


def _pairs(name: str, lang: str, rows: PairCollector, files: list[Path], lang2: str | None = None):
    return PairSet(
        name=name,
        lang=lang,
        sentence1=rows.sentence1,
        sentence2=rows.sentence2,
        scores=rows.scores,
        lang2=lang2,
        files=[str(path) for path in files],
        report=rows.report,
    )


def read_semrel(path: str | Path, lang: str | None = None) -> PairSet:
    """Read a labelled SemRel2024 CSV (``*_train.csv``, ``*_dev_with_labels.csv``); gold 0–1.

    Handles the quirks of the release: ``Text`` holds both sentences split by a newline (or a
    tab, as in the afr files), pan orders its columns ``Text,Score,PairID`` and afr names the
    score column ``score``. ``lang`` defaults to the file-name prefix (``hau_dev...`` → hau;
    ``esp`` → spa).
    """
    path = require_file(path, "SemRel2024 file", "Use a *_train.csv or *_dev_with_labels.csv file")
    if lang is None:
        match = _SEMREL_FILE.match(path.name)
        if not match:
            raise ValueError(f"cannot infer the language of {path.name}; pass lang=")
        lang = match.group(1)
    code = get_language(SEMREL_CODE_ALIASES.get(lang, lang)).code
    report = ReadReport(str(path))
    header, records = csv_records(path, report)
    assert header is not None
    text_col = find_column(header, ["Text"], path)
    try:
        score_col = find_column(header, ["Score"], path)
    except ValueError:
        raise ValueError(
            f"{path} has no Score column (an unlabelled file?); use *_dev_with_labels.csv"
        ) from None
    rows = PairCollector(report, score_range=(0.0, 1.0))
    for line, fields in records:
        if len(fields) != len(header):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}")
            continue
        text = fields[text_col].replace("\r\n", "\n").strip("\n")
        separator = "\n" if "\n" in text else "\t"
        parts = text.split(separator)
        if len(parts) < 2:
            report.skip(line, f"{MISSING_FIELD}: Text holds one sentence (no newline or tab)")
            continue
        if len(parts) > 2:
            report.skip(line, f"{MALFORMED}: Text holds {len(parts)} sentences, expected 2")
            continue
        rows.add(line, parts[0], parts[1], fields[score_col])
    return _pairs(f"semrel2024-{path.stem}", code, rows, [path])


def read_stsb_multi_mt(path: str | Path, lang: str | None = None) -> PairSet:
    """Read an stsb-multi-mt file: headerless CSV ``s1,s2,score`` (gold 0–5).

    ``lang`` defaults to the ISO 639-1 code in the file name (``stsb-de-dev.csv`` → deu).
    """
    path = require_file(path, "stsb-multi-mt file", "Expected a file like stsb-de-dev.csv")
    match = _STSB_FILE.match(path.stem)
    if lang is None:
        if not match:
            raise ValueError(f"cannot infer the language of {path.name}; pass lang=")
        lang = match.group(1)
    code = get_language(lang).code
    report = ReadReport(str(path))
    _, records = csv_records(path, report, header=False)
    rows = PairCollector(report, score_range=(0.0, 5.0))
    for line, fields in records:
        if len(fields) != 3:
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, expected 3 (s1,s2,score)")
            continue
        rows.add(line, *fields)
    split = f"-{match.group(2)}" if match else ""
    return _pairs(f"stsb_multi_mt-{code}{split}", code, rows, [path])


def _sts17_gold(input_path: Path) -> Path:
    name = input_path.name.replace("STS.input.", "STS.gs.")
    folder = input_path.parent
    candidates = [folder / name, folder.parent / "STS2017.gs" / name]
    candidates += sorted(sibling / name for sibling in folder.parent.iterdir() if sibling.is_dir())
    for candidate in candidates:
        if candidate != input_path and candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"gold file {name} for {input_path} not found next to it or in ../STS2017.gs; "
        "pass gold_path="
    )


def _sts17_langs(input_path: Path, lang: str | None) -> tuple[str, str | None]:
    spec = lang
    if spec is None:
        match = _STS17_FILE.search(input_path.name)
        if not match:
            raise ValueError(f"cannot infer the languages of {input_path.name}; pass lang='es-en'")
        spec = f"{match.group(1)}-{match.group(2)}"
    first, _, second = spec.partition("-")
    code = get_language(first).code
    code2 = get_language(second).code if second else None
    return code, (code2 if code2 != code else None)


def read_sts17(
    input_path: str | Path,
    gold_path: str | Path | None = None,
    lang: str | None = None,
    limit: int | None = None,
) -> PairSet:
    """Read a SemEval-2017 STS track: ``STS.input.*.txt`` (``s1<TAB>s2``) + ``STS.gs.*.txt``.

    The gold file is found next to the input or in ``../STS2017.gs`` unless given. Pairs are
    matched by line; input lines past the end of the gold file (tr-en ships 500 input lines for
    250 gold scores) are reported as ``no gold score``. ``limit`` reads only the first pairs.
    ``lang``/``lang2`` come from the file name (``ar-en`` → arb, eng); the column order inside
    cross-lingual files varies by row, which does not matter for a symmetric similarity.
    """
    input_path = require_file(input_path, "STS17 input file")
    gold = require_file(gold_path, "STS17 gold file") if gold_path else _sts17_gold(input_path)
    code, code2 = _sts17_langs(input_path, lang)
    report = ReadReport(str(input_path))
    inputs = list(numbered_lines(input_path))
    scores = list(numbered_lines(gold))
    if limit is not None:
        inputs, scores = inputs[:limit], scores[:limit]
    report.rows_read = max(len(inputs), len(scores))
    rows = PairCollector(report, score_range=(0.0, 5.0))
    for index, (line, text) in enumerate(inputs):
        if index >= len(scores):
            report.skip(line, f"{NO_GOLD}: the gold file has {len(scores)} lines")
            continue
        if not text.strip():
            report.skip(line, EMPTY_LINE)
            continue
        fields = text.split("\t")
        if len(fields) != 2:
            report.skip(line, f"{MALFORMED}: {len(fields)} tab-separated fields, expected 2")
            continue
        rows.add(line, fields[0], fields[1], scores[index][1])
    for line, _ in scores[len(inputs) :]:
        skip_at(report, gold, line, f"{MISALIGNED}: gold line without an input pair")
    track = input_path.name.removeprefix("STS.input.").removesuffix(".txt")
    return _pairs(f"sts17-{track}", code, rows, [input_path, gold], lang2=code2)


def read_korsts(path: str | Path) -> PairSet:
    """Read a KorSTS TSV (``genre filename year id score sentence1 sentence2``; gold 0–5).

    Quotes are literal text in these files, so fields are split on tabs only.
    """
    path = require_file(path, "KorSTS file", "Expected sts-train.tsv, sts-dev.tsv or sts-test.tsv")
    report = ReadReport(str(path))
    header, records = csv_records(path, report, delimiter="\t", quoted=False)
    assert header is not None
    columns = [find_column(header, [name], path) for name in ("sentence1", "sentence2", "score")]
    rows = PairCollector(report, score_range=(0.0, 5.0))
    for line, fields in records:
        if len(fields) != len(header):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}")
            continue
        s1, s2, score = (fields[column] for column in columns)
        rows.add(line, s1, s2, score)
    return _pairs(f"korsts-{path.stem}", "kor", rows, [path])
