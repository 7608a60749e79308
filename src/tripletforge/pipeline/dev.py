"""Dev-split scorers for the merge stage (α selection never reads a test split)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.data.schemas import BitextSet
from tripletforge.merge.dev import (
    RetrievalScorer,
    SpearmanScorer,
    load_dev_sets,
    require_dev_split,
    semrel_dev_files,
)

if TYPE_CHECKING:
    from tripletforge.merge.search import Scorer
    from tripletforge.pipeline.config import DevSettings


def sample_root() -> Path:
    """The SIB-200 sample shipped in the package (train/dev/test of five languages)."""
    return Path(str(resources.files("tripletforge") / "resources" / "samples" / "sib200"))


def sib200_root(root: str) -> Path:
    return sample_root() if root == "sample" else Path(root)


def dev_texts(dev: DevSettings, lang: str, resolve=str) -> list[str]:
    """Every sentence of a language's dev data (for the leakage check)."""
    from tripletforge.data.evalsets import dataset_sentences

    data, _ = _dev_sets(dev, [lang], resolve)
    return [text for item in data.values() for text in dataset_sentences(item)]


def _dev_sets(dev: DevSettings, languages: list[str], resolve=str) -> tuple[dict, list[str]]:
    """Each language's dev data and the dev files read (test splits are refused)."""
    if dev.format == "semrel":
        files = semrel_dev_files(resolve(dev.root), languages)
        return load_dev_sets(files), sorted(str(p) for p in files.values())
    from tripletforge.data.readers import read_flores_parallel

    root = sib200_root(resolve(dev.root))
    sets: dict[str, BitextSet] = {}
    for lang in languages:
        data = read_flores_parallel(root, lang, "eng", split=dev.split)
        for path in data.files:
            require_dev_split(path)
        sets[lang] = data
    return sets, sorted({str(f) for data in sets.values() for f in data.files})


#: The language every judged set adds when its dev data has it.
ENGLISH = "eng"


def judged_languages(dev: DevSettings, languages: list[str], resolve=str) -> list[str]:
    """The languages a merge judges: ``languages`` and English where the dev data scores it.

    SemRel2024 has an English dev file (``Track_A/eng``); it is added when found. SIB-200 dev
    scores a language by retrieving its English translations, so English itself has no
    SIB-200 dev score (it is every query's corpus) and is not added.
    """
    judged = list(dict.fromkeys(languages))
    if ENGLISH in judged or dev.format != "semrel":
        return judged
    try:
        semrel_dev_files(resolve(dev.root), [ENGLISH])
    except FileNotFoundError:
        return judged
    return [*judged, ENGLISH]


def dev_scorer(dev: DevSettings, languages: list[str], resolve=str) -> tuple[Scorer, list[str]]:
    """The scorer of ``dev`` for ``languages`` and the dev files it reads."""
    sets, files = _dev_sets(dev, languages, resolve)
    return _scorer_for(dev, sets), files


def _scorer_for(dev: DevSettings, sets: dict) -> Scorer:
    return (SpearmanScorer if dev.format == "semrel" else RetrievalScorer)(sets)


def guard_scorer(
    guard: DevSettings, languages: list[str], resolve=str
) -> tuple[Scorer | None, list[str], list[str]]:
    """The scorer of a merge's guard data for the ``languages`` it has (a language without a
    dev file there is left out, as SIB-200 leaves out arq), the files it reads and those
    languages; ``(None, [], [])`` when it has none of them."""
    sets: dict = {}
    files: set[str] = set()
    for lang in languages:  # each language read once: kept when it has data, else left out
        try:
            part, part_files = _dev_sets(guard, [lang], resolve)
        except FileNotFoundError:
            continue
        sets |= part
        files.update(part_files)
    if not sets:
        return None, [], []
    return _scorer_for(guard, sets), sorted(files), list(sets)
