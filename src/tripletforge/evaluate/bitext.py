"""Bitext mining accuracy with cosine and margin-ratio scoring (Artetxe & Schwenk, 2019).

Margin ratio for a candidate pair ``(x, y)``::

    margin(x, y) = cos(x, y) / ( Σ_{z ∈ NN_k(x)} cos(x, z) / 2k + Σ_{z ∈ NN_k(y)} cos(y, z) / 2k )

where ``NN_k(x)`` are the ``k`` nearest targets of ``x`` and ``NN_k(y)`` the ``k`` nearest
sources of ``y``. It penalises "hubs" that are close to everything.
"""

from __future__ import annotations

import numpy as np

from tripletforge.evaluate.sts import normalize_rows

BLOCK = 2048


def knn_mean(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine of each row of ``a`` to its ``k`` nearest rows of ``b`` (both normalised)."""
    k = min(k, len(b))
    out = np.empty(len(a))
    for start in range(0, len(a), BLOCK):
        sims = a[start : start + BLOCK] @ b.T
        top = np.partition(sims, len(b) - k, axis=1)[:, len(b) - k :]
        out[start : start + BLOCK] = top.mean(axis=1)
    return out


def best_matches(a: np.ndarray, b: np.ndarray, k: int | None = None) -> np.ndarray:
    """Index in ``b`` of the best match of each row of ``a``: cosine, or margin ratio with ``k``."""
    a, b = normalize_rows(a), normalize_rows(b)
    if k is not None:
        a_knn, b_knn = knn_mean(a, b, k), knn_mean(b, a, k)
    best = np.empty(len(a), dtype=np.int64)
    for start in range(0, len(a), BLOCK):
        sims = a[start : start + BLOCK] @ b.T
        if k is not None:
            sims = sims / ((a_knn[start : start + BLOCK, None] + b_knn[None, :]) / 2)
        best[start : start + BLOCK] = np.argmax(sims, axis=1)
    return best


def _accuracy(pred: np.ndarray, gold_texts: list[str]) -> float:
    """A match counts if it is the gold line or a line with the same text (duplicates)."""
    hits = [i == j or gold_texts[i] == gold_texts[j] for i, j in enumerate(pred.tolist())]
    return float(np.mean(hits))


def bitext_scores(
    src: np.ndarray,
    tgt: np.ndarray,
    src_texts: list[str] | None = None,
    tgt_texts: list[str] | None = None,
    k: int = 4,
) -> dict:
    """Accuracy (fraction in [0, 1]) in both directions with ``cosine`` and ``margin`` scoring.

    Keys: ``{cosine,margin}_{src2tgt,tgt2src}``, their per-method means ``cosine``/``margin``,
    and ``n``. Texts, when given, let a duplicate of the gold sentence count as correct.
    """
    if len(src) != len(tgt):
        raise ValueError(f"bitext sides differ in length: {len(src)} vs {len(tgt)}")
    n = len(src)
    src_texts = src_texts if src_texts is not None else [str(i) for i in range(n)]
    tgt_texts = tgt_texts if tgt_texts is not None else [str(i) for i in range(n)]
    out: dict = {}
    for method, kk in (("cosine", None), ("margin", k)):
        s2t = _accuracy(best_matches(src, tgt, kk), tgt_texts)
        t2s = _accuracy(best_matches(tgt, src, kk), src_texts)
        out[f"{method}_src2tgt"] = s2t
        out[f"{method}_tgt2src"] = t2s
        out[method] = (s2t + t2s) / 2
    out["k"] = k
    out["n"] = n
    return out
