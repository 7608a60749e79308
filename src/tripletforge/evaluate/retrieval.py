"""Retrieval with one relevant document per query: nDCG@k, Recall@k and MRR@k.

Identical corpus texts are merged into one document; ties in score rank the relevant document
below its rivals (pessimistic), so a constant encoder scores ~0, not 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tripletforge.evaluate.sts import normalize_rows


def relevant_ranks(queries: np.ndarray, corpus: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based rank of ``corpus[relevant[i]]`` among all documents for query ``i`` (cosine)."""
    q, c = normalize_rows(queries), normalize_rows(corpus)
    ranks = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), 2048):
        sims = q[start : start + 2048] @ c.T
        rel = sims[np.arange(len(sims)), relevant[start : start + 2048]][:, None]
        ranks[start : start + 2048] = (sims >= rel).sum(axis=1)  # includes the relevant doc
    return ranks


def ranking_metrics(ranks: np.ndarray, k: int = 10) -> dict:
    """nDCG@k, Recall@k and MRR@k (raw, in [0, 1]) from the relevant documents' ranks."""
    ranks = np.asarray(ranks, dtype=np.float64)
    hit = ranks <= k
    return {
        f"ndcg@{k}": float(np.mean(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0))),
        f"recall@{k}": float(np.mean(hit)),
        f"mrr@{k}": float(np.mean(np.where(hit, 1.0 / ranks, 0.0))),
    }


def dedupe_corpus(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Unique texts (first-seen order) and, for each input text, its index among them."""
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(t, len(index)) for t in texts], dtype=np.int64)
    return list(index), ids


def retrieval_scores(
    queries: np.ndarray, corpus: np.ndarray, relevant: np.ndarray, k: int = 10
) -> dict:
    """Metrics at ``k`` plus ``n`` (queries) and ``corpus_size``."""
    ranks = relevant_ranks(queries, corpus, np.asarray(relevant))
    return {**ranking_metrics(ranks, k), "n": len(queries), "corpus_size": len(corpus)}


def retrieval_prompt_names(prompts: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """Prompt names for queries and documents among a model's ``prompts`` (None = its default)."""
    prompts = prompts or {}
    query = "query" if "query" in prompts else None
    doc = next((p for p in ("passage", "document") if p in prompts), None)
    return query, doc
