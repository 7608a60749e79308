"""Pipeline config validation: every error names the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.pipeline import ConfigError, Runner, load_config, parse_config

GOOD: dict[str, Any] = {
    "name": "t",
    "languages": ["hau"],
    "anchors": 64,
    "sizes": [32, 64],
    "arms": [{"name": "icl"}, {"name": "parallel", "source": "parallel"}],
}


def _error(**changes: Any) -> str:
    data = {**GOOD, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        parse_config(data, "bad.yaml")
    return str(info.value)


def test_good_config_and_quickstart_validate() -> None:
    config = parse_config(GOOD)
    assert config.arm("icl").strategy == "icl" and config.merge.enabled
    quick = load_config("quickstart")
    assert quick.languages == ["hau"] and {a.source for a in quick.arms} == {
        "synthetic",
        "parallel",
    }
    assert quick.merge.dev.split == "dev" and quick.evaluate.suite == "builtin"


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        ({"sizes": None}, "sizes:", "add `sizes: ...`"),
        ({"train": {"batchsize": 8}}, "train.batchsize:", "batch_size"),
        ({"arms": [{"name": "foo"}]}, "arms[0=foo]:", "set `strategy:`"),
        (
            {"arms": [{"name": "xl", "strategy": "xlora", "strategy_options": {"a": 1}}]},
            "arms[0=xl]:",
            "generate: {mode: crosslingual}",
        ),
        ({"anchors": 10}, "anchors: 10 <", "raise `anchors:`"),
        ({"languages": ["xyz"]}, "languages:", "ISO 639-3"),
        ({"merge": {"grid": [0.5, 2.0]}}, "merge.grid:", "between 0 and 1"),
        ({"merge": {"tolerance": -1}}, "merge.tolerance:", "0 or more"),
        ({"merge": {"tolerance": {"hau": -0.5}}}, "merge.tolerance: hau:", "0 or more"),
        ({"merge": {"tolerance": {"hausa!": 1}}}, "merge.tolerance:", "or '*' for every other"),
        ({"merge": {"tolerance": {"kin": 1}}}, "merge.tolerance: ['kin']", "add them to"),
        ({"merge": {"tolerance": {"hau": "x"}}}, "merge.tolerance: hau:", "write e.g. 0.5"),
        ({"merge": {"judge": "some"}}, "merge.judge:", "'all' or 'own'"),
        ({"train": {"batch_size": "big"}}, "train.batch_size:", "fix the value's type"),
        ({"arms": [{"name": "p", "source": "parallel", "split": "test"}]}, "arms[0=p]:", "train"),
        ({"evaluate": {"main_task": "accuracy"}}, "evaluate.main_task:", "'accuracy'"),
    ],
)
def test_bad_configs_name_field_and_fix(changes: dict, field: str, fix: str) -> None:
    message = _error(**changes)
    assert "bad.yaml" in message
    assert field in message and fix in message, message


def test_languages_and_seed_keys_in_any_spelling_become_iso_639_3(tmp_path: Path) -> None:
    seeds = tmp_path / "sw.txt"
    config = parse_config({**GOOD, "languages": ["HAU", "sw-KE", "kin_Latn"],
                           "seed_files": {"SWA": str(seeds)}})  # fmt: skip
    assert config.languages == ["hau", "swh", "kin"]
    assert config.seed_files == {"swh": str(seeds)}
    assert "name the same language" in _error(languages=["swh", "swa"])
    assert "ISO 639-1 ('ha')" in _error(languages=["hausa"])  # the accepted spellings


def test_merge_tolerance_reaches_the_stage_hash_only_when_set() -> None:
    from tripletforge.pipeline.plan import _merge_params

    default = _merge_params(parse_config(GOOD))
    assert "tolerance" not in default  # runs made before the setting keep their merge stages
    slack = _merge_params(parse_config({**GOOD, "merge": {"tolerance": 1.0}}))
    assert slack == {**default, "tolerance": 1.0}
    # judging every language (the default) hashes them; `judge: own` and no soup hash as before
    assert default["judge"] == "all" and default["languages"] == ["hau"]
    own = _merge_params(parse_config({**GOOD, "merge": {"judge": "own"}}))
    assert {"judge", "languages", "soup"}.isdisjoint(own)


def test_merge_tolerance_per_language() -> None:
    config = parse_config({**GOOD, "languages": ["hau", "kin"],
                           "merge": {"tolerance": {"HAU": 1, "eng": 0.25, "*": 0.5}}})  # fmt: skip
    assert config.merge.tolerance == {"hau": 1.0, "eng": 0.25, "*": 0.5}
    assert parse_config({**GOOD, "merge": {"tolerance": {"*": 0.5}}}).merge.tolerance == 0.5


def test_merge_guard_is_validated_and_hashed_only_when_set() -> None:
    from tripletforge.pipeline.plan import _merge_params

    assert "guard" not in _merge_params(parse_config(GOOD))  # earlier runs keep their merges
    guard = {"format": "sib200", "root": "sample", "tolerance": 1}
    params = _merge_params(parse_config({**GOOD, "merge": {"guard": guard}}))
    assert params["guard"] == {"format": "sib200", "root": "sample", "split": "dev",
                               "tolerance": 1.0}  # fmt: skip
    bads = (({"tolerance": -1}, "tolerance"), ({"tolerance": "nan"}, "tolerance"),
            ({"split": "test"}, "split"), ({"format": "tatoeba"}, "format"),
            ({"tolerance": {"*": 0.5}}, "tolerance"))  # fmt: skip
    for bad, field in bads:
        with pytest.raises(ConfigError, match=rf"merge\.guard\.{field}"):
            parse_config({**GOOD, "merge": {"guard": guard | bad}})
    for merge, message in (({"no_regression": False}, "no_regression: true"),
                           ({"enabled": False}, "enable the merge")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse_config({**GOOD, "merge": {"guard": guard, **merge}})


def test_the_leakage_check_hash_follows_what_it_reads() -> None:
    """English dev (judge: all) and guard data are dropped from training rows as leaks, so
    they are part of the hash of the stages that drop leaks; unused, they are left out."""
    from tripletforge.pipeline.plan import leakage_extra

    guard = {"format": "sib200", "root": "sample", "tolerance": 1}
    assert leakage_extra(parse_config({**GOOD, "merge": {"judge": "own"}})) == {}
    assert leakage_extra(parse_config({**GOOD, "merge": {"enabled": False}})) == {}
    assert leakage_extra(parse_config({**GOOD, "leakage_check": False})) == {}
    assert leakage_extra(parse_config(GOOD)) == {"leakage_english_dev": True}
    guarded = leakage_extra(parse_config({**GOOD, "merge": {"guard": guard}}))
    assert guarded["leakage_guard"]["root"] == "sample"
    moved = leakage_extra(parse_config({**GOOD, "merge": {"guard": guard | {"root": "other"}}}))
    assert moved != guarded


def test_merge_soup_keeps_the_training_checkpoints() -> None:
    from tripletforge.pipeline.plan import _merge_params, _train_params

    plain = parse_config(GOOD)
    soup = parse_config({**GOOD, "merge": {"soup": True}})
    assert "keep_checkpoints" not in _train_params(plain, 32, {None: 1.0})
    assert _train_params(soup, 32, {None: 1.0})["keep_checkpoints"] is True
    assert _merge_params(soup)["soup"] is True
    off = parse_config({**GOOD, "merge": {"soup": True, "enabled": False}})
    assert "keep_checkpoints" not in _train_params(off, 32, {None: 1.0})


def test_preflight_names_missing_files(tmp_path: Path) -> None:
    config = parse_config(
        GOOD
        | {
            "languages": ["mar"],
            "runs_dir": str(tmp_path),
            "arms": [
                {"name": "icl"},
                {"name": "real", "source": "triplets", "path": str(tmp_path / "none.jsonl")},
            ],
        }
    )
    with pytest.raises(ConfigError) as info:
        Runner(config, progress=False).run()
    message = str(info.value)
    assert "seed_files.mar:" in message and "`seed_files: {mar: FILE}`" in message
    assert "evaluate.datasets:" in message and "arms[1=real].path:" in message
    assert "merge.dev:" in message


def test_cli_reports_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nlanguages: [hau]\nsizes: [8]\narms: [{name: icl}]\nfilters: {}\n")
    result = CliRunner().invoke(app, ["run", str(bad)])
    assert result.exit_code == 2
    assert "filters: unknown field" in result.output and "filter" in result.output
    result = CliRunner().invoke(app, ["run", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "neither a file nor a built-in config" in result.output


def test_strategy_facts_come_from_the_registry(tmp_path: Path, monkeypatch) -> None:
    """A plugin strategy is accepted; adapter strategies need an adapter-capable backend."""
    (tmp_path / "echo_strategy_plugin.py").write_text(
        "from tripletforge.generate.strategies import ICLStrategy, register_strategy\n"
        "@register_strategy('echo')\n"
        "class EchoStrategy(ICLStrategy):\n"
        "    name = 'echo'\n"
        "    required_mode = 'crosslingual'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    arms = [{"name": "e", "strategy": "echo", "generate": {"mode": "crosslingual"}}]
    config = parse_config(GOOD | {"imports": ["echo_strategy_plugin"], "arms": arms})
    assert config.generate_for(config.arm("e")).strategy == "echo"
    # the plugin's declared mode is enforced like a built-in one
    message = _error(imports=["echo_strategy_plugin"], arms=[{"name": "e", "strategy": "echo"}])
    assert "arms[0=e]:" in message and "generate: {mode: crosslingual}" in message
    # a plugin backend that cannot apply adapters is refused for adapter strategies
    (tmp_path / "plain_backend_plugin.py").write_text(
        "from tripletforge.generate.backends import register_backend\n"
        "from tripletforge.generate.backends.base import Backend\n"
        "class PlainBackend(Backend):\n"
        "    name = 'plain-test'\n"
        "    def generate(self, requests, sampling):\n"
        "        return [''] * len(requests)\n"
        "register_backend('plain-test', 'plain_backend_plugin:PlainBackend')\n"
    )
    options = {"positive_adapter": "a", "negative_adapter": "b"}
    xl = {"name": "xl", "strategy": "xlora", "generate": {"mode": "crosslingual"}}
    plain = {"mode": "crosslingual", "backend": "plain-test"}
    message = _error(
        imports=["plain_backend_plugin"],
        arms=[xl | {"strategy_options": options, "generate": plain}],
    )
    assert "arms[0=xl]:" in message and "cannot apply" in message
    assert "llamacpp" in message and "transformers" in message
    # the default backend (llamacpp) applies adapters (GGUF LoRA per request)
    config = parse_config(GOOD | {"arms": [xl | {"strategy_options": options}]})
    assert config.generate_for(config.arm("xl")).backend == "llamacpp"
    # without adapter folders the run trains them, on a backend that can apply them
    message = _error(imports=["plain_backend_plugin"], arms=[xl | {"generate": plain}])
    assert "arms[0=xl]:" in message and "cannot apply" in message
    config = parse_config(GOOD | {"arms": [xl]})  # default backend: llamacpp
    assert config.generate_for(config.arm("xl")).backend == "llamacpp"
    lora = xl | {"generate": {"mode": "crosslingual", "backend": "transformers"}}
    assert parse_config(GOOD | {"arms": [lora]}).arm("xl").strategy == "xlora"
    message = _error(imports=["no_such_plugin_module"])
    assert "imports: cannot import 'no_such_plugin_module'" in message


def test_registering_a_name_twice_is_an_error() -> None:
    from tripletforge.filter.base import register_filter
    from tripletforge.generate.backends import BACKENDS, register_backend
    from tripletforge.generate.strategies import register_strategy

    with pytest.raises(ValueError, match="'icl' is already registered"):
        register_strategy("icl")(type("Other", (), {}))
    with pytest.raises(ValueError, match="'vllm' is already registered"):
        register_backend("vllm", "somewhere:Else")
    register_backend("vllm", BACKENDS["vllm"])  # the same registration again is harmless
    with pytest.raises(ValueError, match="'copy' is already registered"):
        register_filter("copy")(type("Other", (), {}))


def test_a_list_of_lambdas_becomes_one_compose_arm_per_value() -> None:
    compose = {"name": "compose", "generate": {"backend": "transformers"}}
    config = parse_config(
        GOOD | {"arms": [compose | {"strategy_options": {"lambda": [0.5, 1, 2.0]}}]}
    )
    assert [a.name for a in config.arms] == [
        "compose-lambda0.5", "compose-lambda1", "compose-lambda2"]  # fmt: skip
    assert [a.strategy_options["lambda"] for a in config.arms] == [0.5, 1, 2.0]
    assert {a.strategy for a in config.arms} == {"compose"}
    one = parse_config(GOOD | {"arms": [compose | {"strategy_options": {"lambda": [0.5]}}]})
    assert [a.name for a in one.arms] == ["compose"] and one.arms[0].strategy_options == {
        "lambda": 0.5
    }
    message = _error(arms=[compose | {"strategy_options": {"lambda": ["big"]}}])
    assert "arms[0=compose].strategy_options.lambda:" in message and "list of numbers" in message


def test_adapter_settings_errors_name_the_field() -> None:
    message = _error(adapters={"train": {"batchsize": 8}})
    assert "adapters.train.batchsize:" in message and "batch_size" in message
    message = _error(adapters={"xlora": {"train": {"stepz": 3}}})
    assert "adapters.xlora.train:" in message and "max_steps" in message
    message = _error(adapters={"xlora": {"pairs": "a", "triplets": "b"}})
    assert "adapters.xlora:" in message and "not both" in message
    config = parse_config(GOOD | {"seed": 7, "adapters": {"xlora": {"train": {"max_steps": 3}}}})
    xlora, task = config.adapters.train_for("xlora", 7), config.adapters.train_for("task", 7)
    assert (xlora.max_steps, task.max_steps, xlora.seed) == (3, None, 7)  # the run's seed
    assert config.adapters.language.corpus == {}
    fixed = parse_config(GOOD | {"adapters": {"train": {"seed": 1}}})
    assert fixed.adapters.train_for("task", 7).seed == 1


def test_evaluation_falls_back_without_a_data_root(monkeypatch) -> None:
    monkeypatch.delenv("TRIPLETFORGE_DATA_ROOT", raising=False)
    evaluate = {
        "suite": "shared-dev",
        "datasets": ["semrel-{lang}-dev"],
        "main_task": "sts",
        "fallback": {"suite": "builtin", "datasets": ["sib200-{lang}-*"]},
    }
    alone = parse_config(GOOD | {"evaluate": evaluate})
    assert (alone.evaluate.suite, alone.evaluate.datasets) == ("builtin", ["sib200-{lang}-*"])
    assert alone.evaluate.main_task == "auto" and alone.evaluate.fallback is None
    given = parse_config(GOOD | {"evaluate": evaluate, "data_root": "/data"})
    assert (given.evaluate.suite, given.evaluate.main_task) == ("shared-dev", "sts")
    assert given.evaluate.fallback is None  # the stage settings hold what is used
    monkeypatch.setenv("TRIPLETFORGE_DATA_ROOT", "/env-data")
    from_env = parse_config(GOOD | {"evaluate": evaluate})
    assert from_env.data_root == "/env-data" and from_env.evaluate.suite == "shared-dev"


def test_cross_field_problems_are_reported_at_once_each_naming_its_field() -> None:
    arms = [{"name": "icl"}, {"name": "icl"},
            {"name": "m", "source": "mix", "sources": [{"kind": "parallel", "root": "sample",
                                                        "languages": ["kin"]}]}]  # fmt: skip
    bad = {**GOOD, "sizes": [8], "anchors": 4, "arms": arms, "seed_files": {"kin": "x.txt"},
           "merge": {"tolerance": {"kin": 1}}}  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        parse_config(bad)
    lines = str(raised.value).splitlines()[1:]
    starts = ["arms: names", "seed_files:", "anchors: 4 <", "arms[2=m].sources[0].languages:",
              "sizes: the smallest size (8)", "merge.tolerance: ['kin']"]  # fmt: skip
    assert [line.strip()[: len(s)] for line, s in zip(lines, starts, strict=True)] == starts
    assert "<top>" not in str(raised.value)
    message = _error(anchors=-3)
    assert "anchors: Input should be greater than or equal to 1 (got -3); change" in message


def test_data_root_needed_but_missing_names_every_field(monkeypatch) -> None:
    monkeypatch.delenv("TRIPLETFORGE_DATA_ROOT", raising=False)
    with pytest.raises(ConfigError) as raised:
        load_config("protect")
    message = str(raised.value)
    for field in ("arms[0=mix].sources[0].path", "merge.dev.root", "merge.guard.root"):
        assert field in message
    assert "--data-root" in message and "TRIPLETFORGE_DATA_ROOT" in message
    assert (
        load_config("protect", {"data_root": "/data"})
        .arms[0]
        .sources[0]
        .path.startswith("{data_root}")
    )  # resolved where it is read (``PipelineConfig.resolve``), so the hash keeps the form


def test_the_paper_config_validates(monkeypatch) -> None:
    monkeypatch.delenv("TRIPLETFORGE_DATA_ROOT", raising=False)
    paper = load_config("paper")
    assert paper.languages == ["hau", "kin"] and len(paper.sizes) == 2
    assert [a.name for a in paper.arms] == ["icl", "compose", "xlora", "parallel"]
    assert paper.evaluate.suite == "builtin"  # no data root: the shipped sample
    from tripletforge.pipeline.config import planned_options

    assert planned_options(paper.arm("compose")) == ["positive_adapter", "negative_adapter"]
    assert planned_options(paper.arm("xlora")) == ["positive_adapter", "negative_adapter"]
    shared = load_config("paper", {"data_root": "../shared/data"})
    assert shared.evaluate.suite == "shared-dev" and shared.evaluate.main_task == "sts"


def test_the_gpu_variant_of_the_paper_config_in_the_docs_is_valid() -> None:
    """docs/pipeline.md's GPU sections, put in place of paper.yaml's, make a valid config."""
    import yaml

    from tripletforge.pipeline.config import PipelineConfig

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "pipeline.md").read_text(encoding="utf-8")
    block = doc.split("### The same comparison on GPUs")[1].split("```yaml")[1].split("```")[0]
    paper = root / "src" / "tripletforge" / "resources" / "configs" / "paper.yaml"
    config = yaml.safe_load(paper.read_text(encoding="utf-8")) | yaml.safe_load(block)
    cfg = PipelineConfig.model_validate(config)
    assert [a.name for a in cfg.arms] == [
        "icl", "compose-lambda0.5", "compose-lambda1", "xlora", "parallel"
    ]  # fmt: skip
    train = cfg.adapters.train_for("xlora", cfg.seed)
    assert (train.quantization, train.bf16, train.max_steps, train.epochs) == (
        "4bit",
        True,
        None,
        1,
    )
    assert cfg.generate.backend == "vllm"
