"""The CLI convention over every command: options, precedence, one error path.

- every command has ``--quiet/-q`` and ``--verbose/-v``; every output is ``--out/-o`` (no
  ``--output``, no positional ``OUT``); ``--help`` works everywhere;
- where a command takes a settings file and flags: explicit flag > file > built-in default;
- a user error is one ``error:`` message, exit code 2, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tripletforge.cli.main import app

runner = CliRunner()


def leaf_commands() -> list[tuple[list[str], Any]]:
    """``(["adapters", "train"], command)`` for every command of the app."""
    out = []

    def walk(path: list[str], cmd: Any) -> None:
        if hasattr(cmd, "commands"):  # a group
            for name, sub in cmd.commands.items():
                walk([*path, name], sub)
        else:
            out.append((path, cmd))

    walk([], typer.main.get_command(app))
    return out


COMMANDS = leaf_commands()
#: commands that write files: their output is --out/-o
WRITERS = {
    "generate",
    "filter",
    "mine",
    "train",
    "merge",
    "evaluate",
    "report",
    "adapters train",
    "adapters compose",
    "adapters plot",
    "adapters merge",
    "adapters export-gguf",
    "connect train",
}


def test_all_commands_are_seen() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert names >= WRITERS | {"run", "models"}


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_follows_the_convention(path: list[str], cmd: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "--quiet" in text and "-q" in text and "--verbose" in text and "-v" in text
    assert "--output" not in text
    options = {opt for p in cmd.params if p.param_type_name == "option" for opt in p.opts}
    arguments = [p.name for p in cmd.params if p.param_type_name == "argument"]
    assert {"--quiet", "-q", "--verbose", "-v"} <= options
    assert not {"out", "output", "output_dir"} & set(arguments)
    if " ".join(path) in WRITERS:
        out = next(p for p in cmd.params if p.name == "out")
        assert set(out.opts) == {"--out", "-o"}, path
        assert "--out" in text


# --- precedence: explicit flag > file > default --------------------------------------------


def _yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.train as train

    seen: dict[str, Any] = {}
    monkeypatch.setattr(
        train, "train_encoder", lambda config, progress: seen.setdefault("c", config)
    )
    config = _yaml(tmp_path / "train.yaml", {"batch_size": 2, "epochs": 3.0,
                                             "freeze_embeddings": False})  # fmt: skip
    args = ["train", "t.jsonl", "-o", str(tmp_path / "m"), "--config", str(config)]
    result = runner.invoke(app, [*args, "--epochs", "5"])
    assert result.exit_code == 0, result.output
    cfg = seen["c"]
    assert cfg.batch_size == 2  # the file (was: the CLI default 32 overrode it)
    assert cfg.epochs == 5.0  # the explicit flag
    assert cfg.freeze_embeddings is False  # the file, for a boolean too
    assert cfg.learning_rate == 5e-5 and cfg.save_steps == 100 and cfg.seed == 0  # defaults


def test_filter_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.filter.funnel as funnel

    seen: dict[str, Any] = {}

    def fake(inp: Any, out: Any, config: Any) -> Any:
        seen["c"] = config
        return funnel.FilterRun([], [], [], 0), funnel.ReadReport(str(inp))

    monkeypatch.setattr(funnel, "filter_file", fake)
    config = _yaml(tmp_path / "f.yaml", {"copy_max_edits": 2, "max_length_ratio": 4.0,
                                         "filters": ["length", "copy"]})  # fmt: skip
    args = ["filter", "in.jsonl", "-o", str(tmp_path / "o.jsonl"), "-c", str(config)]
    result = runner.invoke(app, [*args, "--max-length-ratio", "3"])
    assert result.exit_code == 0, result.output
    cfg = seen["c"]
    assert (cfg.copy_max_edits, cfg.max_length_ratio) == (2, 3.0)
    assert cfg.filters == ["length", "copy"] and cfg.min_chars == 3
    result = runner.invoke(app, [*args, "--filters", "length,dedup"])
    assert seen["c"].filters == ["length", "dedup"]


def test_mine_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.models as models
    import tripletforge.train.mine as mine

    seen: dict[str, Any] = {}
    monkeypatch.setattr(models, "load_encoder", lambda name: name)
    monkeypatch.setattr(mine, "mine_negatives", lambda rows, texts, model, cfg: seen.setdefault(
        "c", (model, cfg)) and [])  # fmt: skip
    pairs = tmp_path / "p.jsonl"
    pairs.write_text(json.dumps({"anchor": "a b", "positive": "c d"}) + "\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text("x y\n")
    config = _yaml(tmp_path / "m.yaml", {"range_min": 3, "range_max": 20, "model": "my-model"})
    args = ["mine", str(pairs), str(corpus), "-o", str(tmp_path / "o.jsonl"), "-c", str(config)]
    result = runner.invoke(app, [*args, "--range-max", "30"])
    assert result.exit_code == 0, result.output
    model, cfg = seen["c"]
    assert (model, cfg.range_min, cfg.range_max, cfg.num_negatives) == ("my-model", 3, 30, 1)


def test_generate_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.generate as generate

    seen: dict[str, Any] = {}

    def fake(config: Any) -> Any:
        seen["c"] = config
        return generate.GenerationStats()

    monkeypatch.setattr(generate, "generate_triplets", fake)
    seeds = tmp_path / "s.txt"
    seeds.write_text("Ina son karatu.\n")
    settings = {"k": 1, "temperature": 0.2, "seed_file": str(seeds),
                "out": str(tmp_path / "o.jsonl"),
                "backend_options": {"threads": 1, "parallel": 2}}  # fmt: skip
    config = _yaml(tmp_path / "g.yaml", settings)
    args = ["generate", "-c", str(config), "--temperature", "0.5", "-B", "parallel=4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    cfg = seen["c"]
    assert (cfg.k, cfg.temperature, cfg.max_tokens) == (1, 0.5, 64)
    assert cfg.backend_options == {"threads": 1, "parallel": 4}
    assert cfg.seed_file == seeds


def test_adapters_train_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.adapters.train as adapter_train

    seen: dict[str, Any] = {}

    def fake(base: str, examples: Any, out: Any, **kw: Any) -> Any:
        seen.update(kw, examples=examples)
        return adapter_train.TrainResult(Path(out), 1, [1.0])

    monkeypatch.setattr(adapter_train, "train_adapter", fake)
    text = tmp_path / "t.txt"
    text.write_text("Ina son karatu.\nYara suna wasa.\n")
    config = _yaml(tmp_path / "a.yaml", {"adapter_type": "language", "text": str(text), "r": 4,
                                         "batch_size": 2, "learning_rate": 1e-3})  # fmt: skip
    args = ["adapters", "train", "-o", str(tmp_path / "a"), "-c", str(config), "--r", "2"]
    result = runner.invoke(app, [*args, "--target-modules", "q_proj,v_proj"])
    assert result.exit_code == 0, result.output
    assert seen["adapter_type"] == "language" and seen["examples"] == [
        "Ina son karatu.",
        "Yara suna wasa.",
    ]
    assert (seen["lora"].r, seen["lora"].alpha) == (2, 16)
    assert seen["lora"].target_modules == ["q_proj", "v_proj"]
    assert (seen["train"].batch_size, seen["train"].learning_rate) == (2, 1e-3)
    assert seen["train"].save_steps == 50


def test_run_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tripletforge.pipeline as pipeline

    seen: dict[str, Any] = {}

    class FakeRunner:
        def __init__(self, config: Any, **kw: Any) -> None:
            seen["c"] = config
            self.run_dir = config.run_dir()

        def run(self) -> Any:
            return pipeline.RunSummary(self.run_dir, [], 0.0)

    monkeypatch.setattr(pipeline, "Runner", FakeRunner)
    config = _yaml(tmp_path / "run.yaml", {
        "name": "t", "languages": ["hau"], "sizes": [32], "arms": [{"name": "icl"}],
        "runs_dir": str(tmp_path / "from-file"), "data_root": str(tmp_path / "data"),
    })  # fmt: skip
    args = ["run", str(config), "--no-report", "--runs-dir", str(tmp_path / "from-flag")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["c"].runs_dir == str(tmp_path / "from-flag")  # flag beats file
    assert seen["c"].data_root == str(tmp_path / "data")  # file beats default
    assert seen["c"].anchors == 100  # default


def test_connect_train_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nested sections: ``--align-max-steps`` beats ``align: {max_steps}`` of the file and
    keeps the section's other keys; top-level fields as everywhere else."""
    import tripletforge.connect as connect

    seen: dict[str, Any] = {}

    def fake(settings: Any, out: Any, **kw: Any) -> Any:
        seen["s"] = settings
        return connect.ConnectResult(Path(out), {}, reused=True)

    monkeypatch.setattr(connect, "train_connected", fake)
    config = _yaml(tmp_path / "c.yaml", {"target": "smollm2-135m", "seed": 7,
                                         "align": {"max_steps": 5, "batch_size": 8},
                                         "finetune": {"lora_r": 4}})  # fmt: skip
    args = ["connect", "train", "-o", str(tmp_path / "m"), "-c", str(config), "--seed", "9"]
    more = ["--align-max-steps", "3", "--no-finetune", "--finetune-lora-target-modules", "q,v"]
    result = runner.invoke(app, [*args, *more])
    assert result.exit_code == 0, result.output
    s = seen["s"]
    assert (s.target, s.seed, s.encoder) == ("smollm2-135m", 9, "e5-small")
    assert (s.align.max_steps, s.align.batch_size, s.align.learning_rate) == (3, 8, 1e-3)
    assert (s.finetune.enabled, s.finetune.lora_r) == (False, 4)
    assert s.finetune.lora_target_modules == ["q", "v"]


# --- one error path -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "missing.jsonl", "-o", "m"], "triplet file not found"),
        (["train", "t.jsonl", "-o", "m", "--batch-size", "1"], "--batch-size:"),
        (["filter", "missing.jsonl", "-o", "k.jsonl"], "triplet file not found"),
        (["generate", "--seed-file", "SEEDS", "--lang", "xyz", "-o", "o.jsonl"], "xyz"),
        (["generate", "--seed-file", "SEEDS", "-o", "o.jsonl", "--strategy", "nope"], "nope"),
        (["run", "missing.yaml"], "neither a file nor a built-in config"),
        (["evaluate", "--suite", "missing-suite"], "missing-suite"),
        (["report", "missing-run"], "missing-run"),
        (["mine", "p.jsonl", "c.txt", "-o", "o.jsonl"], "pairs file not found"),
        (["adapters", "train", "-o", "a", "--adapter-type", "xlora"], "--polarity:"),
        (["adapters", "compose", "--task", "x", "--lang-target", "y", "--lang-english", "z",
          "-o", "c"], "adapter_config.json"),
        (["merge", "average", "-o", "m"], "give --model"),
        (["connect", "train", "-o", "m", "--align-epochs", "-1"], "--align-epochs:"),
        (["connect", "train", "-o", "m", "--finetune-data", "nope.jsonl"], "nope.jsonl"),
    ],
)  # fmt: skip
def test_user_errors_are_one_message_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "SEEDS").write_text("Ina son karatu.\n")
    (tmp_path / "t.jsonl").write_text(json.dumps({"anchor": "a", "positive": "b",
                                                  "negative": "c"}) + "\n")  # fmt: skip
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(
        result.exception, SystemExit
    )
    assert "error:" in result.output and expected in result.output, result.output


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["filter", str(tmp_path / "x.jsonl"), "-o", "k.jsonl", "-v"])
    assert result.exit_code == 2 and "Traceback" in result.output


def test_run_help_names_every_stage() -> None:
    """`run --force` names the pipeline's stages without importing the pipeline at start."""
    from tripletforge.cli.run import RUN_STAGES
    from tripletforge.pipeline.stages import STAGES

    assert set(RUN_STAGES) == set(STAGES)


def test_library_tqdm_bars_only_with_verbose() -> None:
    """A library's own tqdm bar (e.g. sentence-transformers' encode inside mining, which passes
    ``show_progress_bar=True``) stays off the terminal unless ``--verbose``."""
    import sys

    from tqdm import tqdm

    from tripletforge.cli.common import command

    demo = typer.Typer()

    @command(demo, "encode")
    def encode() -> None:
        for _ in tqdm(range(3), desc="Batches", disable=False, file=sys.stderr):
            pass
        print("done")

    @demo.callback()
    def _group() -> None:  # a group, so the command is called by name
        pass

    quiet = runner.invoke(demo, ["encode"])
    assert quiet.exit_code == 0 and "done" in quiet.output
    assert "Batches" not in quiet.output
    loud = runner.invoke(demo, ["encode", "-v"])
    assert loud.exit_code == 0 and "Batches" in loud.output
