"""Mixed training: named sets, batches that never mix sets, prompts per column, weights."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from tripletforge.cards import read_model_card
from tripletforge.cli.main import app
from tripletforge.data.triplets import write_triplets
from tripletforge.train import PROVENANCE_FILE, TrainConfig, train_encoder
from tripletforge.train.config import TrainSet
from tripletforge.train.mixture import largest_remainder

#: the e5 layout of the tiny encoder: query/passage prompts, no default prompt
QUERY, PASSAGE = "query: ", "passage: "


def rows(tag: str, n: int, task: str | None = None, columns=("anchor", "positive", "negative")):
    out = []
    for i in range(n):
        row: dict[str, Any] = {c: f"{tag} {c} {i}" for c in columns}
        if task:
            row["task"] = task
        out.append(row)
    return out


@pytest.fixture()
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, list[str]]]:
    """Every (prompt, texts) the trainer's data collator tokenises, in order (one call per
    column of each training batch; encodes outside the collator are not recorded)."""
    from sentence_transformers.base.data_collator import BaseDataCollator

    calls: list[tuple[str | None, list[str]]] = []
    inside = [False]
    preprocess, collate = SentenceTransformer.preprocess, BaseDataCollator.__call__

    def recording_preprocess(self, inputs, prompt=None, **kwargs):
        if inside[0]:
            calls.append((prompt, [str(t) for t in inputs]))
        return preprocess(self, inputs, prompt=prompt, **kwargs)

    def recording_collate(self, features):
        inside[0] = True
        try:
            return collate(self, features)
        finally:
            inside[0] = False

    monkeypatch.setattr(SentenceTransformer, "preprocess", recording_preprocess)
    monkeypatch.setattr(BaseDataCollator, "__call__", recording_collate)
    return calls


def batches(calls: list[tuple[str | None, list[str]]], columns: int = 3) -> list[list[tuple]]:
    """The collator's calls grouped per batch (one call per column)."""
    return [calls[i : i + columns] for i in range(0, len(calls), columns)]


def settings(**kw: Any) -> dict[str, Any]:
    return {"batch_size": 4, "max_steps": -1, "epochs": 1, "learning_rate": 1e-3,
            "save_steps": 1000, "logging_steps": 1} | kw  # fmt: skip


@pytest.fixture()
def two_tasks(tmp_path: Path) -> tuple[Path, Path]:
    nli = write_triplets(rows("nli", 16, "nli"), tmp_path / "nli.jsonl")
    ret = write_triplets(rows("ret", 8, "retrieval"), tmp_path / "ret.jsonl")
    return nli, ret


@pytest.mark.parametrize("mixing", ["proportional", "round_robin", "weighted"])
def test_batches_never_mix_sets_and_prompts_follow_each_column(
    tiny_encoder_dir: Path, tmp_path: Path, two_tasks, recorded, mixing: str
) -> None:
    nli, ret = two_tasks
    sets = [TrainSet(name="nli", files=[nli]), TrainSet(name="search", files=[ret], weight=3)]
    config = TrainConfig(model=str(tiny_encoder_dir), train_sets=sets, mixing=mixing,
                         output_dir=tmp_path / "out", **settings())  # fmt: skip
    out = train_encoder(config, progress=False)
    seen = Counter()
    for batch in batches(recorded):
        (pa, anchors), (pp, positives), (pn, negatives) = batch
        tags = {t.split()[0] for t in anchors + positives + negatives}
        assert len(tags) == 1, batch  # every text of a batch comes from one set
        tag = tags.pop()
        seen[tag] += 1
        assert [t.split()[1] for t in anchors] == ["anchor"] * len(anchors)
        if tag == "ret":  # retrieval columns: query and passage prompts of the encoder
            assert (pa, pp, pn) == (QUERY, PASSAGE, PASSAGE)
        else:  # symmetric: the policy's STS prompt, none for e5
            assert (pa, pp, pn) == (None, None, None)
    expected = {"proportional": {"nli": 4, "ret": 2}, "round_robin": {"nli": 2, "ret": 2},
                "weighted": {"nli": 2, "ret": 4}}[mixing]  # fmt: skip
    assert dict(seen) == expected
    prov = json.loads((out / PROVENANCE_FILE).read_text())
    assert prov["mixture"]["mixing"] == mixing
    by_name = {s["name"]: s for s in prov["mixture"]["sets"]}
    assert by_name["search"]["task"] == "retrieval" and by_name["search"]["weight"] == 3
    assert by_name["search"]["prompts"] == {"anchor": QUERY, "positive": PASSAGE,
                                             "negative": PASSAGE}  # fmt: skip
    assert by_name["nli"]["rows"] == 16 and prov["training_prompt"]["nli"] == {}
    card, _ = read_model_card(out)
    assert card.training_data["mixture"]["sets"]["search"]["weight"] == 3
    assert card.training_data["by_task"] == {"nli": 16, "retrieval": 8}


def test_weighted_share_is_the_largest_remainder_of_the_weights() -> None:
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert largest_remainder(6, [1, 3]) == [2, 4]
    assert largest_remainder(7, [2.5, 1, 0.5]) == [4, 2, 1]
    assert sum(largest_remainder(97, [0.3, 0.2, 0.5])) == 97


def test_train_files_of_several_tasks_become_one_set_per_task(
    tiny_encoder_dir: Path, tmp_path: Path, two_tasks, recorded
) -> None:
    nli, ret = two_tasks
    config = TrainConfig(model=str(tiny_encoder_dir), train_files=[nli, ret],
                         output_dir=tmp_path / "out", **settings())  # fmt: skip
    out = train_encoder(config, progress=False)
    prov = json.loads((out / PROVENANCE_FILE).read_text())
    names = [(s["name"], s["rows"]) for s in prov["mixture"]["sets"]]
    assert names == [("nli", 16), ("retrieval", 8)]
    assert prov["mixture"]["mixing"] == "proportional"
    assert {p for p, texts in recorded if texts[0].startswith("ret anchor")} == {QUERY}


def test_one_nli_file_trains_as_before_with_one_prompt(
    tiny_encoder_dir: Path, tmp_path: Path, recorded
) -> None:
    data = write_triplets(rows("nli", 8), tmp_path / "nli.jsonl")
    config = TrainConfig(model=str(tiny_encoder_dir), train_files=[data],
                         output_dir=tmp_path / "out", prompt="sts: ", **settings())  # fmt: skip
    out = train_encoder(config, progress=False)
    prov = json.loads((out / PROVENANCE_FILE).read_text())
    assert prov["training_prompt"] == "sts: " and prov["mixture"]["mixing"] is None
    assert {p for p, _ in recorded} == {"sts: "}
    from tripletforge.train.data import data_hash

    assert prov["data_sha256"] == data_hash(rows("nli", 8))


def test_a_set_of_pairs_with_its_own_columns_roles_and_prompts(
    tiny_encoder_dir: Path, tmp_path: Path, recorded
) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("sent0,sent1\n" + "".join(f"src {i},tgt {i}\n" for i in range(8)))
    nli = write_triplets(rows("nli", 8), tmp_path / "nli.jsonl")
    sets = [
        TrainSet(name="xlora", files=[pairs], columns=["sent0", "sent1"],
                 roles={"sent0": "query", "sent1": "document"}),
        TrainSet(name="nli", files=[nli], prompts={"anchor": "premise: "}),
    ]  # fmt: skip
    config = TrainConfig(model=str(tiny_encoder_dir), train_sets=sets,
                         output_dir=tmp_path / "out", **settings())  # fmt: skip
    train_encoder(config, progress=False)
    prompts = {(p, texts[0].split()[0]) for p, texts in recorded}
    assert prompts == {(QUERY, "src"), (PASSAGE, "tgt"), ("premise: ", "nli"), (None, "nli")}


def test_bad_mixtures_are_refused_with_the_fix(tmp_path: Path) -> None:
    data = write_triplets(rows("nli", 4), tmp_path / "nli.jsonl")
    with pytest.raises(ValueError, match="exactly one of them"):
        TrainConfig(output_dir=tmp_path / "o")
    with pytest.raises(ValueError, match="exactly one of them"):
        TrainConfig(output_dir=tmp_path / "o", train_files=[data],
                    train_sets=[TrainSet(name="a", files=[data])])  # fmt: skip
    with pytest.raises(ValueError, match=r"names \['a'\] appear twice"):
        TrainConfig(output_dir=tmp_path / "o", train_sets=[TrainSet(name="a", files=[data])] * 2)


def test_cli_trains_named_sets_from_its_config(
    tiny_encoder_dir: Path, tmp_path: Path, two_tasks
) -> None:
    nli, ret = two_tasks
    config = tmp_path / "mix.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_encoder_dir), "batch_size": 4, "save_steps": 1000,
        "train_sets": [{"name": "nli", "files": [str(nli)]},
                       {"name": "search", "files": [str(ret)], "task": "retrieval", "weight": 2}],
    }))  # fmt: skip
    result = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "m"), "--config", str(config),
                                      "--mixing", "weighted", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    prov = json.loads((tmp_path / "m" / PROVENANCE_FILE).read_text())
    assert prov["mixture"]["mixing"] == "weighted"
    assert [s["weight"] for s in prov["mixture"]["sets"]] == [1.0, 2.0]
    missing = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "give triplet files" in missing.output
