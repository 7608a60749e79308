"""XL-LoRA generator data (arXiv 2603.01732): cross-lingual NLI pairs, read with one rule.

``..._pos.csv`` has ``sent0,sent1`` (premise → English entailment) and ``..._neg.csv`` has
``sent0,hard_neg`` (premise → English contradiction). Both are quoted CSV read by the careful
table reader (:func:`tripletforge.data.readers.table.read_records`): a row whose premise or
hypothesis is missing, empty or undecodable is skipped and counted with file and line.

The same pairs feed adapter training (:func:`read_xllora_pairs`, one polarity) and real
triplets (:func:`read_xllora_triplets`: premises present in both files give (foreign premise,
English entailment, English contradiction); the premise language is identified with
py3langid restricted to the XNLI languages).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from tripletforge.data.languages import get_language
from tripletforge.data.readers.table import read_records
from tripletforge.data.schemas import ReadReport, seed_id_for

#: Hypothesis column of the XL-LoRA CSVs for each polarity.
XLLORA_COLUMN = {"positive": "sent1", "negative": "hard_neg"}
_SUFFIX = {"positive": "_pos.csv", "negative": "_neg.csv"}

XNLI_ISO1 = (
    "ar",
    "bg",
    "de",
    "el",
    "en",
    "es",
    "fr",
    "hi",
    "ru",
    "sw",
    "th",
    "tr",
    "ur",
    "vi",
    "zh",
)


@lru_cache(maxsize=1)
def _xnli_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(XNLI_ISO1))
    return ident


def xnli_language(text: str) -> str:
    """ISO 639-3 code of an XNLI-language text."""
    label, _ = _xnli_identifier().classify(text)
    return get_language(label).code


def xllora_file(path: str | Path, polarity: str) -> Path:
    """The CSV of one polarity: ``path`` itself, or the one ``*_pos.csv``/``*_neg.csv`` in it."""
    path = Path(path)
    if not path.is_dir():
        return path
    suffix = _SUFFIX[polarity]
    matches = sorted(path.glob(f"*{suffix}"))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise FileNotFoundError(
            f"{path}: expected one *{suffix} file (found {found}); point at the XL-LoRA data "
            "folder or at the CSV itself"
        )
    return matches[0]


def read_xllora_pairs(
    path: str | Path, polarity: str, report: ReadReport | None = None
) -> list[tuple[int, str, str]]:
    """``[(line, premise, hypothesis), ...]`` of one polarity (a CSV, or a data folder)."""
    if polarity not in XLLORA_COLUMN:
        raise ValueError(f"polarity must be one of {sorted(XLLORA_COLUMN)}, got {polarity!r}")
    file = xllora_file(path, polarity)
    records, _ = read_records(file, report, text=("sent0", XLLORA_COLUMN[polarity]))
    column = XLLORA_COLUMN[polarity]
    return [(line, str(row["sent0"]), str(row[column])) for line, row in records]


def read_xllora_triplets(folder: str | Path) -> tuple[list[dict[str, Any]], ReadReport]:
    """Join the positive and negative files on the premise; one triplet per shared premise.

    The report covers both files (bad rows name their own file); ``rows_kept`` counts the
    triplets. The first pair of a premise wins in each file.
    """
    pos_file, neg_file = xllora_file(folder, "positive"), xllora_file(folder, "negative")
    report = ReadReport(str(folder))
    pos_report, neg_report = ReadReport(str(pos_file)), ReadReport(str(neg_file))
    negatives: dict[str, str] = {}
    for _, anchor, negative in read_xllora_pairs(neg_file, "negative", neg_report):
        negatives.setdefault(anchor, negative)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, anchor, positive in read_xllora_pairs(pos_file, "positive", pos_report):
        if anchor in seen or anchor not in negatives:
            continue
        seen.add(anchor)
        lang = xnli_language(anchor)
        rows.append(
            {
                "anchor": anchor,
                "positive": positive,
                "negative": negatives[anchor],
                "lang": lang,
                "positive_lang": "eng",
                "seed_id": seed_id_for(anchor, lang),
                "strategy": "real",
                "backend": None,
                "model_id": "xllora_generator_data",
            }
        )
    report.rows_read = pos_report.rows_read + neg_report.rows_read
    report.bad_rows = pos_report.bad_rows + neg_report.bad_rows
    report.rows_kept = len(rows)
    return rows, report
