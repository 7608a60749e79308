"""Text identity, word tokens and sentence ends, the same in every script (Unicode data).

One home for the questions "are these two texts the same sentence?" and "where does the
first sentence end?". The parser (same-as-anchor, echoed example, positive equals negative),
the copy, dedup and leakage filters and hard-negative mining all compare texts through
:func:`text_key`; nothing else in the package normalises text for comparison.

The key (:func:`text_key`)
--------------------------
Two texts are the same sentence when their keys are equal. The key is built from Unicode
character properties (the ``regex`` module's data, so it follows the current Unicode
version), never from a list of characters:

1. Compatibility-decompose and case-fold (NFKD, ``str.casefold``, NFKD again), so that the
   Unicode normalisation form, letter case, full-width forms and ligatures do not matter.
2. Drop what only changes how a text is drawn, not what it says:

   * ``Default_Ignorable_Code_Point`` characters (soft hyphen, ZWNJ, variation selectors,
     bidi controls, …) and ``Joining_Type=Join_Causing`` characters (the Arabic tatweel
     U+0640 used to stretch words, NKo lajanyalan, ZWJ);
   * the optional vowel pointing of abjads: nonspacing marks (``Mn``) that either have one of
     the fixed-position combining classes 10–36 (by their definition in the Unicode Standard
     the Hebrew points, the Arabic harakat, shadda, sukun and superscript alef, and the
     Syriac superscript alaph) or are ``Diacritic`` **and** ``Alphabetic`` with a non-zero
     combining class and ``Indic_Syllabic_Category=Other`` (the other Arabic and Syriac vowel
     signs, e.g. the Ajami curly and open harakat). So ``ذَهَبَ الوَلَدُ`` and ``ذهب الولد``
     have one key.

   What stays significant, because it changes words: abugida vowel signs (``लड़का`` ≠
   ``लड़की``; they are not ``Diacritic``), viramas, nuktas, bindus and tone marks of Brahmic
   scripts (they have an ``Indic_Syllabic_Category``), Thai, Lao and Vietnamese tone and
   vowel marks, Latin, Greek, Yoruba accents (not ``Alphabetic``), Ethiopic vowel forms
   (letters), Thaana fili (combining class 0), Arabic hamza and madda (not ``Diacritic``).
   Over the whole code space (Unicode 17 in ``regex`` 2026.11) these properties select 90
   marks: the Hebrew, Arabic and Syriac pointing, Greek ypogegrammeni (never reached: case
   folding turns it into ι first) and five marks of two recent scripts (Hanifi Rohingya tone
   signs U+10D24–U+10D27, Garay U+10D69), a known residue; :func:`pointing_marks` lists them.
3. Punctuation, symbols, separators and control/format characters (categories ``P*``,
   ``S*``, ``Z*``, ``Cc``, ``Cf``, ``Cs``) become word separators; runs of separators are one
   space, none at the ends. Marks are never separators (``\\W`` would treat them as such).
4. Spaces next to characters of scripts written without spaces between words
   (``Line_Break`` ``ID``, ``CJ`` or ``SA``: Han, kana, Thai, Lao, Khmer, Myanmar) are
   dropped, since they do not separate words there.
5. Canonical composition (NFC).

Word tokens (:func:`word_tokens`) are the key's space-separated words, except that text in
the scripts written without spaces (step 4) is split into grapheme clusters (``\\X``): a
dictionary-free unit that makes one inserted negation (``不``, ``ไม่``) a one-token edit.

Sentence ends (:func:`first_sentence`)
--------------------------------------
A sentence ends after a run of ``Sentence_Terminal`` characters (``. ! ? ؟ ۔ । ። ։ 。 ။ ។``
and the rest of Unicode's list), with any closing punctuation and quotes after it, when
whitespace follows, or straight away when the terminal is wide (``East_Asian_Width`` W/F:
``。 ！ ？``, written without a space after it). A full stop (``Sentence_Break=ATerm``) is not
an end before a lowercase letter or a digit (``e.g. the``, ``3. 5``) nor after a single letter
(``J. K. Rowling``), as in UAX #29; decimals (``3.5``) have no space and never split. Scripts
without sentence punctuation (Thai) keep the whole line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import regex

_V1 = regex.VERSION1

#: characters dropped from the key: drawing-only characters and abjad vowel pointing
_FIXED_POSITION = "".join(rf"\p{{Canonical_Combining_Class={n}}}" for n in range(10, 37))
_POINTING = (
    rf"[\p{{Mn}}&&[{_FIXED_POSITION}"
    r"[\p{Diacritic}&&\p{Alphabetic}&&\P{Canonical_Combining_Class=0}"
    r"&&\p{Indic_Syllabic_Category=Other}]]]"
)
_DROP = regex.compile(
    rf"[\p{{Default_Ignorable_Code_Point}}\p{{Joining_Type=Join_Causing}}{_POINTING}]+", _V1
)
_SEPARATORS = regex.compile(r"[\p{P}\p{S}\p{Z}\p{Cc}\p{Cf}\p{Cs}]+", _V1)
#: scripts written without spaces between words
_SPACELESS_CLASS = r"[\p{Line_Break=ID}\p{Line_Break=CJ}\p{Line_Break=SA}]"
_SPACE_BY_SPACELESS = regex.compile(
    rf"(?<={_SPACELESS_CLASS}\p{{M}}*) | (?={_SPACELESS_CLASS})", _V1
)
_TOKEN = regex.compile(rf"(?={_SPACELESS_CLASS})\X|[^\s{_SPACELESS_CLASS[1:-1]}]+", _V1)


def pointing_marks() -> list[str]:
    """Every code point the key drops as abjad vowel pointing (for docs and tests)."""
    pointing = regex.compile(_POINTING, _V1)
    return [chr(cp) for cp in range(0x110000) if pointing.match(chr(cp))]


@lru_cache(maxsize=65536)
def text_key(text: str) -> str:
    """The comparison key of a text: equal keys mean the same sentence.

    Case, normalisation form, punctuation, symbols, whitespace runs, invisible formatting
    characters, the tatweel and abjad vowel pointing do not count; letters, digits and every
    other mark do (see the module docstring for the Unicode properties used). Returns ``""``
    for a text with no letters, digits or marks.
    """
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = _DROP.sub("", text)
    text = _SEPARATORS.sub(" ", text).strip()
    text = _SPACE_BY_SPACELESS.sub("", text)
    return unicodedata.normalize("NFC", text)


def same_text(a: str, b: str) -> bool:
    """Whether two texts are the same sentence under :func:`text_key`."""
    return text_key(a) == text_key(b)


def word_tokens(text: str) -> list[str]:
    """The words of a text's key; grapheme clusters in scripts written without spaces."""
    return _TOKEN.findall(text_key(text))


def token_edits(a: Sequence[str], b: Sequence[str], limit: int | None = None) -> int:
    """Levenshtein distance between two token sequences (insertions, deletions, substitutions).

    With ``limit``, any distance above it is returned as ``limit + 1`` (computed in a band,
    so that long texts stay cheap).
    """
    if len(a) < len(b):
        a, b = b, a
    if limit is not None and len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, token in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, 1):
            current[j] = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != other)
            )
        if limit is not None and min(current) > limit:
            return limit + 1
        previous = current
    distance = previous[-1]
    return distance if limit is None or distance <= limit else limit + 1


# --- sentence ends -------------------------------------------------------------------------

_CLOSE = r"[\p{Pe}\p{Pf}\p{Pi}\p{Sentence_Break=Close}\"']"
_TERMINAL_RUN = regex.compile(rf"(\p{{Sentence_Terminal}}+){_CLOSE}*", _V1)
_WIDE = regex.compile(r"[\p{East_Asian_Width=W}\p{East_Asian_Width=F}]", _V1)
_ATERMS = regex.compile(r"\p{Sentence_Break=ATerm}+", _V1)
_LOWER_OR_DIGIT = regex.compile(r"[\p{Lowercase}\p{Nd}]", _V1)
_SINGLE_LETTER_WORD = regex.compile(r"(?:^|\s)\p{L}\p{M}*$", _V1)


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end inside ``text`` (the text's own end excluded)."""
    ends: list[int] = []
    for match in _TERMINAL_RUN.finditer(text):
        end, rest = match.end(), text[match.end() :]
        if not rest.strip():
            break
        terminals = match.group(1)
        if not rest[0].isspace():
            if any(_WIDE.match(c) for c in terminals):
                ends.append(end)  # 。！？ need no space after them
            continue
        if _ATERMS.fullmatch(terminals) and (
            _LOWER_OR_DIGIT.match(rest.lstrip())
            or _SINGLE_LETTER_WORD.search(text[: match.start()])
        ):
            continue  # "e.g. the", "J. K. Rowling" (UAX #29, rule SB8)
        ends.append(end)
    return ends


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, its terminal punctuation kept (whitespace stripped)."""
    text = text.strip()
    ends = sentence_ends(text)
    return text[: ends[0]].strip() if ends else text
