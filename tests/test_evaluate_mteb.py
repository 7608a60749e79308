"""Parity with mteb: the same local files scored by mteb's own pipeline and by tripletforge.

For every task type, the test writes small data files, then

* the mteb side: a custom mteb task class whose ``load_data`` reads those files (with the
  standard library, not tripletforge's readers), run with ``mteb.evaluate`` and mteb's
  ``SentenceTransformerEncoderWrapper``, offline, results cache in a temporary folder;
* the tripletforge side: ``tripletforge evaluate`` on a suite naming the same files, one data
  set per run with ``--no-cache`` — so each text is embedded in the same batches as mteb embeds
  it (a cached embedding computed in another data set's batch can differ by float rounding,
  ~1e-7, which may flip a near-tie of a classifier);

and asserts the main scores agree to 1e-6. Two tiny models built by the test cover both prompt
layouts: the built-in e5's (``query``/``document`` prompts, no default) and a folder with a
default prompt (mteb then prefixes symmetric tasks too).
"""

from __future__ import annotations

import csv
import itertools
import json
import warnings
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TINY_CORPUS, build_tiny_encoder
from tripletforge.cli.main import app

mteb = pytest.importorskip("mteb")

TEXTS = [f"{a} {b}" for a, b in itertools.combinations(TINY_CORPUS, 2)][:48]
LABELS = ["sport", "home", "food"]
TASKS = (
    "sts",
    "bitext",
    "retrieval",
    "reranking",
    "classification",
    "clustering",
    "pair_classification",
)
MAX_DIFF: dict[str, float] = {}


def _write_csv(path: Path, header: list[str], rows: list, delimiter: str = ",") -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parity_data(tmp_path_factory.mktemp("parity-data"))


def write_parity_data(root: Path) -> Path:
    """Write the local files of every task type and the tripletforge suite naming them."""
    sts = [(TEXTS[i], TEXTS[(7 * i + 3) % 48], round((i * 13) % 21 / 4, 2)) for i in range(40)]
    _write_csv(root / "sts.csv", ["sentence1", "sentence2", "score"], sts)
    bitext = [(TEXTS[i], TEXTS[(i + 24) % 48]) for i in range(30)]
    _write_csv(root / "bitext.tsv", ["source", "target"], bitext, "\t")
    beir = root / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "top_ranked").mkdir()
    with open(beir / "corpus.jsonl", "w", encoding="utf-8") as handle:
        for i, text in enumerate(TEXTS):
            title = "Doc" if i % 5 == 0 else ""
            handle.write(json.dumps({"_id": f"d{i}", "title": title, "text": text}) + "\n")
    with open(beir / "queries.jsonl", "w", encoding="utf-8") as handle:
        for i in range(16):
            handle.write(json.dumps({"_id": f"q{i}", "text": TINY_CORPUS[i % 12] + f" {i}"}) + "\n")
    qrels = [(f"q{i}", f"d{(3 * i + j) % 48}", 1 + j) for i in range(16) for j in range(2)]
    _write_csv(beir / "qrels" / "test.tsv", ["query-id", "corpus-id", "score"], qrels, "\t")
    top = [(f"q{i}", f"d{(3 * i + j) % 48}") for i in range(16) for j in range(-2, 8)]
    _write_csv(beir / "top_ranked" / "test.tsv", ["query-id", "corpus-id"], top, "\t")
    labelled = [(TEXTS[i], LABELS[(i * 7) % 3]) for i in range(48)]
    _write_csv(root / "cls_train.csv", ["text", "label"], labelled[:30])
    _write_csv(root / "cls_test.csv", ["text", "label"], labelled[30:])
    _write_csv(root / "clusters.csv", ["text", "label"], labelled)
    nli = [(TEXTS[i], TEXTS[(5 * i + 1) % 48], ["entailment", "neutral", "contradiction"][i % 3])
           for i in range(45)]  # fmt: skip
    _write_csv(root / "nli.tsv", ["premise", "hypothesis", "label"], nli, "\t")
    suite = {
        "name": "parity",
        "datasets": [
            {"name": "sts", "task": "sts", "format": "table", "path": "sts.csv"},
            {"name": "bitext", "task": "bitext", "format": "table", "path": "bitext.tsv"},
            {"name": "retrieval", "task": "retrieval", "format": "beir", "root": "beir"},
            {"name": "reranking", "task": "reranking", "format": "beir", "root": "beir"},
            {
                "name": "classification",
                "task": "classification",
                "format": "table",
                "path": "cls_test.csv",
                "train_path": "cls_train.csv",
            },
            {"name": "clustering", "task": "clustering", "format": "table", "path": "clusters.csv"},
            {
                "name": "pair_classification",
                "task": "pair_classification",
                "format": "table",
                "path": "nli.tsv",
                "columns": {"sentence1": "premise", "sentence2": "hypothesis"},
            },
        ],
    }
    (root / "suite.yaml").write_text(yaml.safe_dump(suite))
    return root


@pytest.fixture(scope="module", params=["e5-prompts", "default-prompt"])
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"parity-{request.param}")
    if request.param == "e5-prompts":
        return build_tiny_encoder(folder, init_std=0.5)
    return build_tiny_encoder(
        folder,
        prompts={"query": "query: ", "passage": "passage: "},
        default_prompt_name="query",
        init_std=0.5,
    )


def run_ours(model_dir: Path, data_dir: Path, name: str, out: Path) -> dict:
    """``tripletforge evaluate`` of one suite data set: its results.json entry."""
    result = CliRunner().invoke(
        app,
        ["evaluate", "-m", str(model_dir), "-s", str(data_dir / "suite.yaml"), "-d", name,
         "--out", str(out), "--quiet", "--no-cache", "--data-root", str(data_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    (entry,) = data["datasets"]
    return entry


def _metadata(name: str, task_type: str, main_score: str, category: str = "t2t"):
    from mteb.abstasks.task_metadata import TaskMetadata

    return TaskMetadata(
        name=f"Parity{name}",
        description="Local parity data.",
        dataset={"path": f"local/{name}", "revision": "1"},
        type=task_type,
        category=category,
        modalities=["text"],
        eval_splits=["test"],
        eval_langs=["eng-Latn"],
        main_score=main_score,
    )


def _mteb_task(task: str, root: Path):
    """An mteb task class for ``task`` whose ``load_data`` reads the parity files."""
    from datasets import Dataset, DatasetDict
    from mteb.abstasks import (
        AbsTaskBitextMining,
        AbsTaskClassification,
        AbsTaskClustering,
        AbsTaskPairClassification,
        AbsTaskRetrieval,
        AbsTaskSTS,
    )

    def loaded(self, dataset) -> None:
        self.dataset = dataset
        self.data_loaded = True

    if task == "sts":
        rows = _read_csv(root / "sts.csv")
        scores = [float(r["score"]) for r in rows]

        class Sts(AbsTaskSTS):
            metadata = _metadata("STS", "STS", "cosine_spearman")
            min_score, max_score = min(scores), max(scores)

            def load_data(self, **kwargs) -> None:
                loaded(self, DatasetDict({"test": Dataset.from_dict({
                    "sentence1": [r["sentence1"] for r in rows],
                    "sentence2": [r["sentence2"] for r in rows], "score": scores})}))  # fmt: skip

        return Sts()
    if task == "bitext":
        rows = _read_csv(root / "bitext.tsv", "\t")

        class Bitext(AbsTaskBitextMining):
            metadata = _metadata("Bitext", "BitextMining", "f1")

            def load_data(self, **kwargs) -> None:
                loaded(self, DatasetDict({"test": Dataset.from_dict({
                    "sentence1": [r["source"] for r in rows],
                    "sentence2": [r["target"] for r in rows]})}))  # fmt: skip

        return Bitext()
    if task in ("retrieval", "reranking"):
        beir = root / "beir"
        corpus = [json.loads(line) for line in (beir / "corpus.jsonl").read_text().splitlines()]
        queries = [json.loads(line) for line in (beir / "queries.jsonl").read_text().splitlines()]
        qrels: dict[str, dict[str, int]] = {}
        for r in _read_csv(beir / "qrels" / "test.tsv", "\t"):
            qrels.setdefault(r["query-id"], {})[r["corpus-id"]] = int(r["score"])
        top: dict[str, list[str]] = {}
        for r in _read_csv(beir / "top_ranked" / "test.tsv", "\t"):
            top.setdefault(r["query-id"], []).append(r["corpus-id"])
        rerank = task == "reranking"

        class Retrieval(AbsTaskRetrieval):
            metadata = _metadata(
                task, "Reranking" if rerank else "Retrieval",
                "map_at_1000" if rerank else "ndcg_at_10",
            )  # fmt: skip

            def load_data(self, **kwargs) -> None:
                loaded(self, {"default": {"test": {
                    "corpus": Dataset.from_dict({"id": [d["_id"] for d in corpus],
                                                 "text": [d["text"] for d in corpus],
                                                 "title": [d["title"] for d in corpus]}),
                    "queries": Dataset.from_dict({"id": [q["_id"] for q in queries],
                                                  "text": [q["text"] for q in queries]}),
                    "relevant_docs": qrels,
                    "top_ranked": top if rerank else None}}})  # fmt: skip

        return Retrieval()
    if task == "classification":
        train, test = _read_csv(root / "cls_train.csv"), _read_csv(root / "cls_test.csv")
        ids = {name: i for i, name in enumerate(sorted(LABELS))}

        class Classification(AbsTaskClassification):
            metadata = _metadata("Classification", "Classification", "accuracy", "t2c")

            def load_data(self, **kwargs) -> None:
                loaded(self, DatasetDict({split: Dataset.from_dict({
                    "text": [r["text"] for r in rows],
                    "label": [ids[r["label"]] for r in rows]})
                    for split, rows in (("train", train), ("test", test))}))  # fmt: skip

        return Classification()
    if task == "clustering":
        rows = _read_csv(root / "clusters.csv")
        ids = {name: i for i, name in enumerate(sorted(LABELS))}

        class Clustering(AbsTaskClustering):
            metadata = _metadata("Clustering", "Clustering", "v_measure", "t2c")
            max_fraction_of_documents_to_embed = None

            def load_data(self, **kwargs) -> None:
                loaded(self, DatasetDict({"test": Dataset.from_dict({
                    "sentences": [r["text"] for r in rows],
                    "labels": [ids[r["label"]] for r in rows]})}))  # fmt: skip

        return Clustering()
    rows = [r for r in _read_csv(root / "nli.tsv", "\t") if r["label"] != "neutral"]

    class PairClassification(AbsTaskPairClassification):
        metadata = _metadata("PairClassification", "PairClassification", "max_ap")

        def load_data(self, **kwargs) -> None:
            loaded(self, DatasetDict({"test": Dataset.from_dict({
                "sentence1": [r["premise"] for r in rows],
                "sentence2": [r["hypothesis"] for r in rows],
                "labels": [int(r["label"] == "entailment") for r in rows]})}))  # fmt: skip

    return PairClassification()


@pytest.mark.parametrize("task", TASKS)
def test_main_score_matches_mteb_evaluate(
    task: str, model_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    from mteb.cache import ResultCache
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapped = SentenceTransformerEncoderWrapper(
            SentenceTransformer(str(model_dir), device="cpu")
        )
        result = mteb.evaluate(
            wrapped,
            _mteb_task(task, data_dir),
            cache=ResultCache(tmp_path / "mteb-cache"),
            show_progress_bar=False,
            co2_tracker=False,
        )
    theirs = result.task_results[0].scores["test"][0]
    mine = run_ours(model_dir, data_dir, task, tmp_path / "ours")
    assert mine["main_metric"] == _mteb_task(task, data_dir).metadata.main_score
    assert theirs["main_score"] is not None and mine["main_score"] is not None
    diff = abs(mine["main_score"] - theirs["main_score"])
    key = f"{task}[{model_dir.name.split('-', 1)[1].rstrip('0123456789')}]"
    MAX_DIFF[key] = diff
    print(f"parity {key}: ours {mine['main_score']:.8f} mteb {theirs['main_score']:.8f} "
          f"|diff| {diff:.2e}")  # fmt: skip
    assert mine["main_score"] == pytest.approx(theirs["main_score"], abs=1e-6)


@pytest.mark.slow
def test_default_encoder_on_real_semrel_dev_matches_mteb(shared_data: Path, tmp_path: Path) -> None:
    """The built-in e5-small on SemRel2024 hau dev: our score is mteb.evaluate's."""
    from datasets import Dataset, DatasetDict
    from mteb.abstasks import AbsTaskSTS
    from mteb.cache import ResultCache
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    from tripletforge.evaluate import evaluate_model
    from tripletforge.models import load_encoder

    path = shared_data / "semrel2024" / "Track_A" / "hau" / "hau_dev_with_labels.csv"
    rows = _read_csv(path)
    pairs = [[t.strip() for t in r["Text"].replace("\r\n", "\n").strip("\n").split("\n")]
             for r in rows]  # fmt: skip
    scores = [float(r["Score"]) for r in rows]

    class SemRelHau(AbsTaskSTS):
        metadata = _metadata("SemRelHau", "STS", "cosine_spearman")
        min_score, max_score = 0, 1

        def load_data(self, **kwargs) -> None:
            self.dataset = DatasetDict({"test": Dataset.from_dict({
                "sentence1": [p[0] for p in pairs], "sentence2": [p[1] for p in pairs],
                "score": scores})})  # fmt: skip
            self.data_loaded = True

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mteb.evaluate(
            SentenceTransformerEncoderWrapper(load_encoder("e5-small")),
            SemRelHau(),
            cache=ResultCache(tmp_path / "mteb-cache"),
            show_progress_bar=False,
            co2_tracker=False,
        )
    theirs = result.task_results[0].scores["test"][0]["main_score"]
    ours = evaluate_model(
        "e5-small", "shared-dev", datasets=["semrel-hau-dev"], data_root=shared_data, cache=False
    )
    assert ours["semrel-hau-dev"].n == len(pairs)
    print(f"parity e5-small semrel-hau-dev: ours {ours['semrel-hau-dev'].main_score:.8f} "
          f"mteb {theirs:.8f}")  # fmt: skip
    assert ours["semrel-hau-dev"].main_score == pytest.approx(theirs, abs=1e-6)
