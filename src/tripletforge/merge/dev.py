"""Dev-split scoring for merge selection: only dev files are ever opened.

SemRel2024 dev files are found by their exact names (``<lang>_dev_with_labels.csv`` under
``Track_A`` then ``Track_C``; the language folder by any spelling of its code, see
:func:`tripletforge.data.languages.match_language`), so a test split lying next to them is
never read. Files given by hand go through :func:`require_dev_split`, which refuses anything
named as a test split.
Two scorers turn dev data into ``{lang: score}``: :class:`SpearmanScorer` (STS pairs) and
:class:`RetrievalScorer` (parallel sentences as retrieval, e.g. SIB-200 dev).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.data.languages import UnknownLanguageError, get_language, match_language
from tripletforge.data.readers import read_semrel
from tripletforge.data.readers.sts import SEMREL_CODE_ALIASES
from tripletforge.data.schemas import BitextSet, PairSet
from tripletforge.evaluate.sts import sts_scores

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_TEST_SPLIT = re.compile(r"(^|[^a-z])(test|devtest|heldout|held_out)([^a-z]|$)", re.IGNORECASE)
SEMREL_TRACKS = ("Track_A", "Track_C")


class TestSplitError(ValueError):
    """A file that looks like a held-out test split was offered for model selection."""


def require_dev_split(path: str | Path) -> Path:
    """Return ``path`` unless its name marks it as a test split (then raise)."""
    path = Path(path)
    if _TEST_SPLIT.search(path.name):
        raise TestSplitError(
            f"{path} looks like a test split; model selection (merge search) uses dev data only. "
            "Pass the dev file of each language instead."
        )
    return path


def _semrel_folder(track: Path, lang: str) -> str:
    """SemRel's folder name for a language code in any spelling (``HAU``, ``ha`` → ``hau``)."""
    if (track / lang).is_dir() or not track.is_dir():
        return lang
    names = {SEMREL_CODE_ALIASES.get(p.name, p.name): p.name for p in track.iterdir() if p.is_dir()}
    ranked = match_language(SEMREL_CODE_ALIASES.get(lang, lang), list(names))
    return names[ranked[0][0]] if ranked and len(ranked[0]) == 1 else lang


def semrel_dev_files(semrel_root: str | Path, languages: Sequence[str]) -> dict[str, Path]:
    """The SemRel2024 dev file of each language (``FileNotFoundError`` names what's missing).

    Keys are ISO 639-3 codes (``HAU`` → ``hau``); SemRel's own folder names (``esp``) work too.
    Raises :class:`~tripletforge.data.languages.UnknownLanguageError` for a code that is neither.
    """
    root = Path(semrel_root)
    found: dict[str, Path] = {}
    for code in languages:
        candidates = [  # an unknown code raises here, listing the accepted spellings
            root / track / (f := _semrel_folder(root / track, code)) / f"{f}_dev_with_labels.csv"
            for track in SEMREL_TRACKS
        ]
        try:
            lang = get_language(SEMREL_CODE_ALIASES.get(code, code)).code
        except UnknownLanguageError:
            lang = code
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise FileNotFoundError(
                f"no SemRel2024 dev file for {code!r} under {root} (looked for "
                f"{', '.join(str(c.relative_to(root)) for c in candidates)})"
            )
        found[lang] = require_dev_split(path)
    return found


def load_dev_sets(files: dict[str, Path]) -> dict[str, PairSet]:
    """Read each language's dev file (SemRel format)."""
    return {lang: read_semrel(require_dev_split(path), lang=lang) for lang, path in files.items()}


class SpearmanScorer:
    """Callable ``model → {lang: Spearman ×100}`` over fixed dev pair sets."""

    def __init__(self, dev_sets: dict[str, PairSet], batch_size: int = 64) -> None:
        self.dev_sets = dev_sets
        self.batch_size = batch_size

    def __call__(self, model: SentenceTransformer) -> dict[str, float]:
        scores = {}
        for lang, pairs in self.dev_sets.items():
            texts = list(dict.fromkeys([*pairs.sentence1, *pairs.sentence2]))
            emb = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True)
            index = {text: i for i, text in enumerate(texts)}
            first = emb[[index[t] for t in pairs.sentence1]]
            second = emb[[index[t] for t in pairs.sentence2]]
            scores[lang] = 100.0 * sts_scores(first, second, pairs.scores)["spearman"]
        return scores


class RetrievalScorer:
    """Callable ``model → {lang: nDCG@10 ×100}``: dev queries in ``lang``, English corpus."""

    def __init__(self, dev_sets: dict[str, BitextSet], k: int = 10, batch_size: int = 64) -> None:
        self.dev_sets = dev_sets
        self.k = k
        self.batch_size = batch_size

    def __call__(self, model: SentenceTransformer) -> dict[str, float]:
        from tripletforge.evaluate.retrieval import (
            dedupe_corpus,
            retrieval_prompt_names,
            retrieval_scores,
        )

        q_prompt, d_prompt = retrieval_prompt_names(getattr(model, "prompts", None))
        scores = {}
        for lang, pairs in self.dev_sets.items():
            corpus, relevant = dedupe_corpus(pairs.target)
            q = model.encode(
                pairs.source, prompt_name=q_prompt, batch_size=self.batch_size,
                convert_to_numpy=True,
            )  # fmt: skip
            c = model.encode(
                corpus, prompt_name=d_prompt, batch_size=self.batch_size, convert_to_numpy=True
            )
            metrics = retrieval_scores(q, c, relevant, k=self.k)
            scores[lang] = 100.0 * metrics[f"ndcg@{self.k}"]
        return scores
