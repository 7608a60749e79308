"""Language codes: ISO 639-3 everywhere inside tripletforge.

The table maps each known code to its English name, its ISO 639-1 code (used by py3langid,
stsb-multi-mt), its FLORES/SIB-200 code and its script. Users add a language with
:func:`register_language` or with ``languages:`` in the pipeline config.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-3
    name: str
    iso1: str | None  # ISO 639-1 (None if the language has none)
    flores: str  # FLORES-200 / SIB-200 code, e.g. "hau_Latn"


_TABLE: dict[str, Language] = {}


def register_language(code: str, name: str, iso1: str | None, flores: str) -> Language:
    """Add (or replace) a language in the registry and return it."""
    lang = Language(code=code, name=name, iso1=iso1, flores=flores)
    _TABLE[code] = lang
    return lang


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
    ("pol", "Polish", "pl", "pol_Latn"),
    ("por", "Portuguese", "pt", "por_Latn"),
    ("rus", "Russian", "ru", "rus_Cyrl"),
    ("sna", "Shona", "sn", "sna_Latn"),
    ("som", "Somali", "so", "som_Latn"),
    ("spa", "Spanish", "es", "spa_Latn"),
    ("sun", "Sundanese", "su", "sun_Latn"),
    ("swa", "Swahili", "sw", "swh_Latn"),
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
    ("zul", "Zulu", "zu", "zul_Latn"),
):
    register_language(*_row)


class UnknownLanguageError(ValueError):
    """Raised for a language code that is not in the registry."""

    def __init__(self, code: str) -> None:
        known = ", ".join(sorted(_TABLE))
        super().__init__(
            f"unknown language code {code!r}. Known ISO 639-3 codes: {known}. "
            "To add one, list it under `languages:` in the config "
            "(code, name, iso1, flores) or call "
            "tripletforge.data.languages.register_language(code, name, iso1, flores)."
        )


def get_language(code: str) -> Language:
    """Return the registered language for an ISO 639-3 code (or a 639-1 / FLORES alias)."""
    if code in _TABLE:
        return _TABLE[code]
    for lang in _TABLE.values():
        if code in (lang.iso1, lang.flores):
            return lang
    raise UnknownLanguageError(code)
