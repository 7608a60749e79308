"""Generation end to end with the ``xlora`` and ``compose`` strategies on a tiny Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from test_adapters import PAIRS, build_tiny_causal_lm
from tripletforge.adapters import (
    ADAPTER_PROMPT_ID,
    AdapterTrainSettings,
    LoraSettings,
    PromptPair,
    train_adapter,
)

NEGATIVES = [
    "Nobody plays music.",
    "The dogs sleep inside.",
    "Nobody is reading.",
    "The children sleep.",
    "The cat runs away.",
    "The kitchen is empty.",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny base and positive/negative adapters that memorise their pairs."""
    root = tmp_path_factory.mktemp("gen")
    base = build_tiny_causal_lm(root / "base")
    settings = AdapterTrainSettings(
        max_steps=60,
        batch_size=6,
        learning_rate=2e-2,
        max_length=64,
        scheduler="constant",
        device="cpu",
    )
    lora = LoraSettings(dropout=0.0)
    negatives = [PromptPair(p.premise, n) for p, n in zip(PAIRS, NEGATIVES, strict=True)]
    paths = {"base": base}
    for name, pairs in (("positive", PAIRS), ("negative", negatives)):
        paths[name] = train_adapter(
            str(base),
            pairs,
            root / name,
            adapter_type="xlora",
            polarity=name,
            lora=lora,
            train=settings,
            progress=False,
        ).output_dir
    text = ["Ina son karanta littafi.", "Yara suna wasa a waje."]
    for name in ("hau", "eng"):
        paths[name] = train_adapter(
            str(base),
            text,
            root / name,
            adapter_type="language",
            lang=name,
            lora=LoraSettings(r=2, alpha=2),
            train=AdapterTrainSettings(max_steps=2, device="cpu"),
            progress=False,
        ).output_dir
    return paths


def _run(trained: dict[str, Path], tmp_path: Path, strategy: str, mode: str, options: dict):
    from tripletforge.generate.backends.transformers_backend import TransformersBackend
    from tripletforge.generate.runner import GenerationConfig, generate_triplets
    from tripletforge.generate.strategies import compose, xlora  # noqa: F401  (register)

    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(p.premise for p in PAIRS[:3]) + "\n")
    config = GenerationConfig(
        seed_file=seeds,
        out=tmp_path / "out.jsonl",
        lang="hau",
        strategy=strategy,
        backend="transformers",
        model=str(trained["base"]),
        mode=mode,
        temperature=0,
        max_tokens=16,
        max_attempts=1,
        progress=False,
        strategy_options=options,
    )
    backend = TransformersBackend(str(trained["base"]), device="cpu")
    stats = generate_triplets(config, backend=backend)
    rows = [json.loads(line) for line in config.out.read_text().splitlines()]
    return stats, rows, backend


def test_xlora_generation_uses_each_pass_adapter(trained: dict[str, Path], tmp_path: Path) -> None:
    options = {
        "positive_adapter": str(trained["positive"]),
        "negative_adapter": str(trained["negative"]),
    }
    stats, rows, backend = _run(trained, tmp_path, "xlora", "crosslingual", options)
    assert stats.requests == 6 and len(backend._names) == 2
    assert len(rows) == 3, stats.summary()
    expected = {p.premise: (p.hypothesis, n) for p, n in zip(PAIRS, NEGATIVES, strict=True)}
    for row in rows:
        assert (row["positive"], row["negative"]) == expected[row["anchor"]]
        assert row["strategy"] == "xlora" and row["prompt_id"] == ADAPTER_PROMPT_ID
        assert row["positive_lang"] == "eng"


def test_compose_generation_composes_per_polarity(trained: dict[str, Path], tmp_path: Path) -> None:
    options = {
        "task_positive": str(trained["positive"]),
        "task_negative": str(trained["negative"]),
        "lang_target": {"hau": str(trained["hau"])},
        "lang_english": str(trained["eng"]),
        "lambda": 0.5,
        "cache_dir": str(tmp_path / "cache"),
    }
    stats, rows, backend = _run(trained, tmp_path, "compose", "monolingual", options)
    composed = sorted((tmp_path / "cache").iterdir())
    assert len(composed) == 2 and len(backend._names) == 2
    prov = json.loads((composed[0] / "tripletforge_adapter.json").read_text())
    assert prov["lambda"] == 0.5 and prov["adapter_type"] == "composed"
    assert stats.requests == 6 and len(rows) + stats.rejected == 3
    for row in rows:
        assert row["strategy"] == "compose" and row["positive_lang"] == "hau"


def test_strategy_option_errors(trained: dict[str, Path]) -> None:
    from tripletforge.generate.strategies import StrategyContext, compose, make_strategy, xlora  # noqa: F401

    with pytest.raises(ValueError, match="crosslingual"):
        make_strategy("xlora", StrategyContext(chat=False))
    with pytest.raises(ValueError, match="task_positive"):
        make_strategy("compose", StrategyContext(chat=False, options={}))
    with pytest.raises(FileNotFoundError):
        make_strategy(
            "compose",
            StrategyContext(
                chat=False, options={"positive_adapter": "/nope", "negative_adapter": "/nope"}
            ),
        )


def test_generate_cli_passes_strategy_options(trained: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tripletforge.cli.main import app

    seeds = tmp_path / "seeds.txt"
    seeds.write_text(PAIRS[0].premise + "\n")
    out = tmp_path / "cli.jsonl"
    args = ["generate", "--seed-file", str(seeds), "--out", str(out), "--lang", "hau"]
    args += ["--strategy", "xlora", "--mode", "crosslingual", "--backend", "transformers"]
    args += ["--model", str(trained["base"]), "--temperature", "0", "--max-tokens", "16"]
    args += ["--max-attempts", "1", "--quiet", "-B", "device=cpu"]
    args += ["-S", f"positive_adapter={trained['positive']}"]
    args += ["--strategy-option", f"negative_adapter={trained['negative']}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    row = json.loads(out.read_text().splitlines()[0])
    assert (row["positive"], row["negative"]) == (PAIRS[0].hypothesis, NEGATIVES[0])
    assert row["strategy"] == "xlora"
