"""evaluate_model end to end on the tiny model: tasks, caching, result files and the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY_CORPUS
from tripletforge.cli.main import app
from tripletforge.evaluate import evaluate_model, load_suite

PAIRS = [(TINY_CORPUS[i], TINY_CORPUS[(i * 5 + 3) % 12], (i * 7) % 5 / 4) for i in range(12)]


@pytest.fixture
def tiny_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A suite with one STS, one bitext and one retrieval table in a temp folder."""
    monkeypatch.setenv("TRIPLETFORGE_HOME", str(tmp_path / "home"))
    with open(tmp_path / "pairs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows(PAIRS)
    with open(tmp_path / "bitext.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target"])
        writer.writerows(zip(TINY_CORPUS[4:7] + TINY_CORPUS[:3], TINY_CORPUS[:6], strict=True))
    suite = {
        "name": "tiny",
        "datasets": [
            {"name": "pairs", "task": "sts", "format": "table", "path": "pairs.csv", "lang": "hau"},
            {
                "name": "mine",
                "task": "bitext",
                "format": "table",
                "path": "bitext.csv",
                "lang": "hau",
            },
            {
                "name": "find",
                "task": "retrieval",
                "format": "table",
                "path": "bitext.csv",
                "lang": "hau",
            },
        ],
        "bitext_k": 2,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def test_evaluate_model_scores_every_task_and_reuses_the_cache(
    tiny_suite: Path, tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = evaluate_model(str(tiny_encoder_dir), tiny_suite)
    assert [r.task for r in first.datasets] == ["sts", "bitext", "retrieval"]
    sts, bitext, retrieval = first.datasets
    assert sts.n == 12 and -1 <= sts.metrics["spearman"] <= 1
    assert {"cosine_src2tgt", "margin_tgt2src"} <= set(bitext.metrics)
    assert retrieval.metrics["query_prompt"] == "query"
    assert retrieval.metrics["corpus_prompt"] == "passage"
    assert sts.files[0]["path"].endswith("pairs.csv") and len(sts.files[0]["sha256"]) == 64
    assert first.encoding["encoded"] > 0

    import tripletforge.models.registry as registry

    def fail(*args, **kwargs):
        raise AssertionError("a fully cached run must not load the model")

    monkeypatch.setattr(registry, "load_encoder", fail)
    second = evaluate_model(str(tiny_encoder_dir), tiny_suite)
    assert second.encoding["encoded"] == 0
    assert second.encoding["cache_hits"] == first.encoding["texts"]
    for a, b in zip(first.datasets, second.datasets, strict=True):
        assert a.metrics == b.metrics and a.geometry == b.geometry


def test_in_memory_model_and_no_cache(tiny_suite: Path, tiny_encoder_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    calls = []
    original = model.encode
    model.encode = lambda *a, **k: calls.append(len(a[0])) or original(*a, **k)
    suite = load_suite(tiny_suite)
    one = evaluate_model(model, suite, datasets=["pairs"], cache=False, model_id="tiny")
    evaluate_model(model, suite, datasets=["pairs"], cache=False)
    assert one.model == "tiny" and [r.name for r in one.datasets] == ["pairs"]
    assert sum(calls) == 2 * one.encoding["encoded"] > 0  # no cache: encoded twice
    from_folder = evaluate_model(str(tiny_encoder_dir), suite, datasets=["pairs"], cache=False)
    assert from_folder["pairs"].metrics["spearman"] == pytest.approx(
        one["pairs"].metrics["spearman"], abs=1e-6
    )


def test_results_json_and_markdown(
    tiny_suite: Path, tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    result = evaluate_model(str(tiny_encoder_dir), tiny_suite)
    json_path, md_path = result.write(tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert data["model"] == str(tiny_encoder_dir)
    assert set(data["versions"]) >= {
        "torch",
        "transformers",
        "sentence-transformers",
        "tripletforge",
    }
    assert data["datasets"][0]["metrics"]["spearman"] == result["pairs"].metrics["spearman"]
    assert data["languages"]["hau"]["sts"] == result["pairs"].metrics["spearman"]
    markdown = md_path.read_text()
    assert f"{100 * result['pairs'].metrics['spearman']:.1f}" in markdown
    assert result["pairs"].files[0]["sha256"][:16] in markdown


def test_cli_evaluate_writes_results(
    tiny_suite: Path, tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cli-out"
    args = ["evaluate", "--model", str(tiny_encoder_dir), "--suite", str(tiny_suite)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--dataset", "mine", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Bitext mining" in result.output and "Per language" in result.output
    data = json.loads((out / "results.json").read_text())
    assert [d["name"] for d in data["datasets"]] == ["mine"]
    assert (out / "results.md").is_file()


def test_cli_reports_suite_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "datasets": [{"name": "a", "task": "sts"}]}))
    result = CliRunner().invoke(app, ["evaluate", "--suite", str(bad), "--quiet"])
    assert result.exit_code == 2
    assert "datasets[0].format" in result.output


def test_shared_dev_subset_on_real_data(
    shared_data: Path, tiny_encoder_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIPLETFORGE_HOME", str(tmp_path))
    result = evaluate_model(
        str(tiny_encoder_dir),
        "shared-dev",
        datasets=["semrel-hau-dev", "tatoeba-amh", "sib200-kin-eng"],
        data_root=shared_data,
        limit=60,
    )
    by_name = {r.name: r for r in result.datasets}
    assert by_name["semrel-hau-dev"].n == 60 and by_name["semrel-hau-dev"].lang == "hau"
    assert by_name["tatoeba-amh"].target_lang == "eng"
    assert by_name["sib200-kin-eng"].metrics["corpus_size"] <= 60
    assert all(len(r.files) >= 1 for r in result.datasets)
    assert 0 <= by_name["sib200-kin-eng"].metrics["ndcg@10"] <= 1
