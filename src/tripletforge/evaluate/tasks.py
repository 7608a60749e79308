"""Run one task on one data set: encode with the caching encoder, then score."""

from __future__ import annotations

import numpy as np

from tripletforge.data.schemas import BitextSet, PairSet
from tripletforge.evaluate.bitext import bitext_scores
from tripletforge.evaluate.cache import CachingEncoder
from tripletforge.evaluate.geometry import geometry_scores, positive_mask
from tripletforge.evaluate.retrieval import dedupe_corpus, retrieval_prompt_names, retrieval_scores
from tripletforge.evaluate.sts import sts_scores
from tripletforge.evaluate.suite import GeometryConfig


def run_sts(
    encoder: CachingEncoder, pairs: PairSet, geometry: GeometryConfig, label: str = "sts"
) -> tuple[dict, dict]:
    """Spearman/Pearson of cosine vs gold; geometry on the pairs deemed positive."""
    n = len(pairs)
    emb = encoder.encode(pairs.sentence1 + pairs.sentence2, desc=label)
    e1, e2 = emb[:n], emb[n:]
    metrics = sts_scores(e1, e2, pairs.scores)
    mask = positive_mask(pairs.scores, geometry.positive_threshold, geometry.positive_quantile)
    geo = geometry_scores(e1[mask], e2[mask], population=emb, max_samples=geometry.max_samples)
    return metrics, geo


def run_bitext(
    encoder: CachingEncoder,
    bitext: BitextSet,
    geometry: GeometryConfig,
    k: int = 4,
    label: str = "bitext",
) -> tuple[dict, dict]:
    """Mining accuracy both ways (cosine and margin); geometry on all translation pairs."""
    n = len(bitext)
    emb = encoder.encode(bitext.source + bitext.target, desc=label)
    src, tgt = emb[:n], emb[n:]
    metrics = bitext_scores(src, tgt, bitext.source, bitext.target, k=k)
    return metrics, geometry_scores(src, tgt, max_samples=geometry.max_samples)


def run_retrieval(
    encoder: CachingEncoder,
    bitext: BitextSet,
    geometry: GeometryConfig,
    k: int = 10,
    query_side: str = "source",
    label: str = "retrieval",
) -> tuple[dict, dict]:
    """One side as queries, the (deduplicated) other side as corpus; one relevant doc each."""
    queries, docs = (
        (bitext.source, bitext.target) if query_side == "source" else (bitext.target, bitext.source)
    )
    corpus, relevant = dedupe_corpus(docs)
    q_prompt, d_prompt = retrieval_prompt_names(getattr(encoder.model, "prompts", None))
    q = encoder.encode(queries, prompt_name=q_prompt, desc=f"{label} queries")
    c = encoder.encode(corpus, prompt_name=d_prompt, desc=f"{label} corpus")
    metrics = retrieval_scores(q, c, relevant, k=k)
    metrics["query_prompt"], metrics["corpus_prompt"] = q_prompt, d_prompt
    geo = geometry_scores(
        q, c[relevant], population=np.concatenate([q, c]), max_samples=geometry.max_samples
    )
    return metrics, geo
