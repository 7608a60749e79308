"""Metric helpers of the evaluate stage on synthetic embeddings with hand-computable answers.

mteb computes every task's metrics; these are the pieces tripletforge adds: the margin
criterion of bitext mining, geometry, duplicate handling and undefined values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tripletforge.evaluate.bitext import best_matches, knn_mean, margin_accuracy
from tripletforge.evaluate.duplicates import (
    canonical_indices,
    dedupe_corpus,
    dedupe_texts,
    equivalent_lines,
    text_key,
)
from tripletforge.evaluate.geometry import (
    alignment,
    geometry_scores,
    label_positive_pairs,
    positive_mask,
    uniformity,
)
from tripletforge.evaluate.tasks import finite_or_none

RNG = np.random.default_rng(0)

# Target 2 is a hub: by cosine it is the nearest target of sources 0 and 2, and target 0
# is the nearest of source 3. Margin scoring (k=2) recovers the gold alignment.
HUB_SRC = np.array([[-0.0, -0.1, 2.5], [-1.6, 0.2, 1.2], [0.7, -0.3, 1.7], [-1.1, -1.3, 0.6]])
HUB_TGT = np.array([[-0.9, -1.5, 3.0], [-1.1, 0.6, 0.9], [0.8, -0.9, 2.7], [-0.6, -0.9, -0.6]])


def _naive_margin_best(src: np.ndarray, tgt: np.ndarray, k: int) -> list[int]:
    s = src / np.linalg.norm(src, axis=1, keepdims=True)
    t = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
    cos = s @ t.T
    best = []
    for i in range(len(s)):
        scores = []
        for j in range(len(t)):
            fwd = sorted(cos[i], reverse=True)[:k]
            bwd = sorted(cos[:, j], reverse=True)[:k]
            scores.append(cos[i, j] / (sum(fwd) / (2 * k) + sum(bwd) / (2 * k)))
        best.append(int(np.argmax(scores)))
    return best


def test_margin_scoring_fixes_a_hub_that_cosine_falls_for() -> None:
    assert best_matches(HUB_SRC, HUB_TGT).tolist() == [2, 1, 2, 0]
    assert best_matches(HUB_SRC, HUB_TGT, k=2).tolist() == [0, 1, 2, 3]
    assert _naive_margin_best(HUB_SRC, HUB_TGT, 2) == [0, 1, 2, 3]
    one_to_one = [{i} for i in range(4)]
    assert margin_accuracy(HUB_SRC, HUB_TGT, one_to_one, k=2) == 1.0


def test_margin_accuracy_counts_an_equivalent_line_as_a_hit() -> None:
    src = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    tgt = np.array([[1.0, 0.1], [1.0, 0.1], [0.0, 1.0]])  # rows 0 and 1 are the same text
    valid = equivalent_lines(["a", "a2", "b"], ["x", "x", "y"])
    assert valid == [{0, 1}, {0, 1}, {2}]
    assert margin_accuracy(src, tgt, valid, k=1) == 1.0
    assert margin_accuracy(src, tgt, [{0}, {1}, {2}], k=1) == pytest.approx(2 / 3)


def test_knn_mean_averages_the_k_largest_cosines() -> None:
    a = np.array([[1.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    assert knn_mean(a, b, 2)[0] == pytest.approx((1.0 + 0.6) / 2)
    assert knn_mean(a, b, 10)[0] == pytest.approx((1.0 + 0.0 - 1.0 + 0.6) / 4)  # k capped at n


def test_text_identity_is_nfc_and_outer_whitespace_only() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert text_key(f"  {decomposed}\n") == composed
    assert text_key("Cafe") != text_key("cafe") and text_key("a  b") != text_key("a b")
    assert canonical_indices(["x", " x", "y", "x "]) == [0, 0, 2, 0]
    assert dedupe_texts([decomposed, composed, "b"]) == ([decomposed, "b"], [0, 0, 1])


def test_equivalent_lines_in_both_directions() -> None:
    """Two sources share one translation; one source occurs twice with two translations."""
    sources = ["s1", "s2", "s3", "s3 "]
    targets = ["t", "t", "u", "v"]
    assert equivalent_lines(sources, targets) == [{0, 1}, {0, 1}, {2, 3}, {2, 3}]
    assert equivalent_lines(targets, sources) == [{0, 1}, {0, 1}, {2, 3}, {2, 3}]


def test_dedupe_corpus_moves_judgements_and_candidates_to_the_kept_copy() -> None:
    corpus = {"d1": "one", "d2": "two", "d3": " one", "d4": "one"}
    titles = {"d4": "T"}  # a different title makes a different document
    qrels = {"q1": {"d3": 1}, "q2": {"d1": 1, "d3": 2}}
    top = {"q1": ["d3", "d1", "d2"]}
    kept, judged, candidates, merged = dedupe_corpus(corpus, qrels, top, titles)
    assert kept == {"d1": "one", "d2": "two", "d4": "one"} and merged == 1
    assert judged == {"q1": {"d1": 1}, "q2": {"d1": 2}}
    assert candidates == {"q1": ["d1", "d2"]}


def test_alignment_is_zero_for_identical_pairs_and_two_for_orthogonal() -> None:
    x = RNG.normal(size=(6, 5))
    assert alignment(x, 2 * x) == pytest.approx(0.0, abs=1e-12)
    assert alignment(np.eye(3), np.roll(np.eye(3), 1, axis=0)) == pytest.approx(2.0)


def test_uniformity_of_known_configurations() -> None:
    antipodal = np.array([[1.0, 0.0], [-1.0, 0.0]])  # one pair at squared distance 4
    assert uniformity(antipodal) == pytest.approx(-8.0)
    square = np.array([[1.0, 0], [0, 1.0], [-1.0, 0], [0, -1.0]])
    # 6 pairs: 4 at squared distance 2, 2 at squared distance 4
    expected = math.log((4 * math.exp(-4) + 2 * math.exp(-8)) / 6)
    assert uniformity(square) == pytest.approx(expected)
    collapsed = np.ones((5, 3))
    assert uniformity(collapsed) == pytest.approx(0.0, abs=1e-12)


def test_geometry_of_too_little_data_is_undefined_not_nan() -> None:
    assert alignment(np.zeros((0, 3)), np.zeros((0, 3))) is None
    assert uniformity(np.ones((1, 3))) is None
    geo = geometry_scores(np.zeros((0, 2)), np.zeros((0, 2)), population=np.ones((1, 2)))
    assert geo == {"alignment": None, "uniformity": None, "positives": 0}


def test_positive_mask_threshold_and_quantile() -> None:
    scores = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert positive_mask(scores, threshold=0.8).tolist() == [False] * 4 + [True] * 2  # ≥ 4/5
    assert positive_mask(scores, threshold=0.6).tolist() == [False] * 3 + [True] * 3
    assert positive_mask(scores, quantile=0.5).sum() == 3


def test_label_positive_pairs_are_same_label_pairs() -> None:
    left, right = label_positive_pairs(["a", "b", "a", "a", "c"])
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 2), (0, 3), (2, 3)]
    left, right = label_positive_pairs(["a", "b"] * 100, max_pairs=50, seed=1)
    assert len(left) == 50 and all((left % 2) == (right % 2)) and all(left != right)
    assert len(label_positive_pairs(["a", "b", "c"])[0]) == 0


def test_geometry_scores_use_the_population_for_uniformity() -> None:
    x = np.array([[1.0, 0.0]])
    pop = np.array([[1.0, 0.0], [-1.0, 0.0]])
    geo = geometry_scores(x, x, population=pop)
    assert geo == {"alignment": 0.0, "uniformity": pytest.approx(-8.0), "positives": 1}


def test_finite_or_none_turns_nan_and_infinity_into_null() -> None:
    raw = {"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": {"d": -np.inf}, "e": "x"}
    assert finite_or_none(raw) == {"a": None, "b": [1.5, None], "c": {"d": None}, "e": "x"}
