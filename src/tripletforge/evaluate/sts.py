"""Semantic textual similarity: Spearman (and Pearson) of cosine similarity against gold scores."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr


def normalize_rows(embeddings: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero)."""
    emb = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.where(norms == 0, 1.0, norms)


def paired_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of ``a[i]`` and ``b[i]`` for every row ``i``."""
    return np.sum(normalize_rows(a) * normalize_rows(b), axis=1)


def sts_scores(emb1: np.ndarray, emb2: np.ndarray, gold: list[float] | np.ndarray) -> dict:
    """Correlations of pairwise cosine with gold scores.

    Returns raw coefficients in [-1, 1] (``spearman`` is the headline figure), and ``n``.
    """
    if len(emb1) != len(emb2) or len(emb1) != len(gold):
        raise ValueError(f"length mismatch: {len(emb1)}/{len(emb2)} embeddings, {len(gold)} scores")
    if len(gold) < 2:
        raise ValueError("STS needs at least 2 scored pairs")
    cosine = paired_cosine(emb1, emb2)
    gold_arr = np.asarray(gold, dtype=np.float64)
    return {
        "spearman": float(spearmanr(gold_arr, cosine)[0]),
        "pearson": float(pearsonr(gold_arr, cosine)[0]),
        "n": len(gold_arr),
    }
