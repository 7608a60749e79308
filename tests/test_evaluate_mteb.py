"""Interop: our STS Spearman equals mteb's own STS evaluator on the same local pairs (offline)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from conftest import TINY_CORPUS
from tripletforge.data.schemas import PairSet
from tripletforge.evaluate.cache import CachingEncoder
from tripletforge.evaluate.suite import GeometryConfig
from tripletforge.evaluate.tasks import run_sts

PAIRS = [(i, j) for i in range(12) for j in range(i + 1, 12) if (i * 7 + j * 3) % 4 == 0]


def test_sts_spearman_matches_mteb_any_sts_evaluator(tiny_encoder_dir: Path) -> None:
    mteb = pytest.importorskip("mteb")
    from datasets import Dataset
    from mteb._evaluators import AnySTSEvaluator
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from mteb.timing import TimingStack
    from sentence_transformers import SentenceTransformer

    s1 = [TINY_CORPUS[i] for i, _ in PAIRS]
    s2 = [TINY_CORPUS[j] for _, j in PAIRS]
    gold = [round(5 * ((i * 13 + j * 5) % 17) / 16, 2) for i, j in PAIRS]  # on a 0–5 scale
    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")

    task = mteb.get_task("STSBenchmark")  # metadata and score normalisation only, no download
    evaluator = AnySTSEvaluator(
        Dataset.from_dict({"sentence1": s1, "sentence2": s2, "score": gold}),
        ("sentence1", "sentence2"),
        task_metadata=task.metadata,
        hf_split="test",
        hf_subset="default",
        input1_prompt_type=None,
        input2_prompt_type=None,
        timer=TimingStack(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapped = SentenceTransformerEncoderWrapper(model)
        raw = evaluator(wrapped, encode_kwargs={"batch_size": 16, "show_progress_bar": False})
    theirs = task._calculate_scores(raw, [task._normalize(x) for x in gold])

    ours, _ = run_sts(CachingEncoder(model), PairSet("p", "eng", s1, s2, gold), GeometryConfig())
    assert len(PAIRS) >= 15
    assert ours["spearman"] == pytest.approx(theirs["cosine_spearman"], abs=1e-6)
    assert ours["pearson"] == pytest.approx(theirs["cosine_pearson"], abs=1e-5)
