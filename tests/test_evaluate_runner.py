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
    assert sts.n == 12 and -1 <= sts.main_score <= 1
    assert sts.main_metric == "cosine_spearman" and sts.main_score == sts.metrics["cosine_spearman"]
    assert bitext.main_metric == "f1"
    assert {"precision", "recall", "accuracy", "f1_tgt2src", "margin_accuracy"} <= set(
        bitext.metrics
    )
    assert retrieval.main_metric == "ndcg_at_10" and "map_at_10" in retrieval.metrics
    assert retrieval.prompts == {"query": "query: ", "document": "passage: "}
    assert first.settings["prompts"]["sts"] == "" and first.settings["protocol"] == "mteb"
    assert sts.files[0]["path"].endswith("pairs.csv") and len(sts.files[0]["sha256"]) == 64
    assert first.encoding["encoded"] > 0

    import tripletforge.models.registry as registry

    def fail(*args, **kwargs):
        raise AssertionError("a fully cached run must not load the model")

    monkeypatch.setattr(registry, "load_encoder", fail)
    rescored = evaluate_model(str(tiny_encoder_dir), tiny_suite, reuse_scores=False)
    assert rescored.encoding["encoded"] == 0 and rescored.encoding["reused_scores"] == 0
    assert rescored.encoding["cache_hits"] == rescored.encoding["texts"] > 0
    second = evaluate_model(str(tiny_encoder_dir), tiny_suite)  # nothing changed: stored scores
    assert second.encoding["reused_scores"] == 3 and second.encoding["texts"] == 0
    for a, b, c in zip(first.datasets, rescored.datasets, second.datasets, strict=True):
        assert a.metrics == b.metrics == c.metrics and a.geometry == b.geometry == c.geometry
        assert c.reused and c.task_result.scores == a.task_result.scores
    third = evaluate_model(str(tiny_encoder_dir), tiny_suite, datasets=["pairs"], limit=10)
    assert third.encoding["reused_scores"] == 0 and third["pairs"].n == 10  # other data: rescored


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
    assert from_folder["pairs"].main_score == pytest.approx(one["pairs"].main_score, abs=1e-6)


def test_results_json_markdown_and_mteb_files(
    tiny_suite: Path, tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    from mteb.cache import ResultCache
    from mteb.results import TaskResult

    result = evaluate_model(str(tiny_encoder_dir), tiny_suite)
    json_path, md_path = result.write(tmp_path / "out")
    data = json.loads(json_path.read_text(), parse_constant=_reject)
    assert data["model"] == str(tiny_encoder_dir)
    assert set(data["versions"]) >= {"torch", "transformers", "sentence-transformers", "mteb"}
    assert data["datasets"][0]["main_score"] == result["pairs"].main_score
    assert data["languages"]["hau"]["sts"] == result["pairs"].main_score
    markdown = md_path.read_text()
    assert f"{100 * result['pairs'].main_score:.1f}" in markdown
    assert result["pairs"].files[0]["sha256"][:16] in markdown
    # MTEB's own loaders read the per-task files
    files = sorted((tmp_path / "out" / "mteb" / "results").rglob("*.json"))
    names = {f.stem for f in files}
    assert {"pairs", "mine", "find", "model_meta"} <= names
    loaded = TaskResult.from_disk(next(f for f in files if f.stem == "find"))
    entry = loaded.scores["test"][0]
    assert entry["hf_subset"] == "default" and entry["languages"] == ["hau-Latn", "eng-Latn"]
    assert entry["main_score"] == pytest.approx(result["find"].main_score, abs=1e-6)
    assert loaded.mteb_version and loaded.evaluation_time is not None
    cache = ResultCache(tmp_path / "out" / "mteb")
    assert sorted(cache.get_task_names()) == ["find", "mine", "pairs"]
    assert cache.get_models() == [(f"local__{tiny_encoder_dir.name}", result.fingerprint[:16])]


def _reject(token: str) -> None:
    raise ValueError(f"non-standard JSON constant {token}")


def test_undefined_metrics_are_null_and_skipped_by_the_language_mean(
    tmp_path: Path, tiny_encoder_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13, item 6: a constant-gold STS set next to a valid one of the same language."""
    with open(tmp_path / "flat.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows((a, b, 0.5) for a, b, _ in PAIRS)  # all gold scores equal
    with open(tmp_path / "good.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows(PAIRS)
    with open(tmp_path / "two.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["sentence1", "sentence2", "score"], *PAIRS[:2]])
    suite = {
        "name": "flat",
        "datasets": [
            {"name": n, "task": "sts", "format": "table", "path": f"{n}.csv", "lang": "hau"}
            for n in ("flat", "good", "two")
        ],
    }
    (tmp_path / "flat.yaml").write_text(yaml.safe_dump(suite))
    with caplog.at_level("WARNING", logger="tripletforge.evaluate"):
        result = evaluate_model(str(tiny_encoder_dir), tmp_path / "flat.yaml", cache=False)
    assert result["flat"].main_score is None and result["two"].main_score is None
    assert result["good"].main_score is not None
    assert any(
        "'flat'" in r.message and "gold scores are equal" in r.message for r in caplog.records
    )
    assert any("'two'" in r.message and "at least 3" in r.message for r in caplog.records)
    assert result.by_language()["hau"]["sts"] == result["good"].main_score
    (note,) = result.aggregate_notes()
    assert "mean over 1 of 3" in note and "flat" in note and "two" in note
    json_path, md_path = result.write(tmp_path / "out")
    data = json.loads(json_path.read_text(), parse_constant=_reject)
    assert data["datasets"][0]["metrics"]["cosine_spearman"] is None
    assert data["languages"]["hau"]["sts"] == result["good"].main_score
    assert "undefined (skipped): flat, two" in md_path.read_text()


def test_duplicate_texts_count_as_hits_in_bitext_and_retrieval(
    tmp_path: Path, tiny_encoder_dir: Path
) -> None:
    """Issue 13, item 10: two sources share one translation; the corpus holds it twice."""
    rows = [
        ("Yara suna wasa a waje.", "Children are playing outside."),
        ("Yaran suna wasa a waje.", "Children are playing outside."),
        ("Ina son karanta littafi.", "I like reading a book."),
        ("Kare yana gudu.", "A dog runs."),
    ]
    with open(tmp_path / "dup.tsv", "w", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows([["source", "target"], *rows])
    suite = {
        "name": "dup",
        "datasets": [
            {"name": "mine", "task": "bitext", "format": "table", "path": "dup.tsv", "lang": "hau"},
            {
                "name": "find",
                "task": "retrieval",
                "format": "table",
                "path": "dup.tsv",
                "lang": "hau",
            },
        ],
    }
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(suite))

    class Oracle:
        """Embeds a text by its meaning: the two Hausa variants and their translation agree."""

        default_prompt_name = None
        similarity_fn_name = "cosine"

        def __init__(self) -> None:
            self.prompts = {"query": "query: ", "document": "passage: "}
            self.meaning = {t: i for i, pair in enumerate(rows) for t in pair}
            for text in rows[1]:  # the second row means what the first means
                self.meaning[text] = 0

        def encode(self, texts, prompt=None, **kwargs):
            import numpy as np

            out = np.zeros((len(texts), 8), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i, self.meaning[text.removeprefix(prompt or "")]] = 1.0
            return out

        encode_query = encode_document = encode

        def state_dict(self) -> dict:
            return {}

    result = evaluate_model(Oracle(), tmp_path / "dup.yaml", cache=False)
    for key in ("f1", "accuracy", "f1_tgt2src", "accuracy_tgt2src", "margin_accuracy"):
        assert result["mine"].metrics[key] == pytest.approx(1.0), key
    assert result["mine"].metrics["margin_accuracy_tgt2src"] == pytest.approx(1.0)
    assert result["find"].main_score == pytest.approx(1.0)
    assert result["find"].metrics["corpus_size"] == 3  # the shared translation is one document


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
    assert list((out / "mteb" / "results").rglob("mine.json"))


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
    names = [
        "semrel-hau-dev",
        "tatoeba-amh",
        "sib200-kin-eng",
        "sib200-kin-classification",
        "sib200-kin-clustering",
        "afrisenti-kin-dev",
        "americasnli-aym-dev",
        "xnli-swh-dev",
    ]
    result = evaluate_model(
        str(tiny_encoder_dir), "shared-dev", datasets=names, data_root=shared_data, limit=60
    )  # fmt: skip
    by_name = {r.name: r for r in result.datasets}
    assert set(by_name) == set(names)
    assert by_name["semrel-hau-dev"].n == 60 and by_name["semrel-hau-dev"].lang == "hau"
    assert (
        by_name["tatoeba-amh"].target_lang == "eng"
        and by_name["tatoeba-amh"].mteb_task == "Tatoeba"
    )
    assert by_name["sib200-kin-eng"].metrics["corpus_size"] <= 60
    assert by_name["sib200-kin-classification"].split == "validation"
    assert all(len(r.files) >= 1 for r in result.datasets)
    assert all(r.main_score is not None and 0 <= r.main_score <= 1 for r in result.datasets
               if r.task != "sts")  # fmt: skip
    assert set(result.tasks) == {"sts", "bitext", "retrieval", "classification", "clustering",
                                 "pair_classification"}  # fmt: skip


def test_data_sets_sharing_an_mteb_task_go_into_one_result_file(
    tmp_path: Path, tiny_encoder_dir: Path
) -> None:
    from mteb.results import TaskResult

    with open(tmp_path / "bitext.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target"])
        writer.writerows(zip(TINY_CORPUS[4:8], TINY_CORPUS[:4], strict=True))
    entry = {"task": "bitext", "format": "table", "path": "bitext.csv", "mteb_task": "Tatoeba"}
    suite = {
        "name": "grouped",
        "datasets": [
            {**entry, "name": "a", "lang": "hau", "hf_subset": "hau-eng"},
            {**entry, "name": "b", "lang": "kin", "hf_subset": "kin-eng"},
        ],
    }
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(suite))
    result = evaluate_model(str(tiny_encoder_dir), tmp_path / "g.yaml", cache=False)
    result.write(tmp_path / "out")
    (path,) = [p for p in (tmp_path / "out" / "mteb").rglob("*.json") if p.stem != "model_meta"]
    assert path.name == "Tatoeba.json"
    loaded = TaskResult.from_disk(path)
    subsets = {s["hf_subset"]: s for s in loaded.scores["test"]}
    assert set(subsets) == {"hau-eng", "kin-eng"}
    assert subsets["kin-eng"]["languages"] == ["kin-Latn", "eng-Latn"]
    assert subsets["hau-eng"]["main_score"] == pytest.approx(result["a"].main_score, abs=1e-6)
