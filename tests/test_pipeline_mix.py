"""Mix arms (`source: mix`): config errors, plan shape, one run end to end on tiny models
(batches never mix sources, the manifest records the mix, resume), and the prompt policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_pipeline import tiny_config, write_plugin
from tripletforge.pipeline import Runner, parse_config
from tripletforge.pipeline.config import ConfigError
from tripletforge.pipeline.context import RunContext
from tripletforge.pipeline.manifest import read_manifest
from tripletforge.pipeline.plan import build_plan
from tripletforge.report import build_report

MIX_SOURCES = [
    {"kind": "xllora", "path": "sample", "weight": 2, "limit": 12},
    {"kind": "nli", "weight": 1},
    {"kind": "parallel", "weight": 0.5},
    {"kind": "synthetic", "weight": 0.5},
]


@pytest.fixture()
def fake_backend(tmp_path: Path) -> Path:
    (tmp_path / "plugins").mkdir()
    return write_plugin(tmp_path / "plugins")


def mix_config(encoder: Path, runs: Path, **overrides) -> dict:
    arms = overrides.pop("arms", None) or [
        {"name": "icl", "generate": {"mode": "crosslingual"}},
        {"name": "mix", "source": "mix", "sources": MIX_SOURCES},
    ]
    fast = {  # one small evaluation data set and two α: the test is about the plumbing
        "evaluate": {"datasets": ["sib200-{lang}-eng-bitext"], "limit": 20, "batch_size": 64},
        "merge": {"grid": [0.0, 1.0]},
    }
    return tiny_config(encoder, runs, sizes=[16], arms=arms, **(fast | overrides))


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        ({"source": "mix"}, r"arms\[1=mix\]: .*needs `sources:`"),
        ({"source": "mix", "sources": [{"kind": "triplets"}]}, "needs `path:`"),
        ({"source": "mix", "sources": [{"kind": "xllora"}]}, "XL-LoRA data folder"),
        ({"source": "mix", "sources": [{"kind": "web"}]}, "xllora.*parallel.*nli"),
        ({"source": "mix", "sources": [{"kind": "nli", "weight": 0}]}, "greater than 0"),
        ({"source": "mix", "sources": [{"kind": "nli", "split": "x"}]}, "split: not a setting"),
        ({"source": "mix", "sources": [{"kind": "nli"}, {"kind": "nli"}]}, "listed twice"),
        ({"source": "mix", "sources": [{"kind": "nli"}], "path": "x"}, "from `sources:`"),
        ({"source": "parallel", "sources": [{"kind": "nli"}]}, "belongs to a mix arm"),
        ({"source": "mix", "sources": [{"kind": "synthetic", "arm": "nope"}]},
         r"sources\[0\]: arm 'nope' is not a synthetic arm"),
    ],
)  # fmt: skip
def test_mix_config_errors_name_the_field_and_fix(tmp_path: Path, fake_backend, arm, message):
    data = mix_config(tmp_path, tmp_path / "runs")
    data["arms"][1] = {"name": "mix", **arm}
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_synthetic_source_needs_a_generating_run(tmp_path: Path, fake_backend) -> None:
    data = mix_config(tmp_path, tmp_path / "runs")
    data["arms"] = [data["arms"][1]]
    with pytest.raises(ConfigError, match="this run generates none; add a synthetic arm"):
        parse_config(data)
    data["arms"][0]["sources"] = MIX_SOURCES[:3]
    config = parse_config(data)
    assert [s.label for s in config.arm("mix").sources] == ["xllora", "nli", "parallel"]
    assert config.arm("mix").sources[1].path == "snli-en"


def test_plan_one_train_for_all_languages_and_evaluates_per_language(
    tmp_path: Path, fake_backend
) -> None:
    config = parse_config(mix_config(tmp_path, tmp_path / "runs"))
    plan = build_plan(RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False))
    keys = [s.key for s in plan if s.arm == "mix"]
    assert keys == [
        "hau/mix/parallel/mine", "hau/mix/parallel/filter",
        "kin/mix/parallel/mine", "kin/mix/parallel/filter",
        "all/mix/16/train", "all/mix/16/merge", "hau/mix/16/evaluate", "kin/mix/16/evaluate",
    ]  # fmt: skip
    train = next(s for s in plan if s.key == "all/mix/16/train")
    assert {k: u.key for k, (u, _) in train.needs.items()} == {
        "parallel.hau": "hau/mix/parallel/filter",
        "synthetic-icl.hau": "hau/icl/filter",
        "parallel.kin": "kin/mix/parallel/filter",
        "synthetic-icl.kin": "kin/icl/filter",
    }
    assert {"xllora", "nli", "encoder"} <= set(train.external)
    evaluate = next(s for s in plan if s.key == "kin/mix/16/evaluate")
    assert {k: u.key for k, (u, _) in evaluate.needs.items()} == {
        "model": "all/mix/16/train",
        "merged": "all/mix/16/merge",
    }
    # the other arms keep their stage hashes: `sources` is left out of their params
    assert "sources" not in next(s for s in plan if s.key == "hau/icl/generate").params["arm"]


def test_mix_run_records_the_mix_resumes_and_reports(
    tiny_encoder_dir: Path, tmp_path: Path, fake_backend, monkeypatch
) -> None:
    from tripletforge.train import mixture

    seen: list[list[int]] = []
    real = mixture._weighted_sampler_class

    def spying() -> type:
        cls = real()

        class Spy(cls):  # type: ignore[misc, valid-type]
            def __iter__(self):
                for batch in super().__iter__():
                    seen.append(batch)
                    yield batch

        return Spy

    monkeypatch.setattr(mixture, "_weighted_sampler_class", spying)
    config = parse_config(mix_config(tiny_encoder_dir, tmp_path / "runs", languages=["hau"]))
    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "tiny"
    train = read_manifest(run / "all" / "mix" / "16" / "train")
    metrics = train["metrics"]
    sources = {s["name"]: s for s in metrics["sources"]}
    assert list(sources) == ["xllora", "nli", "parallel", "synthetic-icl"]
    # 16 rows by weight 2 : 1 : 0.5 : 0.5 → 8, 4, 2, 2 (xllora's limit 12 does not bind)
    assert {n: s["rows_used"] for n, s in sources.items()} == {
        "xllora": 8,
        "nli": 4,
        "parallel": 2,
        "synthetic-icl": 2,
    }
    assert sources["xllora"]["rows_available"] > 40 and sources["xllora"]["weight"] == 2
    assert sources["xllora"]["files"][0].endswith("_pos.csv")
    assert sources["parallel"]["by_language"] == {"hau": 2}
    assert sources["xllora"]["batch_share"] == 0.5 and sources["nli"]["batch_share"] == 0.25
    assert metrics["mixing"] == "weighted" and metrics["mix"].startswith("xllora 50% (8 rows)")
    assert metrics["prompt_policy"] == {"configured": "none", "applied": "none"}
    # batches never mix sources: every batch's indices lie in one set's range
    bounds = [0]
    for name in ("xllora", "nli", "parallel", "synthetic-icl"):
        bounds.append(bounds[-1] + sources[name]["rows_used"])
    assert seen
    for batch in seen:
        owners = {next(i for i in range(4) if bounds[i] <= x < bounds[i + 1]) for x in batch}
        assert len(owners) == 1, batch
    # the mine stages share one embedding cache (the English corpus is encoded once per run)
    (cache,) = (run / "cache" / "mine").iterdir()
    assert list(cache.glob("corpus_embeddings_*.npy"))
    # every training file is one source's
    rows = [json.loads(x) for x in (run / "all/mix/16/train/train-nli.jsonl").open()]
    assert len(rows) == 4 and all(r["lang"] == "eng" for r in rows)
    merge = read_manifest(run / "all" / "mix" / "16" / "merge")
    assert merge["status"] == "complete" and set(merge["metrics"]["dev_scores"]["0.0"]) == {"hau"}
    evaluate = read_manifest(run / "hau" / "mix" / "16" / "evaluate")
    assert set(evaluate["metrics"]) == {"trained", "merged"}
    report = build_report(run).markdown.read_text()
    assert "Source mixes" in report and "synthetic-icl" in report
    # resume: a rerun redoes nothing; a train stage left running resumes, the rest is skipped
    again = Runner(config, progress=False).run()
    assert {s.status for s in again.stages} == {"skipped"}
    manifest = run / "all" / "mix" / "16" / "train" / "manifest.json"
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(record | {"status": "running"}))
    third = Runner(config, progress=False).run()
    redone = sorted(s.key for s in third.stages if s.status == "done")
    assert redone == ["all/mix/16/merge", "all/mix/16/train", "hau/mix/16/evaluate"]
    assert read_manifest(run / "all" / "mix" / "16" / "train")["resumed"] is True


def test_prompt_policy_auto_trials_both_and_records_the_choice(
    tiny_encoder_dir: Path, tmp_path: Path, fake_backend
) -> None:
    data = mix_config(
        tiny_encoder_dir, tmp_path / "runs", languages=["hau"],
        arms=[{"name": "mix", "source": "mix", "sources": MIX_SOURCES[:2]}],
        merge={"enabled": False},
    )  # fmt: skip
    data["train"] |= {"prompt_policy": "auto", "prompt_trial_steps": 1}
    config = parse_config(data)
    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "tiny"
    policy = read_manifest(run / "all" / "mix" / "16" / "train")["metrics"]["prompt_policy"]
    assert policy["configured"] == "auto" and policy["applied"] in ("none", "query")
    assert set(policy["dev_scores"]) == {"none", "query"} and policy["trial_steps"] == 1
    assert not (run / "all/mix/16/train/model/.prompt-trials").exists()
    assert "prompt policy chosen on dev" in build_report(run).markdown.read_text()


def test_prompt_policy_query_prompts_symmetric_columns(tiny_encoder_dir: Path) -> None:
    from tripletforge.models import load_encoder
    from tripletforge.train.config import TrainConfig, TrainSettings
    from tripletforge.train.prompt_policy import symmetric_override

    model = load_encoder(str(tiny_encoder_dir))
    base = {"output_dir": "x", "train_files": ["t.jsonl"]}
    query = TrainConfig(**base, prompt_policy="query")
    assert symmetric_override(query, model) == model.prompts.get("query", "")
    assert symmetric_override(TrainConfig(**base), model) is None  # the evaluation's STS prompt
    with pytest.raises(ValueError, match="keep one of them"):
        TrainSettings(prompt="query: ", prompt_policy="query")


def test_train_encoder_auto_policy_scores_trials_on_the_dev_sets(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    import itertools

    from conftest import TINY_CORPUS
    from tripletforge.data.triplets import write_triplets
    from tripletforge.train import PROVENANCE_FILE, TrainConfig, train_encoder

    rows = [{"anchor": f"{a} {i}", "positive": TINY_CORPUS[(k + 1) % 12], "negative": a}
            for i, (k, a) in enumerate(enumerate(TINY_CORPUS * 2))]  # fmt: skip
    data = write_triplets(rows, tmp_path / "train.jsonl")
    dev = tmp_path / "dev.csv"
    pairs = enumerate(itertools.pairwise(TINY_CORPUS))
    dev.write_text(
        "sentence1,sentence2,score\n" + "".join(f'"{a} x","{b} y",{i}\n' for i, (a, b) in pairs)
    )
    cfg = TrainConfig(model=str(tiny_encoder_dir), train_files=[data], output_dir=tmp_path / "m",
                      batch_size=8, max_steps=2, save_steps=100, dev_set=dev,
                      prompt_policy="auto", prompt_trial_steps=1)  # fmt: skip
    out = train_encoder(cfg, progress=False)
    record = json.loads((out / PROVENANCE_FILE).read_text())["prompt_policy"]
    assert record["configured"] == "auto" and record["applied"] in ("none", "query")
    assert set(record["dev_scores"]) == {"none", "query"}
    assert json.loads((out / "prompt_policy.json").read_text())["policy"] == record["applied"]
    with pytest.raises(ValueError, match="give dev sets"):
        train_encoder(cfg.model_copy(update={"dev_set": None, "output_dir": tmp_path / "n"}))


def test_nusax_parallel_source_mines_real_pairs(
    tiny_encoder_dir: Path, tmp_path: Path, shared_data: Path, fake_backend
) -> None:
    from tripletforge.pipeline.preflight import preflight
    from tripletforge.pipeline.stages import run_mine

    nusax = {"kind": "parallel", "format": "nusax", "root": str(shared_data / "nusax")}
    data = tiny_config(tiny_encoder_dir, tmp_path / "runs", languages=["jav"], anchors=6,
                       sizes=[4], merge={"enabled": False},
                       arms=[{"name": "mix", "source": "mix", "sources": [nusax]}],
                       evaluate={"suite": "builtin", "datasets": ["*"], "limit": 5})  # fmt: skip
    with pytest.raises(ConfigError, match="needs `root:`"):
        parse_config(
            data | {"arms": [data["arms"][0] | {"sources": [{**nusax, "root": "sample"}]}]}
        )
    config = parse_config(data)
    ctx = RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False)
    with pytest.raises(ConfigError, match=r"arms\[0=mix\].sources\[0\].root: .*nusax"):
        bad = config.model_copy(deep=True)
        bad.arms[0].sources[0].root = str(tmp_path / "none")
        preflight(RunContext(bad, tmp_path / "runs" / "tiny", console=None, progress=False))
    mine = next(s for s in build_plan(ctx) if s.key == "jav/mix/parallel/mine")
    mine.inputs = {"pairs": mine.external["pairs"]()}
    folder = tmp_path / "mine"
    folder.mkdir()
    out = run_mine(ctx, mine, folder)
    rows = [json.loads(x) for x in out.outputs["triplets"].open()]
    assert out.metrics["pairs"] == 6 and rows and all(r["positive_lang"] == "eng" for r in rows)
    assert {r["lang"] for r in rows} == {"jav"}


def test_a_missing_xllora_folder_fails_before_anything_runs(
    tmp_path: Path, fake_backend, tiny_encoder_dir: Path
) -> None:
    from tripletforge.pipeline.preflight import preflight

    source = {"kind": "xllora", "path": str(tmp_path / "nonexistent"), "weight": 1.0}
    arms = [{"name": "mix", "source": "mix", "sources": [source]}]
    config = parse_config(mix_config(tiny_encoder_dir, tmp_path / "runs", arms=arms))
    with pytest.raises(ConfigError, match=r"arms\[0=mix\].sources\[0\].path: .*no such folder"):
        preflight(RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False))
