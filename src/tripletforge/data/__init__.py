"""Data contracts between stages, readers for the supported formats, and language codes."""

from tripletforge.data.languages import Language, UnknownLanguageError, get_language
from tripletforge.data.schemas import (
    BadRow,
    BitextSet,
    PairSet,
    ReadReport,
    SeedSentence,
    Triplet,
    seed_id_for,
    sha256_file,
)

__all__ = [
    "BadRow",
    "BitextSet",
    "Language",
    "PairSet",
    "ReadReport",
    "SeedSentence",
    "Triplet",
    "UnknownLanguageError",
    "get_language",
    "seed_id_for",
    "sha256_file",
]
