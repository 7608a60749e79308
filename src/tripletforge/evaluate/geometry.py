"""Alignment and uniformity of an embedding space (Wang & Isola, 2020), on unit vectors.

* alignment  = E_{(x,y) positive} ‖f(x) − f(y)‖²  (α = 2; 0 is perfect, 4 is worst)
* uniformity = log E_{x,y} exp(−2 ‖f(x) − f(y)‖²)  over distinct pairs (lower is more uniform)
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from tripletforge.evaluate.sts import normalize_rows


def alignment(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared distance between normalised positive pairs ``x[i]``, ``y[i]``."""
    if len(x) == 0:
        return float("nan")
    diff = normalize_rows(x) - normalize_rows(y)
    return float(np.mean(np.sum(diff * diff, axis=1)))


def uniformity(
    embeddings: np.ndarray, t: float = 2.0, max_samples: int = 2000, seed: int = 0
) -> float:
    """log mean exp(−t‖u−v‖²) over all distinct pairs of (a seeded sample of) the rows."""
    emb = normalize_rows(embeddings)
    if len(emb) > max_samples:
        emb = emb[np.random.default_rng(seed).choice(len(emb), max_samples, replace=False)]
    if len(emb) < 2:
        return float("nan")
    sq = np.clip(2.0 - 2.0 * (emb @ emb.T), 0.0, None)  # ‖u−v‖² of unit vectors
    upper = sq[np.triu_indices(len(emb), k=1)]
    return float(logsumexp(-t * upper) - np.log(len(upper)))


def positive_mask(
    scores: list[float] | np.ndarray, threshold: float | None = 0.8, quantile: float | None = None
) -> np.ndarray:
    """Which STS pairs count as positives.

    With ``quantile`` (e.g. 0.75 = top quartile) pairs at or above that quantile of the gold
    scores; otherwise pairs whose min–max normalised gold score is ≥ ``threshold``.
    """
    s = np.asarray(scores, dtype=np.float64)
    if quantile is not None:
        return s >= np.quantile(s, quantile)
    lo, hi = float(s.min()), float(s.max())
    norm = (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)
    return norm >= (threshold if threshold is not None else 0.8)


def geometry_scores(
    x: np.ndarray,
    y: np.ndarray,
    population: np.ndarray | None = None,
    t: float = 2.0,
    max_samples: int = 2000,
) -> dict:
    """Alignment over positive pairs ``(x[i], y[i])``; uniformity over ``population``.

    ``population`` defaults to all rows of ``x`` and ``y``.
    """
    pop = population if population is not None else np.concatenate([x, y])
    return {
        "alignment": alignment(x, y),
        "uniformity": uniformity(pop, t=t, max_samples=max_samples),
        "positives": len(x),
    }
