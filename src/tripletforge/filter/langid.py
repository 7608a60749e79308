"""Language identification (py3langid, offline) against each field's expected language.

The anchor must be in ``lang``; positive and negative in ``positive_lang`` (``lang`` when
absent, ``eng`` for cross-lingual triplets). Languages py3langid does not know are skipped,
with one logged note per language, never rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from tripletforge.data.languages import UnknownLanguageError, get_language
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

log = logging.getLogger(__name__)

#: py3langid labels accepted for an expected ISO 639-1 code besides the code itself.
ALIASES: dict[str, frozenset[str]] = {
    "zh": frozenset({"wuu", "yue"}),
    "ms": frozenset({"id"}),
    "id": frozenset({"ms"}),
}


@lru_cache(maxsize=1)
def identifier() -> LanguageIdentifier:
    """The shared py3langid identifier with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """Return py3langid's (ISO 639-1 label, probability) for a text."""
    label, prob = identifier().classify(text)
    return label, float(prob)


def langid_code(lang: str) -> str | None:
    """The py3langid label for an ISO 639-3 code, or None when py3langid cannot check it."""
    try:
        iso1 = get_language(lang).iso1
    except UnknownLanguageError:
        return None
    return iso1 if iso1 in set(identifier().labels) else None


@register_filter("langid")
class LangIdFilter:
    name = "langid"

    def __init__(self, config: FilterConfig) -> None:
        self.min_confidence = config.langid_min_confidence
        self.skipped: set[str] = set()

    def _expected(self, lang: str) -> str | None:
        code = langid_code(lang) if lang else None
        if code is None and lang not in self.skipped:
            self.skipped.add(lang)
            log.info("langid: %r is not known to py3langid; its texts are not checked", lang)
        return code

    def check(self, row: Row) -> str | None:
        lang = str(row.get("lang") or "")
        positive_lang = str(row.get("positive_lang") or lang)
        for key, expected_lang in (
            ("anchor", lang),
            ("positive", positive_lang),
            ("negative", positive_lang),
        ):
            expected = self._expected(expected_lang)
            if expected is None:
                continue
            label, prob = identify(str(row[key]))
            if label == expected or label in ALIASES.get(expected, ()):
                continue
            if prob >= self.min_confidence:
                return f"{key} language {label} ({prob:.2f}) != {expected_lang}"
        return None

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        return [self.check(row) for row in rows]
