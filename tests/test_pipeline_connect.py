"""A connected arm (LUSIFER) in `tripletforge run`: config, plan, English-only run, report.

Tiny models only: the run's encoder is the session's tiny BERT, the target another tiny BERT
of another width (as in test_connect.py); the connector trains 3 + 2 steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import build_tiny_encoder
from test_connect import ENGLISH, ENGLISH_TRIPLETS, FOREIGN, _write_jsonl, build_tiny_decoder
from tripletforge.connect import ConnectedEncoder, english_problem
from tripletforge.connect.targets import LoadedTransformer
from tripletforge.pipeline import ConfigError, Runner, parse_config
from tripletforge.pipeline.context import RunContext
from tripletforge.pipeline.manifest import read_manifest
from tripletforge.pipeline.plan import build_plan

#: ConnectSettings overrides that train in a second or two (tiny models, 3 + 2 steps).
TINY_CONNECT = {
    "max_seq_length": 32,
    "connector": {"num_learned_tokens": 3, "hidden_dim": 24},
    "align": {"max_steps": 3, "batch_size": 4, "max_seq_length": 32, "log_every": 1},
    "finetune": {"max_steps": 2, "batch_size": 4, "max_seq_length": 32},
    "device": "cpu",
}


@pytest.fixture(scope="module")
def tiny_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("connect-target") / "target", hidden=48)


def connected_config(encoder: Path, target: Path, runs: Path, **overrides: Any) -> dict:
    connect = {**TINY_CONNECT, "target": str(target), **overrides.pop("connect", {})}
    config: dict[str, Any] = {
        "name": "conn",
        "runs_dir": str(runs),
        "languages": ["hau", "kin"],
        "encoder": str(encoder),
        "arms": [{"name": "lus", "source": "connected", "connect": connect}],
        "evaluate": {"limit": 40, "batch_size": 64},
    }
    return config | overrides


def _keys(config: dict) -> list[str]:
    import rich

    cfg = parse_config(config)
    ctx = RunContext(cfg, cfg.run_dir(), rich.get_console(), progress=False)
    return [s.key for s in build_plan(ctx)]


def test_plan_one_english_connect_stage_and_per_language_evaluations(tmp_path: Path) -> None:
    config = connected_config(Path("enc"), Path("tgt"), tmp_path)
    config["arms"].append({"name": "icl", "generate": {"mode": "crosslingual"}})
    config |= {"sizes": [8], "anchors": 8, "train": {"batch_size": 4}}
    import rich

    cfg = parse_config(config)
    plan = build_plan(RunContext(cfg, tmp_path, rich.get_console(), progress=False))
    keys = [s.key for s in plan]
    assert keys[0] == "connect/lus/connect"
    assert [k for k in keys if "/lus" in k] == [
        "connect/lus/connect",
        "hau/lus/target/evaluate",
        "hau/lus/evaluate",
        "kin/lus/target/evaluate",
        "kin/lus/evaluate",
    ]
    assert "hau/base/evaluate" in keys and "hau/icl/8/train" in keys  # the other arms as before
    generate = next(s for s in plan if s.key == "hau/icl/generate")
    assert "connect" not in generate.params["arm"]  # hashes of runs made before: unchanged
    connect = plan[0]
    assert connect.lang == "eng" and not connect.needs
    assert set(connect.external) == {"encoder", "target", "data"}  # nothing of a language
    settings = connect.params["connect"]
    assert settings["encoder"] == "enc" and settings["target"] == "tgt"  # the run's encoder
    assert settings["seed"] == cfg.seed and settings["align"]["max_steps"] == 3
    connected = next(s for s in plan if s.key == "hau/lus/evaluate")
    assert connected.needs == {"connected": (connect, "model")}
    target = next(s for s in plan if s.key == "hau/lus/target/evaluate")
    assert not target.needs and target.params["target"] == {"model": "tgt", "pooling": "auto"}
    assert "encoder" not in target.params  # the run's encoder does not change the target alone

    # a connector on another encoder than the run's: that encoder alone is evaluated too
    other = connected_config(Path("enc"), Path("tgt"), tmp_path, connect={"encoder": "other"})
    assert [k for k in _keys(other) if k.startswith("hau/lus")] == [
        "hau/lus/target/evaluate",
        "hau/lus/encoder/evaluate",
        "hau/lus/evaluate",
    ]


@pytest.mark.parametrize(
    ("arm", "config", "expected"),
    [
        (
            {"connect": {"align": {"epochz": 3}}},
            {},
            "arms[0=lus]: connect.align.epochz: unknown field; use one of: objective, data,",
        ),
        ({"connect": {"targett": "x"}}, {}, "connect.targett: unknown field; use one of: encoder,"),
        ({"connect": {"align": {"epochs": -1}}}, {}, "connect.align.epochs: Input should be"),
        ({"tasks": ["nli"]}, {}, "tasks: an arm with `source: connected` has no triplets"),
        ({"strategy": "icl"}, {}, "strategy: an arm with `source: connected` has no triplets"),
    ],
)
def test_connected_arm_config_errors_name_the_field(arm: dict, config: dict, expected: str) -> None:
    data = connected_config(Path("enc"), Path("tgt"), Path("runs"))
    data["arms"][0] |= arm
    with pytest.raises(ConfigError) as info:
        parse_config(data | config, "bad.yaml")
    assert expected in str(info.value), str(info.value)


def test_connect_belongs_to_connected_arms_and_sizes_to_trained_ones() -> None:
    data = connected_config(Path("enc"), Path("tgt"), Path("runs"))
    assert parse_config(data).sizes == []  # only connected arms: no sizes needed
    with pytest.raises(ConfigError, match=r"arms\[0=icl\]: `connect:` belongs to a connected"):
        parse_config({**data, "sizes": [8], "arms": [{"name": "icl", "connect": {"seed": 1}}]})
    with pytest.raises(ConfigError, match=r"sizes: arms \['icl'\] train .* add `sizes: \.\.\.`"):
        parse_config({**data, "arms": [*data["arms"], {"name": "icl"}]})


def test_connected_arm_runs_english_only_reports_and_resumes(
    tiny_encoder_dir: Path, tiny_target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: one English-only connect stage, per-language evaluations of the connected
    model and the target alone, the report's rows; a second run skips everything."""
    from tripletforge.pipeline import stages as stage_functions

    align = tmp_path / "align.txt"
    align.write_text("\n".join([*ENGLISH, *FOREIGN]) + "\n", encoding="utf-8")
    mixed = [*ENGLISH_TRIPLETS, {"anchor": FOREIGN[0], "positive": ENGLISH[0],
                                 "negative": ENGLISH[1]}]  # fmt: skip
    triplets = _write_jsonl(tmp_path / "triplets.jsonl", mixed)
    connect = {"align": {**TINY_CONNECT["align"], "data": [str(align)]},
               "finetune": {**TINY_CONNECT["finetune"], "data": [str(triplets)]}}  # fmt: skip
    config = parse_config(
        connected_config(tiny_encoder_dir, tiny_target, tmp_path / "runs", connect=connect)
    )

    # every text the connect stage trains on, seen at both ends' tokenizer calls
    seen: list[str] = []
    training = {"on": False}
    original_preprocess, original_embed = ConnectedEncoder.preprocess, LoadedTransformer.embed

    def spy_preprocess(self, inputs, prompt=None, **kwargs):
        if training["on"]:
            seen.extend(str(t) for t in inputs)
        return original_preprocess(self, inputs, prompt, **kwargs)

    def spy_embed(self, texts, max_length):
        if training["on"]:
            seen.extend(texts)
        return original_embed(self, texts, max_length)

    def connect_stage(ctx, stage, folder):
        training["on"] = True
        try:
            return stage_functions.run_connect(ctx, stage, folder)
        finally:
            training["on"] = False

    monkeypatch.setattr(ConnectedEncoder, "preprocess", spy_preprocess)
    monkeypatch.setattr(LoadedTransformer, "embed", spy_embed)
    monkeypatch.setitem(stage_functions.STAGES, "connect", connect_stage)

    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    assert seen, "the spies saw no training text"
    assert not set(seen) & set(FOREIGN)
    assert not {t: p for t in set(seen) if (p := english_problem(t))}, "non-English trained on"

    run = tmp_path / "runs" / "conn"
    connect_manifest = read_manifest(run / "connect" / "lus" / "connect")
    assert connect_manifest and connect_manifest["status"] == "complete"
    english = connect_manifest["metrics"]["english_only"]
    assert english["align"]["refused"] == len(FOREIGN) and english["finetune"]["refused"] == 1
    assert connect_manifest["metrics"]["align_steps"] == 3
    assert connect_manifest["metrics"]["finetune_steps"] == 2
    assert set(connect_manifest["inputs"]) == {"encoder", "target", "data"}
    model = connect_manifest["outputs"]["model"]
    for lang in ("hau", "kin"):
        connected = read_manifest(run / lang / "lus" / "evaluate")
        assert set(connected["metrics"]) == {"connected"}
        assert connected["inputs"]["connected"]["sha256"] == model["sha256"]
        assert connected["metrics"]["connected"]["main"] is not None
        target = read_manifest(run / lang / "lus" / "target" / "evaluate")
        assert set(target["metrics"]) == {"target"}
        assert target["metrics"]["target"]["main"] is not None
        base = read_manifest(run / lang / "base" / "evaluate")  # the encoder alone
        assert base["metrics"]["base"]["main"] is not None

    from tripletforge.report import build_report

    paths = build_report(run)
    text = paths.markdown.read_text()
    assert "| hau | lus: target alone | – |" in text and "| hau | lus: connected | – |" in text
    assert "## Connected models (LUSIFER, trained on English only)" in text
    assert "](../connect/lus/connect/manifest.json)" in text
    assert not paths.data.stale
    lines = paths.main_score_lines()
    assert len(lines) == 2 and all("lus: target alone" in x and ", connected" in x for x in lines)

    again = Runner(config, progress=False).run()
    assert {s.status for s in again.stages} == {"skipped"}, [
        (s.key, s.status) for s in again.stages
    ]


def test_target_alone_is_pooled_as_the_connected_model_pools_it(
    tiny_target: Path, tmp_path: Path
) -> None:
    """The 'target alone' row: a sentence-transformers folder as it is; another pooling or a
    plain transformers model (a decoder) embedded exactly as the alignment's teacher does."""
    import numpy as np
    import torch

    from tripletforge.connect.targets import load_transformer, standalone_model

    assert standalone_model(str(tiny_target)) == str(tiny_target)
    decoder = build_tiny_decoder(tmp_path / "decoder")
    for name, pooling in ((str(tiny_target), "cls"), (str(decoder), "lasttoken"),
                          (str(decoder), "auto")):  # fmt: skip
        model = standalone_model(name, pooling)
        teacher = load_transformer(name, pooling)
        teacher.model.eval()  # as alignment runs it (no dropout)
        with torch.no_grad():
            expected = teacher.embed(ENGLISH[:3], max_length=64).numpy()  # no truncation
        got = model.encode(ENGLISH[:3], convert_to_numpy=True)
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=f"{name} {pooling}")
    with pytest.raises(ValueError, match="unknown pooling"):
        standalone_model(str(tiny_target), "max")
