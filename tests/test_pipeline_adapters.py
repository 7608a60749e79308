"""Generator adapters as pipeline stages: plan, run, skip, λ change, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("torch")

from test_adapters import build_tiny_causal_lm
from test_pipeline import FAKE_BACKEND, tiny_config
from tripletforge.pipeline import Runner, parse_config
from tripletforge.pipeline.config import ConfigError
from tripletforge.pipeline.manifest import read_manifest

#: The fake generator of test_pipeline, made able to apply adapters: it records each
#: request's adapter (one line per request in $FAKE_ADAPTER_LOG) and, with
#: $FAKE_TRAIN_DELAY, slows adapter training down so that a kill lands inside it.
FAKE_LORA_BACKEND = (
    FAKE_BACKEND.replace(
        "fake_tf_backend:FakeBackend", "fake_lora_backend:FakeLoraBackend"
    ).replace('register_backend("fake"', 'register_backend("fake-lora"')
    + """

class FakeLoraBackend(FakeBackend):
    name = "fake-lora"
    applies_adapters = True

    def generate(self, requests, sampling):
        log = os.environ.get("FAKE_ADAPTER_LOG")
        if log:
            with open(log, "a") as handle:
                handle.writelines(f"{r.adapter}\\n" for r in requests)
        return super().generate(requests, sampling)


if os.environ.get("FAKE_TRAIN_DELAY"):
    import transformers

    _step = transformers.Trainer.training_step

    def _slow_step(self, *args, **kwargs):
        time.sleep(float(os.environ["FAKE_TRAIN_DELAY"]))
        return _step(self, *args, **kwargs)

    transformers.Trainer.training_step = _slow_step
"""
)

LORA_ARM = {"generate": {"backend": "fake-lora", "model": "fake"}}


def write_lora_plugin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fake_lora_backend.py").write_text(FAKE_LORA_BACKEND)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-generator"))


def adapter_config(
    encoder: Path, generator: Path, runs: Path, lambdas: Any = 1.0, **overrides: Any
) -> dict[str, Any]:
    """The tiny pipeline with an icl, an xlora and a compose arm whose adapters it trains."""
    config = tiny_config(encoder, runs, name="adapters", sizes=[8], **overrides)
    config["imports"] = ["fake_tf_backend", "fake_lora_backend"]
    config["arms"] = [
        {"name": "icl", "generate": {"mode": "crosslingual"}},
        {
            "name": "xlora",
            "strategy": "xlora",
            "generate": {"mode": "crosslingual", **LORA_ARM["generate"]},
        },
        {
            "name": "compose",
            "strategy_options": {"lambda": lambdas},  # the fake writes English
            "generate": {"mode": "crosslingual", **LORA_ARM["generate"]},
        },
    ]
    config["generate"] = {"backend": "fake", "model": "fake", "k": 1, "chunk_size": 4}
    config["merge"] = {"enabled": False}
    config["adapters"] = {
        "base": str(generator),
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "train": {
            "max_steps": 3,
            "batch_size": 4,
            "max_length": 64,
            "save_steps": 1,
            "device": "cpu",
            "eval_examples": 4,
        },
        "xlora": {"limit": 16, "train": {"max_length": 256}},  # foreign bytes: many tokens
        "task": {"limit": 16},
        "language": {"limit": 16},
    }
    return config


@pytest.fixture()
def plugins(tmp_path: Path) -> Path:
    from test_pipeline import write_plugin

    folder = write_plugin(tmp_path)
    return write_lora_plugin(folder)


def test_plan_has_shared_and_per_language_adapter_stages(
    tiny_encoder_dir: Path, tiny_generator: Path, tmp_path: Path, plugins: Path
) -> None:
    from tripletforge.pipeline.context import RunContext
    from tripletforge.pipeline.plan import build_plan

    cfg = parse_config(
        adapter_config(tiny_encoder_dir, tiny_generator, tmp_path / "runs", lambdas=[0.5, 1.0])
    )
    assert [a.name for a in cfg.arms] == ["icl", "xlora", "compose-lambda0.5", "compose-lambda1"]
    plan = build_plan(RunContext(cfg, tmp_path / "run", console=None))
    keys = [s.key for s in plan]
    slug = f"adapters/{tiny_generator.name}-"
    adapters = [k for k in keys if k.startswith("adapters/")]
    assert all(k.startswith(slug) and k.endswith("/adapter") for k in adapters)
    kinds = sorted(k.split("/")[2] for k in adapters)
    # xlora once for both languages; task once; a language adapter per language plus English
    assert kinds == [
        "language-eng",
        "language-hau",
        "language-kin",
        "task-negative",
        "task-positive",
        "xlora-negative",
        "xlora-positive",
    ]
    composes = [k for k in keys if k.endswith("/compose")]
    assert composes == [
        f"{lang}/compose-lambda{lam}/compose" for lang in ("hau", "kin") for lam in ("0.5", "1")
    ]
    # every adapter stage comes before the first generate stage
    first_generate = min(i for i, k in enumerate(keys) if k.endswith("/generate"))
    assert max(keys.index(k) for k in adapters + composes) < first_generate
    by_key = {s.key: s for s in plan}
    for lang in ("hau", "kin"):
        gen = by_key[f"{lang}/xlora/generate"]
        assert {k: (u.key, out) for k, (u, out) in gen.needs.items()} == {
            "positive_adapter": (
                f"{adapters[0].rsplit('/', 2)[0]}/xlora-positive/adapter",
                "adapter",
            ),
            "negative_adapter": (
                f"{adapters[0].rsplit('/', 2)[0]}/xlora-negative/adapter",
                "adapter",
            ),
        }
        compose = by_key[f"{lang}/compose-lambda0.5/compose"]
        parts = {k: u.key.split("/")[2] for k, (u, _) in compose.needs.items()}
        assert parts == {
            "task_positive": "task-positive",
            "task_negative": "task-negative",
            "lang_english": "language-eng",
            "lang_target": f"language-{lang}",
        }
        assert compose.params["lambda"] == 0.5
        gen = by_key[f"{lang}/compose-lambda0.5/generate"]
        assert {u.key for u, _ in gen.needs.values()} == {compose.key}
    assert not by_key["hau/icl/generate"].needs


def test_adapter_stages_run_skip_and_a_new_lambda_redoes_only_compose_and_after(
    tiny_encoder_dir: Path, tiny_generator: Path, tmp_path: Path, plugins: Path, monkeypatch
) -> None:
    log = tmp_path / "adapters.log"
    monkeypatch.setenv("FAKE_ADAPTER_LOG", str(log))
    data = adapter_config(
        tiny_encoder_dir, tiny_generator, tmp_path / "runs", languages=["hau"], lambdas=1.0
    )
    summary = Runner(parse_config(data), progress=False).run()
    assert summary.ok, [(s.key, s.error) for s in summary.stages if s.status != "done"]
    run = tmp_path / "runs" / "adapters"
    root = run / "adapters" / next(p.name for p in (run / "adapters").iterdir())
    for kind in ("xlora-positive", "xlora-negative", "task-positive", "language-hau"):
        manifest = read_manifest(root / kind / "adapter")
        assert manifest["status"] == "complete" and manifest["metrics"]["steps"] == 3
        assert manifest["inputs"]["data"][0]["sha256"] and manifest["inputs"]["base"]["sha256"]
        metrics = manifest["metrics"]
        assert metrics["eval_loss_before"] > 0 and metrics["eval_loss_after"] > 0
        assert (root / kind / "adapter" / "lora" / "adapter_config.json").is_file()
    xlora = read_manifest(root / "xlora-positive" / "adapter")
    assert xlora["inputs"]["data"][0]["path"].endswith("_sample_fin_pos.csv")
    assert xlora["lang"] == "mul" and xlora["metrics"]["examples"] == 16
    assert xlora["config"]["train"]["max_length"] == 256  # the per-type override
    compose = read_manifest(run / "hau" / "compose" / "compose")
    assert compose["metrics"]["lambda"] == 1.0 and compose["metrics"]["rank"] == 12
    generate = read_manifest(run / "hau" / "compose" / "generate")
    assert generate["inputs"]["positive_adapter"]["path"] == "hau/compose/compose/positive"
    used = set(log.read_text().split())
    assert str(run / "hau" / "compose" / "compose" / "positive") in used
    assert str(root / "xlora-negative" / "adapter" / "lora") in used

    again = Runner(parse_config(data), progress=False).run()
    assert {s.status for s in again.stages} == {"skipped"}
    data["arms"][2]["strategy_options"]["lambda"] = 0.5
    changed = Runner(parse_config(data), progress=False).run()
    redone = sorted(s.key for s in changed.stages if s.status == "done")
    assert redone == [
        "hau/compose/8/evaluate",
        "hau/compose/8/train",
        "hau/compose/compose",
        "hau/compose/filter",
        "hau/compose/generate",
    ]
    assert read_manifest(run / "hau" / "compose" / "compose")["metrics"]["lambda"] == 0.5

    # the report: adapter stages, their loss curves, and which arm used which adapter
    from tripletforge.report import build_report

    paths = build_report(run)
    text = paths.markdown.read_text()
    assert "## Generator adapters" in text and "xlora-positive" in text
    assert "adapter_losses" in paths.plots
    assert (
        "| hau | compose | [task + 0.5·(hau − eng)](../hau/compose/compose/manifest.json) |" in text
    )


def test_plan_flag_prints_what_would_run_and_why(
    tiny_encoder_dir: Path, tiny_generator: Path, tmp_path: Path, plugins: Path
) -> None:
    from typer.testing import CliRunner

    from tripletforge.cli.main import app

    data = adapter_config(
        tiny_encoder_dir, tiny_generator, tmp_path / "runs", languages=["hau"], lambdas=1.0
    )
    data["arms"] = data["arms"][2:]  # compose only
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))

    def plan() -> dict[str, str]:
        """What `run --plan` prints, as key → "action: why" (from the rows it prints)."""
        from tripletforge.pipeline.decide import explain

        result = CliRunner().invoke(app, ["run", str(path), "--plan"])
        assert result.exit_code == 0, result.output
        rows = explain(Runner(parse_config(yaml.safe_load(path.read_text())), progress=False))
        counts = ", ".join(
            f"{a} {sum(r.action == a for r in rows)}" for a in dict.fromkeys(r.action for r in rows)
        )
        assert f"would {counts} (nothing ran)" in result.output
        assert all(r.key[:20] in result.output for r in rows)
        return {r.key: f"{r.action}: {r.reason}" for r in rows}

    first = plan()
    assert len(first) == 10 and all(v.startswith("run: ") for v in first.values())
    assert first["hau/compose/compose"] == "run: after " + ", ".join(
        k for k in first if k.startswith("adapters/")
    )
    assert first["hau/base/evaluate"] == "run: not run yet"
    assert not (tmp_path / "runs" / "adapters" / "hau").exists()  # --plan writes nothing
    assert Runner(parse_config(data), progress=False).run().ok
    assert set(plan().values()) == {"skip: done, same settings and inputs"}
    data["arms"][0]["strategy_options"]["lambda"] = 0.25
    path.write_text(yaml.safe_dump(data))
    after = plan()
    assert after["hau/compose/compose"] == "run: settings changed: lambda"
    assert after["hau/compose/generate"] == "run: after hau/compose/compose"
    assert after["hau/compose/8/evaluate"] == "run: after hau/compose/8/train"
    adapters = [v for k, v in after.items() if k.startswith("adapters/")]
    assert len(adapters) == 4 and set(adapters) == {"skip: done, same settings and inputs"}
    assert after["hau/base/evaluate"].startswith("skip")


def test_preflight_names_every_missing_adapter_source(
    tiny_encoder_dir: Path, tiny_generator: Path, tmp_path: Path, plugins: Path
) -> None:
    data = adapter_config(tiny_encoder_dir, tiny_generator, tmp_path / "runs")
    data["adapters"]["xlora"] = {"pairs": str(tmp_path / "no-xllora")}
    data["adapters"]["task"] = {"triplets": str(tmp_path / "no-nli.jsonl")}
    data["adapters"]["language"] = {"corpus": {"kin": str(tmp_path / "no-kin.txt")}}
    with pytest.raises(ConfigError) as err:
        Runner(parse_config(data), progress=False).run()
    text = str(err.value)
    assert "adapters.xlora:" in text and "no-xllora" in text
    assert "adapters.task:" in text and "no-nli.jsonl" in text
    assert "adapters.language.corpus.kin:" in text and "no-kin.txt" in text
    assert not (tmp_path / "runs" / "adapters" / "adapters").exists()  # nothing ran


def test_kill_minus_9_inside_an_adapter_stage_resumes_to_identical_weights(
    tiny_encoder_dir: Path, tiny_generator: Path, tmp_path: Path, plugins: Path
) -> None:
    from safetensors.torch import load_file

    def config(runs: Path) -> Path:
        data = adapter_config(tiny_encoder_dir, tiny_generator, runs, languages=["hau"])
        data["arms"] = [data["arms"][1]]  # xlora
        data["adapters"]["train"] |= {"max_steps": 8, "save_steps": 2}
        path = runs.parent / f"{runs.name}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    only = ["--only", "adapter", "--quiet", "--no-report"]
    reference = parse_config(yaml.safe_load(config(tmp_path / "ref").read_text()))
    Runner(reference, progress=False, only=["adapter"]).run()  # uninterrupted, in process

    cut = config(tmp_path / "cut")
    command = [sys.executable, "-m", "tripletforge.cli.main", "run", str(cut), *only]
    slow = {**env, "FAKE_TRAIN_DELAY": "0.3"}
    proc = subprocess.Popen(command, env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run = tmp_path / "cut" / "adapters"
    deadline = time.time() + 240
    marks: list[Path] = []
    while time.time() < deadline and proc.poll() is None and not marks:
        marks = list(
            run.glob(
                "adapters/*/xlora-positive/adapter/lora/checkpoints/checkpoint-4/"
                "tripletforge_checkpoint.json"
            )
        )
        time.sleep(0.05)
    assert marks and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    stage = marks[0].parents[3]
    assert read_manifest(stage)["status"] == "running"
    assert not (stage / "lora" / "adapter_model.safetensors").exists()

    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode in (0, 1), resumed.stderr
    manifest = read_manifest(stage)
    assert manifest["status"] == "complete" and manifest["resumed"] is True
    assert manifest["metrics"]["resumed_from"] >= 4
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["key"] == f"{stage.relative_to(run)}"] == [
        "start",
        "start",
        "done",
    ]
    for kind in ("xlora-positive", "xlora-negative"):
        ref = next((tmp_path / "ref").glob(f"adapters/adapters/*/{kind}/adapter/lora"))
        got = next(run.glob(f"adapters/*/{kind}/adapter/lora"))
        a, b = (
            load_file(ref / "adapter_model.safetensors"),
            load_file(got / "adapter_model.safetensors"),
        )
        assert a.keys() == b.keys()
        for key in a:
            assert (a[key] - b[key]).abs().max() <= 1e-6, (kind, key)
