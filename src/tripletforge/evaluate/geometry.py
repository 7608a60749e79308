"""Alignment and uniformity of an embedding space (Wang & Isola, 2020), on unit vectors.

* alignment  = E_{(x,y) positive} ‖f(x) − f(y)‖²  (α = 2; 0 is perfect, 4 is worst)
* uniformity = log E_{x,y} exp(−2 ‖f(x) − f(y)‖²)  over distinct pairs (lower is more uniform)

Both are undefined (``None``) without positive pairs or with fewer than two texts.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def normalize_rows(embeddings: np.ndarray) -> np.ndarray:
    """L2-normalise each row of ``(n, d)`` embeddings (zero rows stay zero); float64."""
    emb = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return emb / np.where(norms == 0, 1.0, norms)


def alignment(x: np.ndarray, y: np.ndarray) -> float | None:
    """Mean squared distance between normalised positive pairs ``x[i]``, ``y[i]`` (``(n, d)``).

    None when there is no pair.
    """
    if len(x) == 0:
        return None
    diff = normalize_rows(x) - normalize_rows(y)
    return float(np.mean(np.sum(diff * diff, axis=1)))


def uniformity(
    embeddings: np.ndarray, t: float = 2.0, max_samples: int = 2000, seed: int = 0
) -> float | None:
    """log mean exp(−t‖u−v‖²) over all distinct pairs of (a seeded sample of) the rows.

    None with fewer than two rows.
    """
    emb = normalize_rows(embeddings)
    if len(emb) > max_samples:
        emb = emb[np.random.default_rng(seed).choice(len(emb), max_samples, replace=False)]
    if len(emb) < 2:
        return None
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


def label_positive_pairs(
    labels: list[str] | list[int], max_pairs: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i ≠ j``, of texts with the same label (positives of labelled
    data, as in supervised contrastive learning): all of them, or a seeded sample of
    ``max_pairs``. Returns two index arrays of equal length (possibly empty).
    """
    groups: dict[object, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    total = sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    if total <= max_pairs:
        pairs = [(g[a], g[b]) for g in groups.values()
                 for a in range(len(g)) for b in range(a + 1, len(g))]  # fmt: skip
    else:
        rng = np.random.default_rng(seed)
        sizes = np.array([len(g) * (len(g) - 1) for g in groups.values()], dtype=float)
        keys = list(groups)
        pairs = []
        for choice in rng.choice(len(keys), size=max_pairs, p=sizes / sizes.sum()):
            a, b = rng.choice(len(groups[keys[choice]]), size=2, replace=False)
            pairs.append((groups[keys[choice]][a], groups[keys[choice]][b]))
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left, right = zip(*pairs, strict=True)
    return np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)


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
