"""Model cards: metadata with model-index from mteb's writer, provenance, updates; strict JSON."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from conftest import TINY_CORPUS
from tripletforge.cards import (
    ModelCardInfo,
    command_line,
    read_model_card,
    render_model_card,
    triplet_provenance,
    update_model_card,
    write_model_card,
)
from tripletforge.data.jsonl import JsonlAppender, strict_dumps


def test_card_front_matter_and_body(tmp_path: Path) -> None:
    info = ModelCardInfo(
        model_name="hau-icl", origin="trained", base_model="e5-small", languages=["hau"],
        command="tripletforge run hau.yaml",
        training_data={"strategy": "icl", "generator": "smollm2-135m", "after_filtering": 480},
    )  # fmt: skip
    path = write_model_card(tmp_path, info)
    text = path.read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["base_model"] == "intfloat/multilingual-e5-small"  # built-in name → hub id
    assert meta["license"] == "mit" and meta["language"] == ["hau"]
    assert meta["library_name"] == "sentence-transformers" and "model-index" not in meta
    assert "tripletforge run hau.yaml" in text and "| generator | smollm2-135m |" in text
    assert "Not evaluated yet" in text
    again, results = read_model_card(tmp_path)
    assert again == info and results == []
    with pytest.raises(ValueError, match="card origin 'other' is unknown"):
        ModelCardInfo(model_name="x", origin="other")


def test_unknown_licence_and_command_line() -> None:
    info = ModelCardInfo(model_name="x", base_model="/some/model")
    assert "license: unknown" in render_model_card(info)
    assert command_line(["/venv/bin/tripletforge", "train", "a b.jsonl"]) == (
        "tripletforge train 'a b.jsonl'"
    )


def test_evaluation_results_become_model_index_as_mteb_writes_them(
    tmp_path: Path, tiny_encoder_dir: Path
) -> None:
    from tripletforge.evaluate import evaluate_model

    with open(tmp_path / "pairs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows((TINY_CORPUS[i], TINY_CORPUS[(i + 5) % 12], i % 4) for i in range(12))
    suite = {"name": "s", "datasets": [{"name": "pairs", "task": "sts", "format": "table",
                                        "path": "pairs.csv", "lang": "hau"}]}  # fmt: skip
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    result = evaluate_model(str(tiny_encoder_dir), tmp_path / "s.yaml", cache=False)
    model = tmp_path / "model"
    model.mkdir()
    write_model_card(model, ModelCardInfo(model_name="m", languages=["hau"]))
    update_model_card(model, evaluation=result, training_data={"triplets": 10})
    info, results = read_model_card(model)
    assert info is not None and info.training_data == {"triplets": 10}
    (entry,) = results
    assert entry.task_type == "sentence-similarity" or entry.task_name == "STS"
    assert entry.metric_type == "cosine_spearman" and entry.dataset_split == "test"
    assert entry.metric_value == pytest.approx(result["pairs"].main_score)
    meta = yaml.safe_load((model / "README.md").read_text().split("---")[1])
    assert meta["model-index"][0]["name"] == "m"
    assert meta["model-index"][0]["results"][0]["source"]["name"] == "MTEB"
    update_model_card(model, evaluation=result)  # same data set again: replaced, not doubled
    assert len(read_model_card(model)[1]) == 1


def test_triplet_provenance_counts_strategies_and_generators() -> None:
    rows = [
        {"strategy": "icl", "model_id": "g1", "lang": "hau"},
        {"strategy": "icl", "model_id": "g2", "lang": "hau"},
        {"strategy": "xlora"},
    ]
    prov = triplet_provenance(rows)
    assert prov["triplets"] == 3 and prov["by_strategy"] == {"icl": 2, "xlora": 1}
    assert prov["by_generator"] == {"g1": 1, "g2": 1} and prov["by_language"] == {"hau": 2}


def _reject(constant: str) -> None:
    raise AssertionError(f"non-standard JSON constant {constant}")


def test_every_json_writer_is_strict(tmp_path: Path) -> None:
    """Issue 13, item 6: no NaN/Infinity in any JSON the package writes."""
    import numpy as np

    from tripletforge.pipeline.manifest import write_json_atomic

    data = {"a": float("nan"), "b": [np.float64("inf"), 1.0], "c": np.float32(0.5)}
    assert strict_dumps(data) == '{"a": null, "b": [null, 1.0], "c": 0.5}'
    write_json_atomic(tmp_path / "m.json", data)
    with JsonlAppender(tmp_path / "r.jsonl") as out:
        out.write(data)
    for path in (tmp_path / "m.json", tmp_path / "r.jsonl"):
        for line in (
            path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        ):
            parsed = json.loads(line, parse_constant=_reject)
            assert parsed["a"] is None and not math.isinf(parsed["b"][1] or 0)
