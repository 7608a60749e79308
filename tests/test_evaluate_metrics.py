"""Metric functions of the evaluate stage on synthetic embeddings with hand-computable answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tripletforge.evaluate.bitext import best_matches, bitext_scores, knn_mean
from tripletforge.evaluate.geometry import alignment, geometry_scores, positive_mask, uniformity
from tripletforge.evaluate.retrieval import dedupe_corpus, ranking_metrics, retrieval_scores
from tripletforge.evaluate.sts import paired_cosine, sts_scores

RNG = np.random.default_rng(0)


def test_paired_cosine_of_known_vectors() -> None:
    a = np.array([[1.0, 0.0], [1.0, 0.0], [3.0, 4.0]])
    b = np.array([[2.0, 0.0], [0.0, 5.0], [-3.0, -4.0]])
    np.testing.assert_allclose(paired_cosine(a, b), [1.0, 0.0, -1.0])


def test_sts_spearman_is_one_for_a_monotone_and_minus_one_for_a_reversed_order() -> None:
    angles = np.linspace(0.1, 1.4, 8)  # cosine of pair i is cos(angle_i), decreasing
    e1 = np.tile([1.0, 0.0], (8, 1))
    e2 = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert sts_scores(e1, e2, -angles)["spearman"] == pytest.approx(1.0)
    assert sts_scores(e1, e2, angles)["spearman"] == pytest.approx(-1.0)
    assert sts_scores(e1, e2, angles)["n"] == 8


def test_sts_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="length mismatch"):
        sts_scores(np.ones((3, 2)), np.ones((2, 2)), [1, 2, 3])


def test_perfect_bitext_gives_accuracy_one_in_every_direction_and_method() -> None:
    src = RNG.normal(size=(20, 16))
    scores = bitext_scores(src, src * 3.0, k=4)
    for key in ("cosine_src2tgt", "cosine_tgt2src", "margin_src2tgt", "margin_tgt2src"):
        assert scores[key] == 1.0
    assert scores["n"] == 20


def test_shuffled_bitext_accuracy_counts_fixed_points() -> None:
    src = RNG.normal(size=(10, 32))
    perm = np.array([0, 1, 2, 3, 4, 6, 5, 8, 9, 7])  # 5 fixed points
    scores = bitext_scores(src, src[perm], k=2)
    assert scores["cosine_src2tgt"] == pytest.approx(0.5)
    assert scores["cosine_tgt2src"] == pytest.approx(0.5)


def test_duplicate_gold_text_counts_as_a_hit() -> None:
    src = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    tgt = np.array([[1.0, 0.1], [1.0, 0.1], [0.0, 1.0]])  # rows 0 and 1 are identical
    with_texts = bitext_scores(src, tgt, ["a", "a", "b"], ["x", "x", "y"], k=1)
    without = bitext_scores(src, tgt, k=1)
    assert with_texts["cosine_src2tgt"] == 1.0
    assert without["cosine_src2tgt"] == pytest.approx(2 / 3)


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
    scores = bitext_scores(HUB_SRC, HUB_TGT, k=2)
    assert scores["cosine_src2tgt"] == 0.5
    assert scores["margin_src2tgt"] == 1.0


def test_knn_mean_averages_the_k_largest_cosines() -> None:
    a = np.array([[1.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    assert knn_mean(a, b, 2)[0] == pytest.approx((1.0 + 0.6) / 2)
    assert knn_mean(a, b, 10)[0] == pytest.approx((1.0 + 0.0 - 1.0 + 0.6) / 4)  # k capped at n


def test_identity_retrieval_scores_one() -> None:
    q = RNG.normal(size=(15, 8))
    scores = retrieval_scores(q, q.copy(), np.arange(15))
    assert scores["ndcg@10"] == pytest.approx(1.0)
    assert scores["recall@10"] == 1.0
    assert scores["mrr@10"] == 1.0


def test_ranking_metrics_from_ranks() -> None:
    metrics = ranking_metrics(np.array([1, 2, 11]), k=10)
    assert metrics["ndcg@10"] == pytest.approx((1 + 1 / math.log2(3) + 0) / 3)
    assert metrics["recall@10"] == pytest.approx(2 / 3)
    assert metrics["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_retrieval_rank_two_when_a_distractor_is_closer() -> None:
    queries = np.array([[1.0, 0.0]])
    corpus = np.array([[0.8, 0.6], [1.0, 0.05]])  # doc 1 beats the relevant doc 0
    scores = retrieval_scores(queries, corpus, np.array([0]))
    assert scores["mrr@10"] == pytest.approx(0.5)
    assert scores["ndcg@10"] == pytest.approx(1 / math.log2(3))


def test_constant_encoder_does_not_score_perfect_retrieval() -> None:
    ones = np.ones((12, 4))
    scores = retrieval_scores(ones, ones, np.arange(12), k=10)
    assert scores["recall@10"] == 0.0  # ties rank the relevant document last


def test_dedupe_corpus_maps_duplicates_to_one_document() -> None:
    corpus, ids = dedupe_corpus(["a", "b", "a", "c"])
    assert corpus == ["a", "b", "c"]
    assert ids.tolist() == [0, 1, 0, 2]


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


def test_positive_mask_threshold_and_quantile() -> None:
    scores = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert positive_mask(scores, threshold=0.8).tolist() == [False] * 4 + [True] * 2  # ≥ 4/5
    assert positive_mask(scores, threshold=0.6).tolist() == [False] * 3 + [True] * 3
    assert positive_mask(scores, quantile=0.5).sum() == 3


def test_geometry_scores_use_the_population_for_uniformity() -> None:
    x = np.array([[1.0, 0.0]])
    pop = np.array([[1.0, 0.0], [-1.0, 0.0]])
    geo = geometry_scores(x, x, population=pop)
    assert geo == {"alignment": 0.0, "uniformity": pytest.approx(-8.0), "positives": 1}
