"""Dev-split scoring for merge selection: only dev files are ever opened.

SemRel2024 dev files are found by their exact names (``<lang>_dev_with_labels.csv`` under
``Track_A`` then ``Track_C``; the language folder by any spelling of its code, see
:func:`tripletforge.data.languages.match_language`), so a test split lying next to them is
never read. Files given by hand go through :func:`require_dev_split`, which refuses anything
named as a test split.
Two scorers turn dev data into ``{lang: score}``: :class:`SpearmanScorer` (STS pairs) and
:class:`RetrievalScorer` (parallel sentences as retrieval, e.g. SIB-200 dev). Both run the
evaluation's own code (:func:`tripletforge.evaluate.evaluate_loaded`: mteb's evaluators, the
prompt policy of :mod:`tripletforge.models.prompts`) and report its main score ×100:
cosine Spearman and nDCG@10. A score that is undefined on a language's dev data (constant
gold scores, too few pairs) is None; α search and checkpoint selection ignore it.
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


class EvaluationScorer:
    """Callable ``model → {lang: main score ×100 or None}`` over fixed dev sets of one task."""

    task = "sts"

    def __init__(self, dev_sets: dict[str, PairSet | BitextSet], batch_size: int = 64) -> None:
        self.dev_sets = dev_sets
        self.batch_size = batch_size

    def _loaded(self) -> tuple[list, object]:
        from tripletforge.evaluate.datasets import LoadedDataset
        from tripletforge.evaluate.suite import DatasetSpec, Suite

        specs, loaded = [], []
        for lang, data in self.dev_sets.items():
            path = data.files[0] if data.files else f"<{data.name}>"
            spec = DatasetSpec(name=f"dev-{lang}", task=self.task, format="table", path=path,
                               lang=lang)  # fmt: skip
            specs.append(spec)
            loaded.append(LoadedDataset(spec=spec, data=data))
        return loaded, Suite(name="merge-dev", datasets=specs)

    def __call__(self, model: SentenceTransformer) -> dict[str, float | None]:
        from tripletforge.evaluate import CachingEncoder, evaluate_loaded

        loaded, suite = self._loaded()
        encoder = CachingEncoder(model, cache=None, batch_size=self.batch_size)
        results = evaluate_loaded(encoder, loaded, suite)  # type: ignore[arg-type]
        return {
            lang: None if r.main_score is None else 100.0 * r.main_score
            for lang, r in zip(self.dev_sets, results, strict=True)
        }


class SpearmanScorer(EvaluationScorer):
    """``model → {lang: cosine Spearman ×100}`` over dev pair sets (mteb's STS main score)."""

    task = "sts"


class RetrievalScorer(EvaluationScorer):
    """``model → {lang: nDCG@10 ×100}``: dev queries in ``lang``, the other side as corpus."""

    task = "retrieval"

    def __init__(self, dev_sets: dict[str, BitextSet], k: int = 10, batch_size: int = 64) -> None:
        if k != 10:
            raise ValueError("the retrieval dev score is MTEB's main score, nDCG@10")
        super().__init__(dev_sets, batch_size)  # type: ignore[arg-type]
