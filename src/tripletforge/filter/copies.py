"""Copies: a positive or negative that is the anchor again, or a positive equal to its negative.

The rule is on word tokens (:func:`tripletforge.data.text.word_tokens`: the words of the text
key, grapheme clusters in scripts written without spaces), never on characters: a text copies
the anchor when at most ``copy_max_edits`` tokens are inserted, deleted or substituted
(Levenshtein distance over tokens). The default ``0`` rejects exact and normalised copies only
(same :func:`~tripletforge.data.text.text_key`: case, punctuation, spacing, Unicode form,
tatweel and abjad vowel pointing do not count), because one changed word is often the whole
of an NLI contradiction, whatever the sentence's length (``sleeping`` → ``reading``,
Turkish ``geliyor`` → ``gelmiyor``, Hindi ``लड़का`` → ``लड़की``). Whether such a minimal
edit really contradicts the anchor is the teacher-margin filter's question.
"""

from __future__ import annotations

from collections.abc import Sequence

from tripletforge.data.text import text_key, token_edits, word_tokens
from tripletforge.filter.base import Row, register_filter
from tripletforge.filter.config import FilterConfig


def copy_edits(anchor: str, text: str, limit: int | None = None) -> int:
    """Word-token edits between two texts (0 for texts with the same key).

    With ``limit``, distances above it come back as ``limit + 1``.
    """
    if text_key(anchor) == text_key(text):
        return 0
    return token_edits(word_tokens(anchor), word_tokens(text), limit)


@register_filter("copy")
class CopyFilter:
    """Rejects ``positive equals negative`` and ``<field> copies anchor (N word edits)``."""

    name = "copy"

    def __init__(self, config: FilterConfig) -> None:
        self.max_edits = config.copy_max_edits

    def check(self, row: Row) -> str | None:
        anchor, positive, negative = (str(row[k]) for k in ("anchor", "positive", "negative"))
        if text_key(positive) == text_key(negative):
            return "positive equals negative"
        for key, text in (("positive", positive), ("negative", negative)):
            edits = copy_edits(anchor, text, self.max_edits)
            if edits <= self.max_edits:
                return f"{key} copies anchor ({edits} word edits)"
        return None

    def __call__(self, rows: Sequence[Row]) -> list[str | None]:
        return [self.check(row) for row in rows]
