"""Scored pairs (`kind: scored`): labelled sentence pairs trained with CoSENT beside MNRL sets —
the reader contract, the config, the per-set loss, and a mix run that trains on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_pipeline_mix import fake_backend, mix_config  # noqa: F401  (fixture)
from tripletforge.data.scored import read_scored_rows, semrel_split_files
from tripletforge.pipeline import Runner, parse_config
from tripletforge.pipeline.config import ConfigError
from tripletforge.pipeline.context import RunContext
from tripletforge.pipeline.manifest import read_manifest
from tripletforge.pipeline.preflight import preflight

HAU = [
    ("Ina son ruwa.", "Ina son shan ruwa.", 0.9),
    ("Yaro ya tafi.", "Mota ja ce.", 0.1),
    ("Gida babba ne.", "Gidan yana da girma.", 0.8),
    ("Ruwa ya yi.", "Rana ta fito.", 0.3),
    ("Na ci abinci.", "Na sha shayi.", 0.5),
    ("Kasuwa ta cika.", "Mutane sun yi yawa.", 0.6),
    ("Littafi nawa ne.", "Wannan littafina ne.", 0.95),
    ("Doki ya gudu.", "Ya yi sanyi.", 0.05),
]


def semrel_folder(root: Path, lang: str = "hau", bad_rows: bool = True) -> Path:
    """A SemRel2024-shaped folder: Track_A/<lang>/<lang>_train.csv (Text = s1\\ns2)."""
    folder = root / "Track_A" / lang
    folder.mkdir(parents=True)
    lines = ["PairID,Text,Score"]
    lines += [f'{lang}-{i},"{a}\n{b}",{s}' for i, (a, b, s) in enumerate(HAU)]
    if bad_rows:
        lines += [f'{lang}-x1,"only one sentence",0.5', f'{lang}-x2,"a\nb",']
    (folder / f"{lang}_train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_semrel_rows_follow_the_contract_and_bad_rows_are_counted(tmp_path: Path) -> None:
    root = semrel_folder(tmp_path / "semrel")
    files = semrel_split_files(root, ["hau", "afr"])
    assert list(files) == ["hau"]  # afr has no train split: left out
    rows, skipped = read_scored_rows(list(files.values()), "semrel")
    assert len(rows) == len(HAU) and sum(skipped.values()) == 2
    assert rows[0] == {"anchor": "Ina son ruwa.", "positive": "Ina son shan ruwa.",
                       "score": 0.9, "lang": "hau", "task": "sts"}  # fmt: skip
    with pytest.raises(FileNotFoundError, match="no SemRel2024 train file for afr"):
        semrel_split_files(root, ["afr"])
    with pytest.raises(FileNotFoundError, match="no such folder"):
        semrel_split_files(tmp_path / "none", ["hau"])
    table = tmp_path / "mine.tsv"
    table.write_text("sentence1\tsentence2\tscore\na\tb\t4.5\nc\t\t1\n", encoding="utf-8")
    rows, skipped = read_scored_rows([table], "table")
    assert rows == [{"anchor": "a", "positive": "b", "score": 4.5, "lang": "und", "task": "sts"}]
    assert sum(skipped.values()) == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"kind": "scored"}, r"needs `path:` \(the SemRel2024 folder"),
        ({"kind": "scored", "path": "x", "format": "nusax"}, "use semrel or table"),
        ({"kind": "scored", "path": "x", "split": "dev"}, "`split: train` only"),
        ({"kind": "scored", "path": "x", "split": "dev_with_labels"}, "`split: train` only"),
        (
            {"kind": "scored", "path": "x.tsv", "format": "table", "languages": ["hau"]},
            "languages: a `format: table` scored source",
        ),
        ({"kind": "scored", "path": "x", "root": "y"}, "root: not a setting"),
        ({"kind": "parallel", "format": "semrel"}, "use sib200 or nusax"),
    ],
)
def test_scored_source_config_errors(tmp_path: Path, fake_backend, source, message) -> None:  # noqa: F811
    arms = [{"name": "mix", "source": "mix", "sources": [source]}]
    with pytest.raises(ConfigError, match=message):
        parse_config(mix_config(tmp_path, tmp_path / "runs", arms=arms))


def test_build_loss_gives_cosent_to_scored_sets_only(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    from sentence_transformers.sentence_transformer import losses

    from tripletforge.train import TrainConfig
    from tripletforge.train.config import TrainSet
    from tripletforge.train.mixture import LoadedSet
    from tripletforge.train.trainer import build_loss, prepare_model

    with pytest.raises(ValueError, match="exactly two text columns"):
        TrainSet(name="s", files=[tmp_path], score_column="score")
    scored = TrainSet(name="s", files=[tmp_path], columns=["anchor", "positive"],
                      score_column="score")  # fmt: skip
    plain = TrainSet(name="nli", files=[tmp_path])
    cfg = TrainConfig(model=str(tiny_encoder_dir), train_files=[tmp_path / "x.jsonl"],
                      output_dir=tmp_path / "m")  # fmt: skip
    model = prepare_model(cfg)
    both = build_loss(cfg, model, [LoadedSet(plain, []), LoadedSet(scored, [])])
    assert isinstance(both, dict) and set(both) == {"nli", "s"}
    assert isinstance(both["s"], losses.CoSENTLoss)
    assert isinstance(both["nli"], losses.MultipleNegativesRankingLoss)
    assert isinstance(build_loss(cfg, model, [LoadedSet(scored, [])]), losses.CoSENTLoss)


def test_mix_run_trains_on_scored_pairs_with_cosent(
    tiny_encoder_dir: Path,
    tmp_path: Path,
    fake_backend,  # noqa: F811
) -> None:
    root = semrel_folder(tmp_path / "semrel")
    sources = [{"kind": "scored", "path": str(root), "weight": 1}, {"kind": "nli", "weight": 1}]
    arms = [{"name": "mix", "source": "mix", "sources": sources}]
    guard = {"format": "sib200", "root": "sample", "tolerance": 100.0}
    data = mix_config(tiny_encoder_dir, tmp_path / "runs", arms=arms, languages=["hau", "kin"])
    data["merge"] |= {"guard": guard}
    config = parse_config(data)
    # a guard without data for any run language fails before anything runs
    bad = parse_config(data | {"merge": data["merge"] | {"guard": guard | {"root": "/nope"}}})
    with pytest.raises(ConfigError, match=r"merge.guard: no sib200 dev data for any of hau, kin"):
        preflight(RunContext(bad, tmp_path / "runs" / "tiny", console=None, progress=False))
    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "tiny"
    metrics = read_manifest(run / "all" / "mix" / "16" / "train")["metrics"]
    scored = next(s for s in metrics["sources"] if s["kind"] == "scored")
    # 16 rows split 8 : 8; kin has no SemRel train file here, so every scored row is Hausa
    assert scored["rows_used"] == 8 and scored["by_language"] == {"hau": 8, "kin": 0}
    assert scored["rows_available"] == len(HAU) and sum(scored["rows_skipped"].values()) == 2
    rows = [json.loads(x) for x in (run / "all/mix/16/train/train-scored.jsonl").open()]
    assert all(isinstance(r["score"], float) and r["task"] == "sts" for r in rows)
    model = run / "all" / "mix" / "16" / "train" / "model"
    prov = json.loads((model / "tripletforge_training.json").read_text())
    sets = {s["name"]: s for s in prov["mixture"]["sets"]}
    assert sets["scored"]["loss"] == "cosent" and sets["scored"]["columns"] == [
        "anchor",
        "positive",
    ]
    assert sets["nli"]["loss"] is None and sets["scored"]["task"] == "sts"
    from tripletforge.report import build_report

    report = build_report(run).markdown.read_text()
    assert "CoSENT" in report and "hau 8" in report and "8 / 8 / 8" in report
    assert "Merge guard" in report
    # the merge judged SemRel-style dev (here the SIB-200 sample) and was vetted by the guard
    merge = read_manifest(run / "all" / "mix" / "16" / "merge")["metrics"]
    assert merge["guard"]["languages"] == ["hau", "kin"] and merge["guard"]["tolerance"] == 100.0
    assert set(merge["guard"]["scores"]) == set(merge["dev_scores"]) == {"0.0", "1.0"}
    assert all(set(per) == {"hau", "kin"} for per in merge["guard"]["scores"].values())


def test_a_broken_table_source_fails_at_preflight(
    tiny_encoder_dir: Path,
    tmp_path: Path,
    fake_backend,  # noqa: F811
) -> None:
    utf16 = tmp_path / "pairs.csv"
    utf16.write_bytes("sentence1,sentence2,score\na,b,1\n".encode("utf-16"))
    empty = tmp_path / "empty.tsv"
    empty.write_text("sentence1\tsentence2\tscore\n\tb\tx\n", encoding="utf-8")
    for path, message in ((utf16, "give a UTF-8 CSV"), (empty, "no usable scored pair")):
        source = {"kind": "scored", "format": "table", "path": str(path)}
        arms = [{"name": "mix", "source": "mix", "sources": [source]}]
        config = parse_config(mix_config(tiny_encoder_dir, tmp_path / "runs", arms=arms))
        with pytest.raises(ConfigError, match=rf"arms\[0=mix\].sources\[0\].path: .*{message}"):
            preflight(RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False))
    # a SemRel folder without the run's languages: the source is named, not its path
    source = {"kind": "scored", "path": str(semrel_folder(tmp_path / "semrel", lang="amh"))}
    arms = [{"name": "mix", "source": "mix", "sources": [source]}]
    config = parse_config(mix_config(tiny_encoder_dir, tmp_path / "runs", arms=arms))
    with pytest.raises(ConfigError, match=r"arms\[0=mix\].sources\[0\]: no SemRel2024 train"):
        preflight(RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False))


def test_leakage_check_covers_english_dev_and_the_guard(
    tiny_encoder_dir: Path,
    tmp_path: Path,
    shared_data: Path,
    fake_backend,  # noqa: F811
) -> None:
    from tripletforge.pipeline.stages import eval_sentences

    merge = {"grid": [0.0, 1.0], "judge": "all",
             "dev": {"format": "semrel", "root": str(shared_data / "semrel2024")},
             "guard": {"format": "sib200", "root": str(shared_data / "sib200")}}  # fmt: skip
    config = parse_config(mix_config(tiny_encoder_dir, tmp_path / "runs", merge=merge,
                                     languages=["hau"]))  # fmt: skip
    sets = eval_sentences(RunContext(config, tmp_path / "r", console=None, progress=False), "hau")
    assert {"merge-dev-hau", "merge-dev-eng", "merge-guard-hau"} <= set(sets)
    assert len(sets["merge-dev-eng"]) >= 400 and len(sets["merge-guard-hau"]) >= 99


def test_scored_table_set_skips_bad_scores_at_their_file_line(tmp_path: Path) -> None:
    from tripletforge.train.config import TrainSet
    from tripletforge.train.mixture import read_set_rows

    table = tmp_path / "pairs.csv"
    table.write_text(
        "anchor,positive,score\n"
        "A dog runs.,An animal moves.,0.9\n"
        "A cat sleeps.,A pet rests.,high\n"
        '"Two\nlines",A quoted cell over two lines.,0.5\n'  # the reader skips it (lines 4-5)
        "Rain falls.,It is wet.,nan\n"
        "The sun is up.,It is day.,0.7\n",
        encoding="utf-8",
    )
    rows, (report,) = read_set_rows(
        TrainSet(name="s", files=[table], columns=["anchor", "positive"], score_column="score")
    )
    assert [r["score"] for r in rows] == [0.9, 0.7]
    assert sorted((bad.line, bad.reason.split(":")[0]) for bad in report.bad_rows) == [
        (3, "no usable score in 'score'"),
        (4, "malformed row"),
        (6, "no usable score in 'score'"),  # the file's line, not the row's position (5)
    ]
    assert report.rows_kept == 2
