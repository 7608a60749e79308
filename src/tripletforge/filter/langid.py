"""Language identification (py3langid, offline) against each field's expected language.

The anchor must be in ``lang``; positive and negative in ``positive_lang`` (``lang`` when
absent, ``eng`` for cross-lingual triplets). Codes are read with
:func:`tripletforge.data.languages.get_language`, so every spelling of a language works
(``ha``, ``HAU``, ``ha-NG``, ``hau_Latn``). A py3langid label counts as the expected language
when it names the same language, or a language of the same macrolanguage in the IANA registry
(``sw`` for ``swh``/``swa``; ``ar`` for Moroccan Arabic ``ary``; ``id`` for Malay ``zsm``).

A language py3langid has no label for is not checked (one log line per language, naming it);
a row whose code is not a language code at all is rejected (``unknown language code``),
never passed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tripletforge.data.languages import UnknownLanguageError, get_language, language_identity
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def identifier() -> LanguageIdentifier:
    """The shared py3langid identifier with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str, float]:
    """Return py3langid's (ISO 639-1 label, probability) for a text."""
    label, prob = identifier().classify(text)
    return label, float(prob)


@lru_cache(maxsize=1)
def _macrolanguages() -> dict[str, str]:
    """IANA registry: language subtag → its macrolanguage (``swh`` → ``sw``, ``id`` → ``ms``)."""
    from langcodes.registry_parser import parse_registry

    return {
        item["Subtag"]: item["Macrolanguage"]
        for item in parse_registry()
        if item.get("Type") == "language" and "Macrolanguage" in item
    }


def _family(code: str) -> set[str]:
    """The identity of a code and of its macrolanguage (when it belongs to one)."""
    identity = language_identity(code)
    macro = _macrolanguages()
    return {identity, *(m for m in (macro.get(identity), macro.get(code)) if m)}


@lru_cache(maxsize=1024)
def langid_labels(lang: str) -> frozenset[str]:
    """The py3langid labels that count as ``lang`` (any accepted spelling); empty: unchecked.

    Raises :class:`~tripletforge.data.languages.UnknownLanguageError` for an unknown code.
    """
    family = _family(get_language(lang).code) | _family(lang)
    return frozenset(label for label in identifier().labels if _family(label) & family)


def langid_code(lang: str) -> str | None:
    """The main py3langid label of a language (the one of the same identity, else any), or None.

    Raises :class:`~tripletforge.data.languages.UnknownLanguageError` for an unknown code.
    """
    labels = langid_labels(lang)
    identity = get_language(lang).identity
    same = sorted(label for label in labels if language_identity(label) == identity)
    return (same or sorted(labels) or [None])[0]


@register_filter("langid")
class LangIdFilter:
    name = "langid"

    def __init__(self, config: FilterConfig) -> None:
        self.min_confidence = config.langid_min_confidence
        self.noted: set[str] = set()
        self.details: dict[str, Any] = {}
        self._unchecked: dict[str, int] = {}

    def _labels(self, lang: str) -> frozenset[str]:
        """The accepted labels (empty: not checkable); UnknownLanguageError passes through."""
        labels = langid_labels(lang)
        if not labels and lang not in self.noted:
            self.noted.add(lang)
            language = get_language(lang)
            log.info(
                "langid: py3langid has no model of %s (%r → %s); its texts are not checked",
                language.name,
                lang,
                language.code,
            )
        return labels

    def check(self, row: Row) -> str | None:
        lang = str(row.get("lang") or "")
        positive_lang = str(row.get("positive_lang") or lang)
        unchecked: str | None = None  # why a field of this row could not be checked
        for key, expected_lang in (
            ("anchor", lang),
            ("positive", positive_lang),
            ("negative", positive_lang),
        ):
            if not expected_lang:
                unchecked = unchecked or "no language column (lang)"
                continue
            try:
                expected = self._labels(expected_lang)
            except UnknownLanguageError:
                return f"unknown language code {expected_lang!r} in {key}'s language column"
            if not expected:
                unchecked = unchecked or f"py3langid has no model of {expected_lang}"
                continue
            label, prob = identify(str(row[key]))
            if label in expected:
                continue
            if prob >= self.min_confidence:
                return f"{key} language {label} ({prob:.2f}) != {expected_lang}"
        if unchecked is not None:
            self._unchecked[unchecked] = self._unchecked.get(unchecked, 0) + 1
        return None

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        """Each row's reject reason (None: kept). Rows kept without a check (no language
        column, a language py3langid has no model of) are counted in ``details["not_checked"]``
        (``{why: rows}``), so the funnel shows that they passed unchecked."""
        self._unchecked = {}
        verdicts = [self.check(row) for row in rows]
        self.details = {"not_checked": dict(self._unchecked)} if self._unchecked else {}
        return verdicts
