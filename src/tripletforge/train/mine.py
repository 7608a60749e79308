"""Hard negatives for (anchor, positive) pairs from a corpus (retrofitting, arXiv 2510.14274).

Builds on ``sentence_transformers.util.mine_hard_negatives``. The queries go in chunks so the
similarity matrix stays bounded; the corpus (with every positive already in it, so that its
hash is the same for every chunk) is embedded once and reloaded from the embedding cache by
the later chunks. faiss is used only if it is installed.

False negatives are excluded with the package's one text identity
(:func:`tripletforge.data.text.text_key`): the corpus is deduplicated by key (a positive's own
text stands for its key, so a case or punctuation variant of a positive is not a second
corpus entry), and a mined negative whose key equals the anchor's or any positive's of that
anchor is dropped. A couple of spare candidates are mined per pair so that a dropped one is
replaced by the next in rank.

Anchors and corpus are encoded as the pairs' task encodes its columns
(:mod:`tripletforge.data.tasks`): symmetric tasks (``nli``, ``paraphrase``, real translation
pairs) with the prompt policy's symmetric prompt
(:func:`tripletforge.models.prompts.symmetric_prompt`: mteb's STS prompt, none for the
built-in e5), as anchor, positive and negative are compared symmetrically in training;
``retrieval`` pairs (query, passage) with mteb's retrieval prompts, the anchor as a query
(``query: `` for e5) and the corpus as documents (``passage: ``).
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tripletforge.data.tasks import task_of, task_shape
from tripletforge.data.text import text_key
from tripletforge.train.config import MineConfig

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Row = dict[str, Any]


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def mining_corpus(corpus: list[str], positives: list[str]) -> list[str]:
    """The corpus deduplicated by text key, each positive standing for its own key."""
    by_key: dict[str, str] = {}
    for text in [*positives, *corpus]:
        by_key.setdefault(text_key(text), text)
    by_key.pop("", None)
    return list(by_key.values())


def mining_prompts(model: SentenceTransformer, task: str) -> tuple[str, str]:
    """``(query prompt, corpus prompt)`` of a task's pairs under the prompt policy."""
    from tripletforge.models.prompts import encode_prompt

    shape = task_shape(task)
    query = encode_prompt(model, shape.mteb_type, shape.role("anchor")).text
    corpus = encode_prompt(model, shape.mteb_type, shape.role("positive")).text
    return query, corpus


def mine_negatives(
    pairs: list[Row],
    corpus: list[str],
    model: SentenceTransformer,
    config: MineConfig | None = None,
    task: str | None = None,
) -> list[Row]:
    """Return triplets (pair fields kept, ``negative`` added, ``negative_score`` too).

    Up to ``config.num_negatives`` triplets per pair; a negative never has the text key of the
    pair's anchor or of any positive of that anchor. ``task`` (default: the pairs' ``task``
    column, ``nli`` when absent) chooses the prompts (see the module docstring); pairs of
    several tasks in one call raise ``ValueError``.
    """
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    config = config or MineConfig()
    if task is None:
        tasks = {task_of(p) for p in pairs} or {"nli"}
        if len(tasks) > 1:
            raise ValueError(f"pairs of several tasks {sorted(tasks)}: mine each task apart")
        task = tasks.pop()
    query_prompt, corpus_prompt = mining_prompts(model, task)
    positives = [str(p["positive"]) for p in pairs]
    full_corpus = mining_corpus(corpus, positives)
    excluded: dict[str, set[str]] = {}  # anchor key → keys that are never its negative
    for pair in pairs:
        anchor_key = text_key(str(pair["anchor"]))
        excluded.setdefault(anchor_key, {anchor_key}).add(text_key(str(pair["positive"])))
    window = config.range_max - config.range_min
    spare = max(0, min(2, window - config.num_negatives))
    dropped = 0
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
                num_negatives=config.num_negatives + spare,
                query_prompt=query_prompt,
                corpus_prompt=corpus_prompt,
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
            taken: dict[tuple[str, str], int] = {}
            for item in mined:
                pair_id = (item["anchor"], item["positive"])
                source = by_pair[pair_id]
                if text_key(item["negative"]) in excluded[text_key(item["anchor"])]:
                    dropped += 1  # the anchor or a positive again (case, punctuation, marks)
                    continue
                if taken.get(pair_id, 0) >= config.num_negatives:
                    continue
                taken[pair_id] = taken.get(pair_id, 0) + 1
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
    log.info(
        "mined %d triplets for %d pairs (%d candidates dropped as the anchor or a positive again)",
        len(out),
        len(pairs),
        dropped,
    )
    return out
