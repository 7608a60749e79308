"""Dev-split scorers for the merge stage (α selection never reads a test split)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tripletforge.data.schemas import BitextSet
from tripletforge.merge.dev import require_dev_split

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from tripletforge.merge.search import Scorer
    from tripletforge.pipeline.config import DevSettings


def sample_root() -> Path:
    """The SIB-200 sample shipped in the package (train/dev/test of five languages)."""
    return Path(str(resources.files("tripletforge") / "resources" / "samples" / "sib200"))


def sib200_root(root: str) -> Path:
    return sample_root() if root == "sample" else Path(root)


class RetrievalScorer:
    """Callable ``model → {lang: nDCG@10 ×100}``: dev queries in ``lang``, English corpus."""

    def __init__(self, dev_sets: dict[str, BitextSet], k: int = 10, batch_size: int = 64) -> None:
        self.dev_sets = dev_sets
        self.k = k
        self.batch_size = batch_size

    def __call__(self, model: SentenceTransformer) -> dict[str, float]:
        from tripletforge.evaluate.retrieval import dedupe_corpus, retrieval_scores

        prompts = getattr(model, "prompts", {}) or {}
        q_prompt = "query" if "query" in prompts else None
        d_prompt = next((p for p in ("passage", "document") if p in prompts), None)
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


def dev_texts(dev: DevSettings, lang: str, resolve=str) -> list[str]:
    """Every sentence of a language's dev data (for the leakage check)."""
    data = _dev_sets(dev, [lang], resolve)
    out: list[str] = []
    for item in data.values():
        for attr in ("source", "target", "sentence1", "sentence2"):
            out.extend(getattr(item, attr, None) or [])
    return out


def _dev_sets(dev: DevSettings, languages: list[str], resolve=str) -> dict:
    if dev.kind == "semrel":
        from tripletforge.merge.dev import load_dev_sets, semrel_dev_files

        return load_dev_sets(semrel_dev_files(resolve(dev.root), languages))
    from tripletforge.data.readers import read_flores_parallel

    root = sib200_root(resolve(dev.root))
    sets = {}
    for lang in languages:
        data = read_flores_parallel(root, lang, "eng", split=dev.split)
        for path in data.files:
            require_dev_split(path)
        sets[lang] = data
    return sets


def dev_scorer(dev: DevSettings, languages: list[str], resolve=str) -> tuple[Scorer, list[str]]:
    """The scorer of ``dev`` for ``languages`` and the dev files it reads."""
    sets = _dev_sets(dev, languages, resolve)
    files = sorted({str(f) for data in sets.values() for f in (getattr(data, "files", None) or [])})
    if dev.kind == "semrel":
        from tripletforge.merge.dev import SpearmanScorer, semrel_dev_files

        files = [str(p) for p in semrel_dev_files(resolve(dev.root), languages).values()]
        return SpearmanScorer(sets), files
    return RetrievalScorer(sets), files
