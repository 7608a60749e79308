"""Language codes: any ISO 639-1/639-3 code, BCP-47 tag or FLORES code, in any case.

Every entry point (CLI options, the pipeline config's ``languages`` and ``seeds`` keys, seed
rows, suites and readers, the language-ID filter, SIB-200/FLORES/Tatoeba lookups) goes through
:func:`get_language`, which parses the code with ``langcodes`` (IANA subtag registry and CLDR
data): ``hau``, ``ha``, ``HAU``, ``ha-NG``, ``hau-Latn`` and ``hau_Latn`` are all Hausa.

Two codes are the same language when their *identity* (:func:`language_identity`) is equal:
the language subtag after CLDR's macrolanguage rule, which replaces the dominant member of a
macrolanguage by the macrolanguage (``swh``/``swa``/``sw`` → ``sw``, ``arb``/``ara`` → ``ar``,
``pes``/``fas`` → ``fa``, ``zsm``/``msa`` → ``ms``, ``cmn``/``zho`` → ``zh``) and leaves the
other members alone (``ary``, Moroccan Arabic, stays ``ary``).

Inside tripletforge a language is named by its ISO 639-3 ``Language.code``: the code in the
table below for the languages it lists (their English name, ISO 639-1 code for py3langid and
stsb-multi-mt, and FLORES/SIB-200 code), or the code ``langcodes`` gives for any other valid
language (its name from ``language_data``, its FLORES code from the likely script). Users can
add or replace a table row with :func:`register_language` (in a module listed under the
pipeline config's ``imports:``), also for a private code that is not in ISO 639. A code that
is neither valid nor registered raises :class:`UnknownLanguageError`, which lists the
accepted spellings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import langcodes


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-3
    name: str
    iso1: str | None  # ISO 639-1 (None if the language has none)
    flores: str  # FLORES-200 / SIB-200 code, e.g. "hau_Latn"

    @property
    def identity(self) -> str:
        """The macrolanguage-folded language subtag two codes of this language share."""
        return language_identity(self.code)


class UnknownLanguageError(ValueError):
    """Raised for a code that is neither a valid language code nor registered."""

    def __init__(self, code: str, why: str = "") -> None:
        self.code = code
        super().__init__(
            f"unknown language code {code!r}{f' ({why})' if why else ''}. Accepted spellings, "
            "in any case: ISO 639-3 ('hau'), ISO 639-1 ('ha'), BCP-47 tags ('ha-NG', "
            "'hau-Latn') and FLORES codes ('hau_Latn'). For a language outside ISO 639, call "
            "tripletforge.data.languages.register_language(code, name, iso1, flores), e.g. in "
            "a module listed under `imports:` in the pipeline config."
        )


#: registered languages by identity (or by lower-cased code for codes outside ISO 639)
_TABLE: dict[str, Language] = {}


def _parse(code: str) -> langcodes.Language:
    """The ``langcodes`` tag of a code (``_`` read as ``-``), or UnknownLanguageError."""
    text = str(code).strip()
    if not text:
        raise UnknownLanguageError(code, "empty")
    try:
        tag = langcodes.Language.get(text.replace("_", "-"), normalize=True)
    except (langcodes.tag_parser.LanguageTagError, ValueError, LookupError) as exc:
        raise UnknownLanguageError(code, f"not a language tag: {exc}") from None
    if not tag.language or tag.language == "und":
        raise UnknownLanguageError(code, "no language subtag")
    if not tag.is_valid():
        raise UnknownLanguageError(code, "not in the ISO 639 / IANA language registry")
    return tag


@lru_cache(maxsize=4096)
def language_identity(code: str) -> str:
    """The language subtag after CLDR's macrolanguage rule: ``swh``, ``SWA``, ``sw-KE`` → ``sw``.

    A registered private code (outside ISO 639) is its own identity (lower-cased).
    """
    try:
        return _parse(code).prefer_macrolanguage().language or ""
    except UnknownLanguageError:
        key = str(code).strip().lower()
        if key in _TABLE:
            return key
        raise


def same_language(a: str, b: str) -> bool:
    """Whether two codes name the same language (``swh`` and ``swa`` do; ``ary``, ``arb`` not)."""
    return language_identity(a) == language_identity(b)


def register_language(code: str, name: str, iso1: str | None, flores: str) -> Language:
    """Add (or replace) a language in the registry and return it."""
    lang = Language(code=code, name=name, iso1=iso1, flores=flores)
    try:
        key = language_identity(code)
    except UnknownLanguageError:
        key = code.strip().lower()
    _TABLE[key] = lang
    language_identity.cache_clear()
    get_language.cache_clear()
    return lang


def _from_langcodes(tag: langcodes.Language) -> Language:
    """A language the table does not list, described from ``langcodes`` data."""
    code = tag.to_alpha3()
    iso1 = tag.language if tag.language and len(tag.language) == 2 else None
    try:
        name = tag.language_name("en")
    except (ImportError, LookupError):  # language_data not installed
        name = code
    script = tag.script or langcodes.Language.get(tag.language).maximize().script or "Latn"
    return Language(code=code, name=name, iso1=iso1, flores=f"{code}_{script}")


@lru_cache(maxsize=4096)
def get_language(code: str) -> Language:
    """The language of any accepted spelling of a code (see the module docstring).

    A script in the code (``ace_Arab``, ``hi-Latn``) is kept in ``Language.flores``.
    Raises :class:`UnknownLanguageError` for a code that is neither valid nor registered.
    """
    private = str(code).strip().lower()
    try:
        tag = _parse(code)
    except UnknownLanguageError:
        if private in _TABLE:
            return _TABLE[private]
        raise
    identity = tag.prefer_macrolanguage().language or ""
    lang = _TABLE.get(identity) or _from_langcodes(tag)
    if tag.script and not lang.flores.endswith(f"_{tag.script}"):
        lang = dataclasses.replace(lang, flores=f"{lang.flores.split('_', 1)[0]}_{tag.script}")
    return lang


def canonical_code(code: str) -> str:
    """``get_language(code).code``: the one ISO 639-3 code tripletforge uses for a language."""
    return get_language(code).code


def known_languages() -> list[str]:
    """Sorted ISO 639-3 codes of the registered table (any other valid code is accepted too)."""
    return sorted(lang.code for lang in _TABLE.values())


def match_language(code: str, candidates: Iterable[str]) -> list[list[str]]:
    """The candidates (codes or FLORES names such as ``swh_Latn``) naming ``code``'s language.

    Grouped by rank, best first: the same spelling; the same ISO 639-3 code as ``code`` (with
    its script, when ``code`` has one); the registered code or FLORES name; any other code of
    the same identity (``swa`` finds ``swh_Latn``). A script in ``code`` must match. Candidates
    that are not language codes are ignored; no match gives ``[]``.
    """
    want = get_language(code)
    asked = _parse_or_none(code)
    asked_code = asked.to_alpha3() if asked is not None else None
    script = asked.script if asked is not None else None
    groups: dict[int, list[str]] = {}
    for candidate in candidates:
        tag = _parse_or_none(candidate)
        if tag is None or (script and tag.script and tag.script != script):
            continue
        if tag.prefer_macrolanguage().language != want.identity:
            continue
        if candidate.strip().lower() == str(code).strip().lower():
            rank = 0
        elif tag.to_alpha3() == asked_code:
            rank = 1
        elif candidate.lower() in (want.flores.lower(), want.code):
            rank = 2
        else:
            rank = 3
        groups.setdefault(rank, []).append(candidate)
    return [sorted(groups[rank]) for rank in sorted(groups)]


def _parse_or_none(code: str) -> langcodes.Language | None:
    try:
        return _parse(code)
    except UnknownLanguageError:
        return None


for _row in (
    ("afr", "Afrikaans", "af", "afr_Latn"),
    ("amh", "Amharic", "am", "amh_Ethi"),
    ("arb", "Modern Standard Arabic", "ar", "arb_Arab"),
    ("arq", "Algerian Arabic", None, "arq_Arab"),
    ("ary", "Moroccan Arabic", None, "ary_Arab"),
    ("ace", "Acehnese", None, "ace_Latn"),
    ("ban", "Balinese", None, "ban_Latn"),
    ("bbc", "Batak Toba", None, "bbc_Latn"),
    ("bjn", "Banjar", None, "bjn_Latn"),
    ("bug", "Buginese", None, "bug_Latn"),
    ("bul", "Bulgarian", "bg", "bul_Cyrl"),
    ("deu", "German", "de", "deu_Latn"),
    ("ell", "Greek", "el", "ell_Grek"),
    ("eng", "English", "en", "eng_Latn"),
    ("ewe", "Ewe", "ee", "ewe_Latn"),
    ("fra", "French", "fr", "fra_Latn"),
    ("hau", "Hausa", "ha", "hau_Latn"),
    ("hin", "Hindi", "hi", "hin_Deva"),
    ("ibo", "Igbo", "ig", "ibo_Latn"),
    ("ind", "Indonesian", "id", "ind_Latn"),
    ("ita", "Italian", "it", "ita_Latn"),
    ("jav", "Javanese", "jv", "jav_Latn"),
    ("jpn", "Japanese", "ja", "jpn_Jpan"),
    ("kin", "Kinyarwanda", "rw", "kin_Latn"),
    ("kor", "Korean", "ko", "kor_Hang"),
    ("lin", "Lingala", "ln", "lin_Latn"),
    ("lug", "Ganda", "lg", "lug_Latn"),
    ("mad", "Madurese", None, "mad_Latn"),
    ("mar", "Marathi", "mr", "mar_Deva"),
    ("min", "Minangkabau", None, "min_Latn"),
    ("mya", "Burmese", "my", "mya_Mymr"),
    ("nij", "Ngaju", None, "nij_Latn"),
    ("nld", "Dutch", "nl", "nld_Latn"),
    ("nya", "Nyanja", "ny", "nya_Latn"),
    ("pan", "Punjabi", "pa", "pan_Guru"),
    ("pes", "Persian", "fa", "pes_Arab"),
    ("pol", "Polish", "pl", "pol_Latn"),
    ("por", "Portuguese", "pt", "por_Latn"),
    ("rus", "Russian", "ru", "rus_Cyrl"),
    ("sna", "Shona", "sn", "sna_Latn"),
    ("som", "Somali", "so", "som_Latn"),
    ("spa", "Spanish", "es", "spa_Latn"),
    ("sun", "Sundanese", "su", "sun_Latn"),
    ("swh", "Swahili", "sw", "swh_Latn"),
    ("tel", "Telugu", "te", "tel_Telu"),
    ("tha", "Thai", "th", "tha_Thai"),
    ("tsn", "Tswana", "tn", "tsn_Latn"),
    ("tur", "Turkish", "tr", "tur_Latn"),
    ("twi", "Twi", "tw", "twi_Latn"),
    ("urd", "Urdu", "ur", "urd_Arab"),
    ("vie", "Vietnamese", "vi", "vie_Latn"),
    ("wol", "Wolof", "wo", "wol_Latn"),
    ("xho", "Xhosa", "xh", "xho_Latn"),
    ("yor", "Yoruba", "yo", "yor_Latn"),
    ("zho", "Chinese", "zh", "zho_Hans"),
    ("zsm", "Standard Malay", "ms", "zsm_Latn"),
    ("zul", "Zulu", "zu", "zul_Latn"),
):
    register_language(*_row)
