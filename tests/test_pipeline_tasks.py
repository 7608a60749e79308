"""Arms with `tasks:`: config, plan (shared generation), and a tiny run end to end."""

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


@pytest.fixture()
def fake_backend(tmp_path: Path) -> Path:
    """The fake generator plugin of the pipeline tests, importable as ``fake_tf_backend``."""
    (tmp_path / "plugins").mkdir()
    return write_plugin(tmp_path / "plugins")


def arms(**extra: dict) -> list[dict]:
    out = [
        {"name": "nli", "strategy": "icl", "tasks": ["nli"]},
        {"name": "ret", "strategy": "icl", "tasks": ["retrieval"]},
        {"name": "mix", "strategy": "icl", "tasks": {"nli": 1, "retrieval": 1, "paraphrase": 1}},
    ]
    for arm in out:
        arm["generate"] = {"mode": "crosslingual"}
        arm.update(extra.get(arm["name"], {}))
    return out


def config_for(encoder: Path, runs: Path, **overrides) -> dict:
    return tiny_config(encoder, runs, languages=["hau"], anchors=12, sizes=[6], arms=arms(),
                       filter={"filters": ["length", "copy", "dedup", "consistency"],
                               "teacher": str(encoder), "consistency_k": 100},
                       merge={"enabled": False}, **overrides)  # fmt: skip


def test_tasks_take_a_list_or_weights_and_bad_ones_name_the_fix(
    tmp_path: Path, fake_backend
) -> None:
    config = parse_config(config_for(tmp_path, tmp_path / "runs"))
    assert config.arm("nli").tasks == {"nli": 1.0}
    assert config.arm("mix").tasks == {"nli": 1.0, "retrieval": 1.0, "paraphrase": 1.0}
    cases = [
        ({"tasks": ["nli", "nli"]}, "listed twice"),
        ({"tasks": ["qa"]}, "unknown task 'qa'"),
        ({"tasks": {"nli": 0}}, "weights must be > 0"),
        ({"tasks": ["retrieval"], "generate": {"task": "nli"}}, "keep `tasks:`"),
        ({"tasks": ["retrieval"], "generate": {"mode": "crosslingual", "joint": True}},
         "task 'retrieval' has no joint prompt"),
    ]  # fmt: skip
    for change, message in cases:
        data = config_for(tmp_path, tmp_path / "runs")
        data["arms"] = [data["arms"][0] | change]
        with pytest.raises(ConfigError, match=message):
            parse_config(data)
    data = config_for(tmp_path, tmp_path / "runs")
    data["arms"] = [{"name": "parallel", "source": "parallel", "tasks": ["nli"]}]
    with pytest.raises(ConfigError, match="needs generated data"):
        parse_config(data)


def test_plan_shares_a_tasks_generation_between_arms(tmp_path: Path, fake_backend) -> None:
    config = parse_config(config_for(tmp_path, tmp_path / "runs"))
    ctx = RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False)
    plan = build_plan(ctx)
    keys = [s.key for s in plan]
    assert [k for k in keys if k.endswith(("generate", "negatives", "filter"))] == [
        "hau/nli/nli/generate", "hau/nli/nli/filter",
        "hau/ret/retrieval/generate", "hau/ret/retrieval/negatives", "hau/ret/retrieval/filter",
        "hau/mix/paraphrase/generate", "hau/mix/paraphrase/filter",
    ]  # fmt: skip
    train = next(s for s in plan if s.key == "hau/mix/6/train")
    assert {k: (u.key, o) for k, (u, o) in train.needs.items()} == {
        "triplets.nli": ("hau/nli/nli/filter", "kept"),
        "triplets.retrieval": ("hau/ret/retrieval/filter", "kept"),
        "triplets.paraphrase": ("hau/mix/paraphrase/filter", "kept"),
    }
    assert train.params["tasks"] == {"nli": 1.0, "retrieval": 1.0, "paraphrase": 1.0}
    generate = next(s for s in plan if s.key == "hau/ret/retrieval/generate")
    assert generate.params["generate"]["task"] == "retrieval"
    assert generate.params["generate"]["pool"] == "retrieval-en"


def test_an_arm_without_tasks_keeps_its_stages_and_hashes(tmp_path: Path, fake_backend) -> None:
    data = config_for(tmp_path, tmp_path / "runs")
    data["arms"] = [{"name": "icl", "generate": {"mode": "crosslingual"}}]
    ctx = RunContext(parse_config(data), tmp_path / "runs" / "tiny", console=None, progress=False)
    plan = build_plan(ctx)
    assert [s.key for s in plan][:4] == ["hau/base/evaluate", "hau/icl/generate",
                                         "hau/icl/filter", "hau/icl/6/train"]  # fmt: skip
    generate, train = plan[1], plan[3]
    # the settings added for tasks stay out of the hashed parameters at their defaults, so a
    # run made before them is not redone
    assert "task" not in generate.params["generate"] and "tasks" not in generate.params["arm"]
    assert generate.params["generate"]["pool"] == "snli-en"
    assert "mixing" not in train.params["train"] and "tasks" not in train.params
    assert set(train.needs) == {"triplets"}


def test_task_mixes_end_to_end(tiny_encoder_dir: Path, tmp_path: Path, fake_backend) -> None:
    config = parse_config(config_for(tiny_encoder_dir, tmp_path / "runs"))
    summary = Runner(config, progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "tiny" / "hau"
    negatives = read_manifest(run / "ret" / "retrieval" / "negatives")
    assert negatives["task"] == "retrieval" and negatives["metrics"]["corpus"] == 701
    assert negatives["metrics"]["triplets"] == negatives["metrics"]["pairs"] == 12
    kept = [json.loads(line) for line in (run / "ret/retrieval/filter/kept.jsonl").open()]
    assert all(r["task"] == "retrieval" and r["negative"] != r["positive"] for r in kept)
    assert all((r["lang"], r["positive_lang"]) == ("eng", "hau") for r in kept)
    funnel = read_manifest(run / "ret" / "retrieval" / "filter")["metrics"]["funnel"]
    assert [s["filter"] for s in funnel][-2:] == ["consistency", "leakage"]
    assert funnel[-2]["details"]["pool"] >= 12
    mix = read_manifest(run / "mix" / "6" / "train")["metrics"]
    assert {t: v["rows"] for t, v in mix["tasks"].items()} == {
        "nli": 2,
        "retrieval": 2,
        "paraphrase": 2,
    }
    prov = json.loads((run / "mix/6/train/model/tripletforge_training.json").read_text())
    sets = {s["name"]: s for s in prov["mixture"]["sets"]}
    assert sets["retrieval"]["prompts"]["anchor"] == "query: " and sets["nli"]["prompts"] == {
        "anchor": "",
        "positive": "",
        "negative": "",
    }
    for arm, rows in (("nli", 6), ("ret", 6)):
        assert read_manifest(run / arm / "6" / "train")["metrics"]["rows"] == rows
        assert read_manifest(run / arm / "6" / "evaluate")["status"] == "complete"
    # a second run skips everything
    again = Runner(config, progress=False).run()
    assert {s.status for s in again.stages} == {"skipped"}

    from tripletforge.report import build_report

    text = build_report(tmp_path / "runs" / "tiny").markdown.read_text()
    assert "## Task mixes at equal data size" in text
    assert "| hau | 6 | mix | nli 2 + retrieval 2 + paraphrase 2 | trained |" in text
    assert "| hau | ret/retrieval |" in text and "negatives" in text


def test_runner_frees_engines_and_encoders_after_their_last_stage(
    tmp_path: Path, fake_backend
) -> None:
    """The generator stays while a generate stage (any task) is left; the shared encoders stay
    while a stage that encodes with them (negatives, filter, mine) is left."""
    from types import SimpleNamespace

    from tripletforge.pipeline.stages import ENCODER_STAGES, STAGES, generate_settings

    config = parse_config(config_for(tmp_path, tmp_path / "runs"))
    ctx = RunContext(config, tmp_path / "runs" / "tiny", console=None, progress=False)
    plan = build_plan(ctx)
    closed: list[str] = []

    class Engine:
        def __init__(self, key: str) -> None:
            self.key = key

        def close(self) -> None:
            closed.append(self.key)

    key = ctx.backend_key(generate_settings(ctx, plan[[s.name for s in plan].index("generate")]))
    other = json.dumps(["fake", "another-model", {}])
    runner = SimpleNamespace(ctx=ctx, config=config)
    last_generate = max(i for i, s in enumerate(plan) if s.name == "generate")
    last_encoding = max(i for i, s in enumerate(plan) if s.name in ENCODER_STAGES)
    assert plan[last_encoding].name == "filter" and last_generate < last_encoding
    for i in range(len(plan)):
        ctx._backends.setdefault(key, Engine(key))
        ctx._backends.setdefault(other, Engine(other))
        ctx._encoders.setdefault("teacher", object())
        closed.clear()
        Runner._release(runner, plan[i + 1 :])  # type: ignore[arg-type]
        assert (key in closed) == (i >= last_generate), plan[i].key
        assert other in closed  # no stage uses it
        assert ("teacher" in ctx._encoders) == (i < last_encoding), plan[i].key
    # every stage that asks the context for an encoder is one the runner waits for
    import inspect

    uses = {name for name, fn in STAGES.items() if "ctx.encoder(" in inspect.getsource(fn)}
    assert uses == ENCODER_STAGES


def test_the_builtin_tasks_config_compares_mixes_on_shared_rows(
    tmp_path: Path, monkeypatch
) -> None:
    """`tripletforge run tasks`: NLI only, retrieval only and the mix train on the same rows."""
    from tripletforge.pipeline import load_config

    monkeypatch.delenv("TRIPLETFORGE_DATA_ROOT", raising=False)
    config = load_config("tasks", {"data_root": "../shared/data"})
    assert config.languages == ["hau", "kin"] and not config.merge.enabled
    assert {a.name: a.tasks for a in config.arms} == {
        "nli": {"nli": 1.0},
        "retrieval": {"retrieval": 1.0},
        "mix": {"nli": 1.0, "retrieval": 1.0, "paraphrase": 1.0},
    }
    assert config.evaluate.suite == "shared-dev" and config.evaluate.main_task == "sts"
    assert min(config.sizes) >= config.train.batch_size
    plan = build_plan(RunContext(config, tmp_path / "tasks", console=None, progress=False))
    generated = [s.key for s in plan if s.key.endswith("/generate")]
    assert generated == [f"{lang}/{arm}/{task}/generate" for lang in ("hau", "kin")
                         for arm, task in (("nli", "nli"), ("retrieval", "retrieval"),
                                           ("mix", "paraphrase"))]  # fmt: skip
    for size in config.sizes:
        train = next(s for s in plan if s.key == f"kin/mix/{size}/train")
        assert {k: u.key for k, (u, _) in train.needs.items()} == {
            "triplets.nli": "kin/nli/nli/filter",
            "triplets.retrieval": "kin/retrieval/retrieval/filter",
            "triplets.paraphrase": "kin/mix/paraphrase/filter",
        }
    fallback = load_config("tasks")  # no data root: the shipped sample
    assert fallback.evaluate.suite == "builtin"
