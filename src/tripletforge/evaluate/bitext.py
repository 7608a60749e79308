"""Margin-ratio bitext mining (Artetxe & Schwenk, 2019), reported next to mteb's metrics.

mteb's bitext mining (F1, the main score; precision, recall, accuracy) takes each source's
nearest target by cosine. This module adds the margin criterion of LASER-style mining as the
extra metrics ``margin_accuracy`` (source → target) and ``margin_accuracy_tgt2src``.

Margin ratio for a candidate pair ``(x, y)``::

    margin(x, y) = cos(x, y) / ( Σ_{z ∈ NN_k(x)} cos(x, z) / 2k + Σ_{z ∈ NN_k(y)} cos(y, z) / 2k )

where ``NN_k(x)`` are the ``k`` nearest targets of ``x`` and ``NN_k(y)`` the ``k`` nearest
sources of ``y``. It penalises "hubs" that are close to everything.
"""

from __future__ import annotations

import numpy as np

from tripletforge.evaluate.geometry import normalize_rows

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


def margin_accuracy(src: np.ndarray, tgt: np.ndarray, valid: list[set[int]], k: int = 4) -> float:
    """Fraction of sources (``(n, d)``) whose margin-best target (``(n, d)``) is correct.

    ``valid[i]`` lists the correct target lines of source ``i``
    (:func:`~tripletforge.evaluate.duplicates.equivalent_lines`: the gold line and lines with
    the same text). Raw fraction in [0, 1].
    """
    if len(src) != len(tgt):
        raise ValueError(f"bitext sides differ in length: {len(src)} vs {len(tgt)}")
    pred = best_matches(src, tgt, k)
    return float(np.mean([j in valid[i] for i, j in enumerate(pred.tolist())]))
