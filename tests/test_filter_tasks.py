"""Task-aware filters: round-trip consistency, calibrated relevance, prompts by task shape."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from tripletforge.filter import FilterConfig, run_filters
from tripletforge.filter.consistency import ConsistencyFilter, passage_ranks
from tripletforge.filter.length import LengthFilter
from tripletforge.filter.relevance import RelevanceFilter, quantile, random_pairs
from tripletforge.filter.teacher_margin import TeacherMarginFilter


class HandModel:
    """An encoder with hand-built embeddings: ``vectors[text]``; records each encode's prompt.

    It has the e5 prompts (``query: `` / ``passage: ``, no default), so the prompt policy
    encodes retrieval queries with ``query: ``, passages with ``passage: `` and symmetric text
    with none.
    """

    prompts: ClassVar[dict[str, str]] = {"query": "query: ", "document": "passage: "}
    default_prompt_name = None

    def __init__(self, vectors: dict[str, Sequence[float]]) -> None:
        self.vectors = vectors
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def encode(self, texts, prompt=None, normalize_embeddings=False, convert_to_tensor=False,
               **kwargs):  # fmt: skip
        self.calls.append((prompt or "", tuple(texts)))
        out = torch.tensor([list(self.vectors[t]) for t in texts], dtype=torch.float32)
        if normalize_embeddings:
            out = torch.nn.functional.normalize(out, dim=-1)
        return out if convert_to_tensor else out.numpy()

    encode_query = encode
    encode_document = encode


def unit(angle_degrees: float) -> tuple[float, float]:
    a = np.radians(angle_degrees)
    return (float(np.cos(a)), float(np.sin(a)))


def retrieval_row(query: str, passage: str, negative: str) -> dict:
    return {"anchor": query, "positive": passage, "negative": negative, "task": "retrieval",
            "lang": "eng", "positive_lang": "hau"}  # fmt: skip


def test_passage_ranks_count_ties_against_the_query() -> None:
    pool = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    queries = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    # query 0 ties with the copy of its passage; query 1 is closer to passage 1 and ties with
    # the copy; query 2 finds its passage first
    assert passage_ranks(queries, pool, [0, 0, 1]) == [2, 3, 1]
    assert passage_ranks(queries[:0], pool, []) == []


@pytest.mark.parametrize("k", [1, 2, 3])
def test_consistency_keeps_exactly_the_pairs_ranked_in_the_top_k(k: int) -> None:
    # six passages on a circle; each query sits between passages, so its rank is known
    passages = {f"p{i}": unit(60 * i) for i in range(6)}
    # query q_j points at angle a_j; its passage is p_{target[j]}
    angles = {"q0": 0, "q1": 50, "q2": 140, "q3": 200, "q4": 310}
    target = {"q0": 0, "q1": 0, "q2": 1, "q3": 5, "q4": 1}
    queries = {q: unit(a) for q, a in angles.items()}
    model = HandModel(passages | queries)
    rows = [retrieval_row(q, f"p{target[q]}", f"p{(target[q] + 3) % 6}") for q in angles]
    rows.append({"anchor": "p0", "positive": "p1", "negative": "p2", "task": "nli"})  # untouched
    # expected ranks by hand: cosine of each query with all six passages
    expected = []
    for q, a in angles.items():
        scores = [np.cos(np.radians(a - 60 * i)) for i in range(6)]
        own = scores[target[q]]
        expected.append(sum(s >= own for s in scores))
    verdicts = ConsistencyFilter(FilterConfig(consistency_k=k), model=model)(rows)
    assert [v is None for v in verdicts[:-1]] == [r <= k for r in expected]
    assert verdicts[-1] is None
    assert expected == [1, 2, 3, 4, 4]  # the hand-built geometry (no ties)
    rejected = [v for v in verdicts if v]
    assert all(v.startswith(f"passage not in teacher's top {k} (rank ") for v in rejected)
    assert all(v.endswith("of 6)") for v in rejected)
    # queries are encoded with the query prompt, the passage pool with the document prompt
    prompts = {prompt for prompt, _ in model.calls}
    assert prompts == {"query: ", "passage: "}
    assert {t for p, texts in model.calls if p == "query: " for t in texts} == set(angles)


def test_consistency_is_counted_in_the_funnel_with_its_pool() -> None:
    passages = {f"p{i}": unit(90 * i) for i in range(4)}
    model = HandModel(passages | {"near": unit(5), "far": unit(180)})
    rows = [retrieval_row("near", "p0", "p2"), retrieval_row("far", "p1", "p3")]
    flt = ConsistencyFilter(FilterConfig(consistency_k=1), model=model)
    run = run_filters(rows, FilterConfig(), filters=[flt])
    (step,) = run.funnel
    assert (step.rows_in, step.rows_out) == (2, 1)
    assert step.reasons == {"passage not in teacher's top 1": 1}
    assert step.details["pool"] == 4 and step.details["k"] == 1
    assert run.kept[0]["anchor"] == "near"


def test_random_pairs_and_quantile() -> None:
    assert random_pairs(3, 100) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    sampled = random_pairs(50, 30, seed=1)
    assert len(sampled) == 30 == len(set(sampled)) and all(i != j for i, j in sampled)
    assert sampled == random_pairs(50, 30, seed=1)
    assert quantile([0.0, 1.0], 0.95) == pytest.approx(0.95)


def test_relevance_calibrated_on_the_rows_rejects_positives_no_closer_than_random() -> None:
    # anchors a_i at angle 40 i; related positives close to their anchor, unrelated ones not
    n = 8
    vectors = {f"a{i}": unit(40 * i) for i in range(n)}
    offsets = [5, 10, 80, 3, 100, 7, 150, 2]  # rows 2, 4 and 6 are unrelated
    vectors |= {f"p{i}": unit(40 * i + offsets[i]) for i in range(n)}
    rows = [{"anchor": f"a{i}", "positive": f"p{i}", "negative": "x", "task": "nli",
             "lang": "hau", "positive_lang": "hau"} for i in range(n)]  # fmt: skip
    model = HandModel(vectors)
    config = FilterConfig(relevance_calibration="data", relevance_quantile=0.75)
    flt = RelevanceFilter(config, model=model)
    verdicts = flt(rows)
    random = [np.cos(np.radians(40 * j + offsets[j] - 40 * i)) for i, j in random_pairs(n, 1000)]
    threshold = float(np.quantile(random, 0.75))
    own = [np.cos(np.radians(o)) for o in offsets]
    assert [v is None for v in verdicts] == [s > threshold for s in own]
    assert [i for i, v in enumerate(verdicts) if v] == [2, 4, 6]
    (calibration,) = flt.details["calibrations"]
    assert calibration["source"] == "data" and calibration["unrelated_pairs"] == n * (n - 1)
    assert calibration["threshold"] == pytest.approx(threshold, abs=1e-4)
    assert verdicts[2].startswith("positive unrelated to anchor (cos ")
    fixed = RelevanceFilter(FilterConfig(relevance_threshold=0.1), model=model)(rows)
    assert [i for i, v in enumerate(fixed) if v] == [4, 6]


def test_relevance_reference_calibration_uses_shipped_pairs(tiny_encoder_dir: Path) -> None:
    from tripletforge.models import load_encoder

    model = load_encoder(str(tiny_encoder_dir))
    config = FilterConfig(relevance_pairs=200)
    rows = [
        {"anchor": "The cat sits on the mat.", "positive": "A cat is sitting.", "negative": "x",
         "lang": "eng", "positive_lang": "eng"},
        {"anchor": "Yara suna wasa a waje.", "positive": "Children are playing outside.",
         "negative": "x", "lang": "hau", "positive_lang": "eng"},
        {"anchor": "Umwana arimo gukina.", "positive": "Umwana arakina.", "negative": "x",
         "lang": "kin", "positive_lang": "kin"},
        {"anchor": "Umwana arimo gukina.", "positive": "Abana barakina.", "negative": "x",
         "lang": "kin", "positive_lang": "kin"},
    ]  # fmt: skip
    flt = RelevanceFilter(config, model=model)
    flt(rows)
    sources = {c["group"]: c for c in flt.details["calibrations"]}
    assert sources["nli eng→eng"]["source"] == "snli-en"
    assert sources["nli eng→eng"]["related_pairs"] == 200
    assert sources["nli hau→eng"]["source"] == "sib200-sample hau-eng train"
    assert 0.0 <= sources["nli hau→eng"]["related_kept"] <= 1.0
    assert sources["nli kin→kin"]["source"] == "data"  # no shipped Kinyarwanda pairs
    with pytest.raises(ValueError, match="no shipped reference pairs for nli kin→kin"):
        RelevanceFilter(FilterConfig(relevance_calibration="reference"), model=model)(rows)


def test_teacher_filters_encode_retrieval_rows_as_queries_and_passages() -> None:
    model = HandModel({"q": (1.0, 0.0), "p": (0.9, 0.1), "n": (0.0, 1.0),
                       "a": (1.0, 0.0), "b": (0.9, 0.1), "c": (0.0, 1.0)})  # fmt: skip
    rows = [retrieval_row("q", "p", "n"), {"anchor": "a", "positive": "b", "negative": "c"}]
    margins = TeacherMarginFilter(FilterConfig(), model=model).margins(rows)
    assert margins[0] == pytest.approx(margins[1]) and margins[0] > 0
    by_prompt = {p: set(texts) for p, texts in model.calls}
    assert by_prompt == {"query: ": {"q"}, "passage: ": {"p", "n"}, "": {"a", "b", "c"}}


def test_length_ratio_applies_to_symmetric_tasks_only() -> None:
    flt = LengthFilter(FilterConfig(max_length_ratio=3.0))
    passage = "A long passage about the markets of the north and their prices in the rainy season."
    rows = [retrieval_row("market prices", passage, passage.replace("north", "south")),
            {"anchor": "market prices", "positive": passage, "negative": passage},
            retrieval_row("market prices", passage, passage) | {"task": "quiz"}]  # fmt: skip
    verdicts = flt(rows)
    assert verdicts[0] is None
    assert verdicts[1].startswith("positive/anchor length ratio > 3.0")
    assert verdicts[2] == "unknown task 'quiz'"
