"""Readers for adapter training data: English NLI, XL-LoRA cross-lingual pairs, raw text.

Every path is a user input; nothing here assumes a data folder. Readers skip bad rows and
record them in a :class:`~tripletforge.data.schemas.ReadReport` instead of crashing.

=============  ==========================================================================
reader         input
=============  ==========================================================================
SNLI (tok.)    a folder with ``s1.<split>``, ``s2.<split>``, ``labels.<split>`` (e-SNLI
               layout, PTB-tokenised: detokenised here)
XNLI English   TSV files with ``label, sentence1_en, sentence2_en`` columns (myXNLI layout)
XL-LoRA        CSV ``sent0,sent1`` (entailment, ``*_pos.csv``) / ``sent0,hard_neg``
               (contradiction, ``*_neg.csv``)
text           one sentence per line (language adapters)
=============  ==========================================================================
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tripletforge.adapters.prompts import check_polarity
from tripletforge.data.schemas import ReadReport

#: NLI label that each polarity learns to produce.
POLARITY_LABEL = {"positive": "entailment", "negative": "contradiction"}
#: Hypothesis column of the XL-LoRA CSVs for each polarity.
XLLORA_COLUMN = {"positive": "sent1", "negative": "hard_neg"}

csv.field_size_limit(min(sys.maxsize, 1 << 30))


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
    out: list[NliExample] = []
    for split in splits:
        files = [folder / f"{stem}.{split}" for stem in ("s1", "s2", "labels")]
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"SNLI split {split!r} incomplete, missing: {missing}")
        columns = [p.read_text(encoding="utf-8").splitlines() for p in files]
        if len({len(c) for c in columns}) != 1:
            raise ValueError(f"SNLI {split}: s1/s2/labels have different line counts")
        for line, (s1, s2, label) in enumerate(zip(*columns, strict=True), start=1):
            if report is not None:
                report.rows_read += 1
            premise, hypothesis = detokenize(s1), detokenize(s2)
            if not premise or not hypothesis:
                if report is not None:
                    report.skip(line, f"empty sentence: split {split}")
                continue
            out.append(NliExample(premise, hypothesis, label.strip().lower()))
            if report is not None:
                report.rows_kept += 1
    return out


def read_xnli_english(
    paths: Iterable[str | Path], report: ReadReport | None = None
) -> list[NliExample]:
    """Read the English columns (``sentence1_en``, ``sentence2_en``, ``label``) of XNLI TSVs.

    ``paths`` are files or folders (every ``*.tsv`` inside is read; files without the English
    columns are skipped). Duplicate pairs across files are kept once.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.tsv")) if path.is_dir() else [path])
    seen: set[tuple[str, str, str]] = set()
    out: list[NliExample] = []
    for file in files:
        with open(file, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if not {"label", "sentence1_en", "sentence2_en"} <= set(reader.fieldnames or ()):
                continue
            for line, row in enumerate(reader, start=2):
                if report is not None:
                    report.rows_read += 1
                premise, hypothesis = _clean(row["sentence1_en"]), _clean(row["sentence2_en"])
                label = _clean(row["label"]).lower()
                if not premise or not hypothesis or not label:
                    if report is not None:
                        report.skip(line, f"empty field: {file.name}")
                    continue
                key = (premise, hypothesis, label)
                if key not in seen:
                    seen.add(key)
                    out.append(NliExample(premise, hypothesis, label))
                if report is not None:
                    report.rows_kept += 1
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
    polarity = check_polarity(polarity)
    path = Path(path)
    if path.is_dir():
        suffix = "_pos.csv" if polarity == "positive" else "_neg.csv"
        matches = sorted(path.glob(f"*{suffix}"))
        if not matches:
            raise FileNotFoundError(f"no *{suffix} file in {path}")
        path = matches[0]
    column = XLLORA_COLUMN[polarity]
    out: list[PromptPair] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"sent0", column} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path}: expected columns sent0,{column}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if report is not None:
                report.rows_read += 1
            premise, hypothesis = _clean(row["sent0"]), _clean(row[column])
            if not premise or not hypothesis:
                if report is not None:
                    report.skip(line, "empty field")
                continue
            out.append(PromptPair(premise, hypothesis))
            if report is not None:
                report.rows_kept += 1
    return out


def read_text_lines(
    path: str | Path, limit: int | None = None, report: ReadReport | None = None
) -> list[str]:
    """Non-empty lines of a UTF-8 text file (one sentence per line), whitespace-normalised."""
    out: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line, raw in enumerate(handle, start=1):
            if limit is not None and len(out) >= limit:
                break
            if report is not None:
                report.rows_read += 1
            text = _clean(raw)
            if not text:
                if report is not None:
                    report.skip(line, "empty line")
                continue
            out.append(text)
            if report is not None:
                report.rows_kept += 1
    return out


def hash_examples(examples: Sequence[PromptPair | str]) -> str:
    """SHA-256 of the training examples in order (the data hash stored with an adapter)."""
    digest = hashlib.sha256()
    for ex in examples:
        item = [ex.premise, ex.hypothesis] if isinstance(ex, PromptPair) else ex
        digest.update(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()
