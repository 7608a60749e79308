"""Real cross-lingual triplets from the XL-LoRA generator data (arXiv 2603.01732).

``..._pos.csv`` has ``sent0,sent1`` (premise → English entailment) and ``..._neg.csv`` has
``sent0,hard_neg`` (premise → English contradiction). Premises present in both files give
(foreign premise, English entailment, English contradiction) triplets; the premise language
is identified with py3langid restricted to the XNLI languages.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from tripletforge.data.languages import get_language
from tripletforge.data.schemas import seed_id_for

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


def xllora_files(folder: str | Path) -> tuple[Path, Path]:
    """The ``*_pos.csv`` and ``*_neg.csv`` files of an XL-LoRA data folder."""
    folder = Path(folder)
    pos, neg = sorted(folder.glob("*_pos.csv")), sorted(folder.glob("*_neg.csv"))
    if len(pos) != 1 or len(neg) != 1:
        raise ValueError(f"{folder}: expected one *_pos.csv and one *_neg.csv file")
    return pos[0], neg[0]


def xllora_triplets(pos_csv: str | Path, neg_csv: str | Path) -> list[dict[str, Any]]:
    """Join the positive and negative files on the premise; one triplet per shared premise."""
    import pandas as pd

    pos = pd.read_csv(pos_csv, dtype=str, keep_default_na=False)
    neg = pd.read_csv(neg_csv, dtype=str, keep_default_na=False)
    negatives: dict[str, str] = {}
    for anchor, negative in zip(neg["sent0"], neg["hard_neg"], strict=True):
        negatives.setdefault(anchor, negative)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for anchor, positive in zip(pos["sent0"], pos["sent1"], strict=True):
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
    return rows
