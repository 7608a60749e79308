"""The pipeline end to end on tiny models (a scripted generator, a tiny random encoder)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tripletforge.cards import read_model_card
from tripletforge.pipeline import Runner, parse_config
from tripletforge.pipeline.manifest import read_manifest

#: A generator plugin: writes plausible English sentences chosen by a hash of the request, so
#: runs are deterministic; ``FAKE_GEN_DELAY`` seconds per batch slow it down for kill tests.
FAKE_BACKEND = """
import hashlib, os, time
from tripletforge.generate.backends import Backend, register_backend

SUBJECTS = ["The farmer", "A teacher", "The children", "An old woman", "The driver", "A nurse",
            "The soldiers", "A young man", "The fishermen", "My neighbour", "The pilot", "A cook"]
VERBS = ["is selling", "is carrying", "is painting", "is repairing", "is washing", "is buying",
         "is cleaning", "is watching", "is cooking", "is reading"]
OBJECTS = ["green maize", "a red bicycle", "the old radio", "fresh fish", "a wooden door",
           "two goats", "the school roof", "a blue car", "a big pot", "the morning paper"]

class FakeBackend(Backend):
    name = "fake"

    def __init__(self, model, **options):
        super().__init__()
        self.model_id = "fake"
        self.supports_chat = False

    def generate(self, requests, sampling):
        time.sleep(float(os.environ.get("FAKE_GEN_DELAY", "0")))
        out = []
        for r in requests:
            h = int(hashlib.sha256(f"{r.seed_id}|{r.pass_}".encode()).hexdigest(), 16)
            words = [SUBJECTS[h % 12], VERBS[(h >> 8) % 10], OBJECTS[(h >> 16) % 10]]
            if r.pass_ == "negative":
                words[1] = "is not " + words[1].split()[1]
            out.append(" " + " ".join(words) + " today.")
            self.tokens_generated += 8
        return out

register_backend("fake", "fake_tf_backend:FakeBackend")
"""


def write_plugin(folder: Path) -> Path:
    (folder / "fake_tf_backend.py").write_text(FAKE_BACKEND)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder


def tiny_config(encoder: Path, runs: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "tiny",
        "runs_dir": str(runs),
        "languages": ["hau", "kin"],
        "anchors": 20,
        "sizes": [8, 16],
        "encoder": str(encoder),
        "imports": ["fake_tf_backend"],
        "arms": [
            {"name": "icl", "source": "synthetic", "generate": {"mode": "crosslingual"}},
            {"name": "parallel", "source": "parallel"},
        ],
        "generate": {"backend": "fake", "model": "fake", "k": 1, "chunk_size": 4},
        "filter": {"filters": ["length", "copy", "langid", "dedup"], "teacher": None},
        "mine": {"range_min": 2, "range_max": 10, "batch_size": 16, "relative_margin": None},
        "train": {"batch_size": 4, "max_seq_length": 32, "save_steps": 1, "learning_rate": 1e-3},
        "merge": {"grid": [0.0, 0.5, 1.0]},
        "evaluate": {"limit": 40, "batch_size": 64},
    }
    config.update(overrides)
    return config


@pytest.fixture()
def plugin(tmp_path: Path) -> Path:
    return write_plugin(
        tmp_path / "plugins" if (tmp_path / "plugins").mkdir() is None else tmp_path
    )


def test_pipeline_two_languages_two_arms(tiny_encoder_dir: Path, tmp_path: Path, plugin) -> None:
    config = parse_config(tiny_config(tiny_encoder_dir, tmp_path / "runs"))
    summary = Runner(config, progress=False).run()
    bad = [(s.key, s.error) for s in summary.stages if s.status != "done"]
    assert summary.ok, bad
    run = tmp_path / "runs" / "tiny"
    for lang in ("hau", "kin"):
        base = read_manifest(run / lang / "base" / "evaluate")
        assert base and base["metrics"]["base"]["main_task"] == "retrieval"
        for arm in ("icl", "parallel"):
            for size in (8, 16):
                folder = run / lang / arm / str(size)
                train = read_manifest(folder / "train")
                assert train["metrics"]["rows"] == size
                merge = read_manifest(folder / "merge")["metrics"]
                assert merge["alpha"] in (0.0, 0.5, 1.0) and set(merge["dev_scores"]) == {
                    "0.0",
                    "0.5",
                    "1.0",
                }
                assert all(f.endswith("dev.tsv") for f in merge["dev_files"])
                ev = read_manifest(folder / "evaluate")
                assert set(ev["metrics"]) == {"trained", "merged"}
                assert ev["inputs"]["model"]["sha256"] == train["outputs"]["model"]["sha256"]
                card, results = read_model_card(folder / "train" / "model")
                assert card is not None and card.languages == [lang]
                assert card.training_data["arm"] == arm
                assert card.command.startswith("tripletforge run")
                assert card.training_data["trained_on"] == size and results  # model-index
                assert {r.dataset_split for r in results} == {"test"}
    gen = read_manifest(run / "hau" / "icl" / "generate")
    assert gen["config_hash"] and gen["versions"]["torch"] and gen["seed"] == 0
    assert gen["inputs"]["seed_file"]["path"].endswith("hau_Latn/train.tsv")
    funnel = read_manifest(run / "hau" / "icl" / "filter")["metrics"]["funnel"]
    assert [s["filter"] for s in funnel] == ["length", "copy", "langid", "dedup", "leakage"]

    # a second run skips everything; --force train redoes training and what depends on it
    again = Runner(config, progress=False).run()
    assert {s.status for s in again.stages} == {"skipped"}
    forced = Runner(config, progress=False, force=["hau/icl/8/train"]).run()
    redone = sorted(s.key for s in forced.stages if s.status == "done")
    assert "hau/icl/8/train" in redone and all(k.startswith("hau/icl/8/") for k in redone)

    from tripletforge.report import build_report

    paths = build_report(run)
    text = paths.markdown.read_text()
    assert "](../hau/icl/16/evaluate/manifest.json)" in text
    assert set(paths.plots) == {"main_by_arm", "scaling", "alignment_uniformity", "funnel",
                                "merge_tradeoff"}  # fmt: skip
    assert "data:image/png;base64," in paths.html.read_text()
    assert len(paths.main_score_lines()) == 2


def test_dev_scorers_read_dev_splits_only(tiny_encoder_dir: Path, shared_data: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from tripletforge.pipeline.config import DevSettings
    from tripletforge.pipeline.dev import dev_scorer

    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    scorer, files = dev_scorer(DevSettings(), ["hau"])
    assert files and all(f.endswith("dev.tsv") for f in files)
    assert 0.0 <= scorer(model)["hau"] <= 100.0
    root = str(shared_data / "semrel2024")
    scorer, files = dev_scorer(DevSettings(format="semrel", root=root), ["hau"])
    assert [Path(f).name for f in files] == ["hau_dev_with_labels.csv"]
    assert -100.0 <= scorer(model)["hau"] <= 100.0


def test_pipeline_merge_soup_judges_every_language(
    tiny_encoder_dir: Path, tmp_path: Path, plugin
) -> None:
    """merge.soup keeps the training checkpoints and soups each judged language's best before
    the α search; every language of the run is judged (SIB-200 dev has no English score)."""
    config = parse_config(
        tiny_config(
            tiny_encoder_dir, tmp_path / "runs", sizes=[8],
            arms=[{"name": "icl", "source": "synthetic", "generate": {"mode": "crosslingual"}}],
            merge={"grid": [0.0, 1.0], "soup": True, "tolerance": {"kin": 100.0, "*": 100.0}},
        )
    )  # fmt: skip
    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "tiny"
    for lang in ("hau", "kin"):
        folder = run / lang / "icl" / "8"
        checkpoints = sorted(p.name for p in (folder / "train/model/checkpoints").iterdir())
        assert checkpoints == ["checkpoint-1", "checkpoint-2"]  # 8 rows, batch 4, save_steps 1
        merge = read_manifest(folder / "merge")["metrics"]
        assert merge["dev_languages"] == ["hau", "kin"]
        assert set(merge["dev_scores"]["1.0"]) == {"hau", "kin"}
        soup = merge["soup"]
        assert set(soup["best"]) == {"hau", "kin"} and set(soup["scores"]) == {
            str(folder / "train/model/checkpoints" / c) for c in checkpoints
        }
        assert soup["dev_last"] == soup["scores"][soup["last"]]
        # the soup encodes as the final model does (checkpoints keep the training length, 32)
        from sentence_transformers import SentenceTransformer

        final = SentenceTransformer(str(folder / "train/model"), device="cpu").max_seq_length
        assert SentenceTransformer(soup["model"], device="cpu").max_seq_length == final != 32
        assert merge["admissible"] == [0.0, 1.0] and merge["serves_all"]  # 100 points of slack
        assert merge["alpha"] == merge["best_mean_alpha"] and merge["payers"] == {}
        assert merge["tolerance"] == {"hau": 100.0, "kin": 100.0}
        ev = read_manifest(folder / "evaluate")
        assert set(ev["metrics"]) == {"trained", "merged"}
    from tripletforge.report import build_report

    assert "merge_tradeoff" in build_report(run).plots
