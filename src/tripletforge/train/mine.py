"""Hard negatives for (anchor, positive) pairs from a corpus (retrofitting, arXiv 2510.14274).

Builds on ``sentence_transformers.util.mine_hard_negatives``. The queries go in chunks so the
similarity matrix stays bounded; the corpus (with every positive already in it, so that its
hash is the same for every chunk) is embedded once and reloaded from the embedding cache by
the later chunks. faiss is used only if it is installed.

Anchors and corpus are encoded with the prompt policy's symmetric prompt
(:func:`tripletforge.models.prompts.symmetric_prompt`: mteb's STS prompt, none for the
built-in e5), as anchor, positive and negative are compared symmetrically in training.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tripletforge.filter.base import normalize_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True)
class MineConfig:
    """Candidate window, margins and chunking of the mining."""

    range_min: int = 10
    range_max: int = 50
    relative_margin: float | None = 0.05
    absolute_margin: float | None = None
    max_score: float | None = None
    num_negatives: int = 1
    sampling_strategy: str = "top"
    chunk_size: int = 4096
    similarity_budget_bytes: int = 256 << 20
    batch_size: int = 64
    cache_folder: str | None = None


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def mine_negatives(
    pairs: list[Row],
    corpus: list[str],
    model: SentenceTransformer,
    config: MineConfig | None = None,
) -> list[Row]:
    """Return triplets (pair fields kept, ``negative`` added, ``negative_score`` too)."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    from tripletforge.models.prompts import symmetric_prompt

    config = config or MineConfig()
    prompt = symmetric_prompt(model).text
    positives = [str(p["positive"]) for p in pairs]
    full_corpus = list(dict.fromkeys([*corpus, *positives]))
    faiss_batch = max(1, min(16384, config.similarity_budget_bytes // (4 * len(full_corpus))))
    use_faiss = importlib.util.find_spec("faiss") is not None
    out: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tf-mine-") as tmp:
        cache = config.cache_folder or tmp
        for chunk in _chunks(pairs, config.chunk_size):
            dataset = Dataset.from_dict(
                {
                    "anchor": [str(r["anchor"]) for r in chunk],
                    "positive": [str(r["positive"]) for r in chunk],
                }
            )
            mined = mine_hard_negatives(
                dataset,
                model,
                corpus=full_corpus,
                range_min=config.range_min,
                range_max=config.range_max,
                relative_margin=config.relative_margin,
                absolute_margin=config.absolute_margin,
                max_score=config.max_score,
                num_negatives=config.num_negatives,
                query_prompt=prompt,
                corpus_prompt=prompt,
                sampling_strategy=config.sampling_strategy,  # type: ignore[arg-type]
                output_format="triplet",
                output_scores=True,
                batch_size=config.batch_size,
                faiss_batch_size=faiss_batch,
                use_faiss=use_faiss,
                verbose=False,
                cache_folder=cache,
            )
            by_pair = {(str(r["anchor"]), str(r["positive"])): r for r in chunk}
            for item in mined:
                source = by_pair[(item["anchor"], item["positive"])]
                if normalize_text(item["negative"]) == normalize_text(item["anchor"]):
                    continue  # the anchor itself is in the corpus
                positive_score, negative_score = item["scores"]
                out.append(
                    dict(source)
                    | {
                        "negative": item["negative"],
                        "positive_score": round(float(positive_score), 4),
                        "negative_score": round(float(negative_score), 4),
                        "strategy": source.get("strategy") or "mined",
                    }
                )
    log.info("mined %d triplets for %d pairs", len(out), len(pairs))
    return out
