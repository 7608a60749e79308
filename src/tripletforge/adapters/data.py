"""Readers for adapter training data: English NLI, XL-LoRA cross-lingual pairs, raw text.

Every path is a user input; nothing here assumes a data folder. Files are read by the careful
readers of :mod:`tripletforge.data` (tables: :mod:`~tripletforge.data.readers.table`; text:
:mod:`~tripletforge.data.readers.lines`; XL-LoRA CSVs: :mod:`tripletforge.data.xllora`), which
skip bad rows and record them in a :class:`~tripletforge.data.schemas.ReadReport` instead of
crashing; this module turns the rows into training examples (whitespace collapsed).

=============  ==========================================================================
reader         input
=============  ==========================================================================
SNLI (tok.)    a folder with ``s1.<split>``, ``s2.<split>``, ``labels.<split>`` (e-SNLI
               layout, PTB-tokenised: detokenised here)
XNLI English   TSV files with ``label, sentence1_en, sentence2_en`` columns (myXNLI layout)
XL-LoRA        CSV ``sent0,sent1`` (entailment, ``*_pos.csv``) / ``sent0,hard_neg``
               (contradiction, ``*_neg.csv``)
triplets       any triplet file (``anchor, positive, negative``; task and xlora adapters)
text           one sentence per line, or a table's ``text`` column (language adapters)
=============  ==========================================================================
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tripletforge.adapters.config import AdapterData
from tripletforge.adapters.prompts import check_polarity
from tripletforge.data import xllora
from tripletforge.data.readers.lines import read_lines
from tripletforge.data.readers.table import read_records
from tripletforge.data.schemas import ReadReport

#: NLI label that each polarity learns to produce.
POLARITY_LABEL = {"positive": "entailment", "negative": "contradiction"}


@dataclass(frozen=True)
class NliExample:
    """A labelled premise/hypothesis pair."""

    premise: str
    hypothesis: str
    label: str  # entailment | neutral | contradiction


@dataclass(frozen=True)
class PromptPair:
    """One supervised adapter example: the premise (prompted) and the hypothesis to learn."""

    premise: str
    hypothesis: str


_DETOK_RULES = [
    (re.compile(r"\s+([.,!?;:%)\]}])"), r"\1"),
    (re.compile(r"([(\[{$])\s+"), r"\1"),
    (re.compile(r"\s+(n't|'s|'re|'ve|'m|'ll|'d)\b", re.IGNORECASE), r"\1"),
    (re.compile(r"\b(can|gon|wan)\s+(not|na|ta)\b", re.IGNORECASE), r"\1\2"),
]


def _join_quotes(tokens: list[str]) -> str:
    """Attach PTB quotes (`` '' and straight ") to the words they enclose."""
    out: list[str] = []
    glue_next, opened = False, False
    for token in tokens:
        if token == "``" or (token == '"' and not opened):
            out.append('"')
            glue_next, opened = True, True
        elif token == "''" or token == '"':
            if out:
                out[-1] += '"'
            else:
                out.append('"')
            glue_next, opened = False, False
        elif glue_next and out:
            out[-1] += token
            glue_next = False
        else:
            out.append(token)
    return " ".join(out)


def detokenize(text: str) -> str:
    """Undo PTB-style tokenisation: ``A man 's dog , here .`` → ``A man's dog, here.``"""
    text = _join_quotes(text.split())
    for pattern, repl in _DETOK_RULES:
        text = pattern.sub(repl, text)
    return text.strip()


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def read_snli_tokenized(
    folder: str | Path, splits: Sequence[str] = ("dev", "test"), report: ReadReport | None = None
) -> list[NliExample]:
    """Read the e-SNLI layout (``s1.<split>``, ``s2.<split>``, ``labels.<split>``), detokenised."""
    folder = Path(folder)
    report = report if report is not None else ReadReport(str(folder))
    out: list[NliExample] = []
    for split in splits:
        files = [folder / f"{stem}.{split}" for stem in ("s1", "s2", "labels")]
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"SNLI split {split!r} incomplete, missing: {missing}")
        columns = []
        for path in files:
            lines, _ = read_lines(path, ReadReport(str(path)), skip_empty=False)
            columns.append(dict(lines))
        count = max(max(c, default=0) for c in columns)
        if len({max(c, default=0) for c in columns}) != 1:
            raise ValueError(f"SNLI {split}: s1/s2/labels have different line counts")
        for line in range(1, count + 1):
            report.rows_read += 1
            s1, s2, label = (c.get(line) for c in columns)
            if s1 is None or s2 is None or label is None:
                report.skip(line, f"unreadable line: split {split} (see the files' own reports)")
                continue
            premise, hypothesis = detokenize(s1), detokenize(s2)
            if not premise or not hypothesis:
                report.skip(line, f"empty sentence: split {split}")
                continue
            out.append(NliExample(premise, hypothesis, label.strip().lower()))
            report.rows_kept += 1
    return out


def read_xnli_english(
    paths: Iterable[str | Path], report: ReadReport | None = None
) -> list[NliExample]:
    """Read the English columns (``sentence1_en``, ``sentence2_en``, ``label``) of XNLI TSVs.

    ``paths`` are files or folders (every ``*.tsv`` inside is read; files without the English
    columns are skipped). Duplicate pairs across files are kept once. Quotes are text (TSV).
    """
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.tsv")) if path.is_dir() else [path])
    seen: set[tuple[str, str, str]] = set()
    out: list[NliExample] = []
    columns = ("label", "sentence1_en", "sentence2_en")
    for file in files:
        file_report = ReadReport(str(file))
        try:
            records, _ = read_records(file, file_report, text=columns)
        except ValueError:  # not an English XNLI file (no *_en columns)
            continue
        if report is not None:
            report.rows_read += file_report.rows_read
            report.rows_kept += file_report.rows_kept
            report.bad_rows.extend(file_report.bad_rows)
        for _, row in records:
            label = _clean(row["label"]).lower()
            key = (_clean(row["sentence1_en"]), _clean(row["sentence2_en"]), label)
            if key not in seen:
                seen.add(key)
                out.append(NliExample(*key))
    return out


def nli_pairs(examples: Iterable[NliExample], polarity: str) -> list[PromptPair]:
    """Premise → hypothesis pairs whose label matches the polarity (deduplicated, in order)."""
    label = POLARITY_LABEL[check_polarity(polarity)]
    seen: set[PromptPair] = set()
    out: list[PromptPair] = []
    for ex in examples:
        pair = PromptPair(ex.premise, ex.hypothesis)
        if ex.label == label and pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def read_xllora_pairs(
    path: str | Path, polarity: str, report: ReadReport | None = None
) -> list[PromptPair]:
    """Read XL-LoRA pairs: a CSV file, or a folder holding ``*_pos.csv`` / ``*_neg.csv``."""
    rows = xllora.read_xllora_pairs(path, check_polarity(polarity), report)
    return [PromptPair(_clean(premise), _clean(hypothesis)) for _, premise, hypothesis in rows]


def read_triplet_pairs(
    path: str | Path, polarity: str, report: ReadReport | None = None
) -> list[PromptPair]:
    """Anchor → positive (``positive``) or anchor → negative pairs of a triplet file.

    Any table of the triplet contract (``anchor, positive, negative``; JSONL, CSV, TSV,
    Parquet, or an XL-LoRA folder) through :func:`tripletforge.data.triplets.read_triplets`;
    bad rows are counted in ``report``, repeated pairs kept once.
    """
    from tripletforge.data.triplets import read_triplets

    column = check_polarity(polarity)
    rows, read = read_triplets(path)
    if report is not None:
        report.rows_read += read.rows_read
        report.rows_kept += read.rows_kept
        report.bad_rows.extend(read.bad_rows)
    seen: set[PromptPair] = set()
    out: list[PromptPair] = []
    for row in rows:
        pair = PromptPair(_clean(row["anchor"]), _clean(row[column]))
        if pair.premise and pair.hypothesis and pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def read_text_lines(
    path: str | Path,
    limit: int | None = None,
    report: ReadReport | None = None,
    lang: str | None = None,
) -> list[str]:
    """Sentences of a text file (one per line) or of a table's ``text`` column, normalised.

    Tables (CSV, TSV, JSONL, Parquet) are read as seed tables
    (:func:`tripletforge.data.seeds.read_seeds`); with ``lang``, rows of another language
    (a ``lang`` column) are left out.
    """
    from tripletforge.data.readers.table import is_table

    if is_table(Path(path)):
        from tripletforge.data.seeds import read_seeds

        seeds, read = read_seeds(path, lang)
        if report is not None:
            report.rows_read += read.rows_read
            report.rows_kept += read.rows_kept
            report.bad_rows.extend(read.bad_rows)
        texts = [s.text for s in seeds if lang is None or s.lang == lang]
    else:
        lines, _ = read_lines(path, report)
        texts = [_clean(text) for _, text in lines]
    return texts[:limit] if limit is not None else texts


def hash_examples(examples: Sequence[PromptPair | str]) -> str:
    """SHA-256 of the training examples in order (the data hash stored with an adapter)."""
    digest = hashlib.sha256()
    for ex in examples:
        item = [ex.premise, ex.hypothesis] if isinstance(ex, PromptPair) else ex
        digest.update(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def load_adapter_examples(
    data: AdapterData, seed: int = 0
) -> tuple[list[PromptPair] | list[str], list[str], list[ReadReport]]:
    """The examples an adapter trains on, the sources read and a read report per source.

    ``task``: English NLI pairs of the polarity's label (SNLI and/or XNLI); ``xlora``: the
    XL-LoRA pairs of the polarity; ``language``: raw sentences. With ``data.limit`` a sample
    of that many examples, seeded by ``seed``.
    """
    import random

    reports: list[ReadReport] = []
    sources: list[str] = []
    examples: list[PromptPair] | list[str]
    if data.adapter_type == "task":
        nli: list[NliExample] = []
        for folder in data.snli:
            reports.append(ReadReport(str(folder)))
            nli += read_snli_tokenized(folder, data.snli_splits, reports[-1])
            sources.append(str(folder))
        if data.xnli:
            reports.append(ReadReport(",".join(map(str, data.xnli))))
            nli += read_xnli_english(data.xnli, reports[-1])
            sources += [str(p) for p in data.xnli]
        if data.triplets is not None:
            reports.append(ReadReport(str(data.triplets)))
            nli += [
                NliExample(p.premise, p.hypothesis, POLARITY_LABEL[str(data.polarity)])
                for p in read_triplet_pairs(data.triplets, str(data.polarity), reports[-1])
            ]
            sources.append(str(data.triplets))
        examples = nli_pairs(nli, str(data.polarity))
    elif data.adapter_type == "xlora" and data.pairs is not None:
        reports.append(ReadReport(str(data.pairs)))
        examples = read_xllora_pairs(str(data.pairs), str(data.polarity), reports[-1])
        sources.append(str(data.pairs))
    elif data.adapter_type == "xlora":
        reports.append(ReadReport(str(data.triplets)))
        examples = read_triplet_pairs(str(data.triplets), str(data.polarity), reports[-1])
        sources.append(str(data.triplets))
    else:
        reports.append(ReadReport(str(data.text)))
        examples = read_text_lines(str(data.text), report=reports[-1], lang=data.lang)
        sources.append(str(data.text))
    if data.limit is not None and data.limit < len(examples):
        examples = random.Random(seed).sample(examples, data.limit)  # type: ignore[assignment]
    return examples, sources, reports
