"""Adapter data readers (synthetic files and the real shared data), prompt format, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripletforge.adapters import (
    format_adapter_prompt,
    nli_pairs,
    parse_adapter_output,
    read_snli_tokenized,
    read_text_lines,
    read_xllora_pairs,
    read_xnli_english,
)
from tripletforge.adapters.data import PromptPair, detokenize, hash_examples
from tripletforge.data.schemas import ReadReport


@pytest.mark.parametrize(
    ("tokenized", "expected"),
    [
        (
            "Two women are embracing while holding to go packages . ",
            "Two women are embracing while holding to go packages.",
        ),
        ("A man 's dog , here .", "A man's dog, here."),
        ("They do n't like it ( really ) !", "They don't like it (really)!"),
        ("He said `` hi '' to me .", 'He said "hi" to me.'),
        ('A " big " dog', 'A "big" dog'),
        ("I can not go ; it 's 5 % off", "I cannot go; it's 5% off"),
    ],
)
def test_detokenize(tokenized: str, expected: str) -> None:
    assert detokenize(tokenized) == expected


def test_prompt_format_is_stable() -> None:
    prompt = format_adapter_prompt("  A dog\nruns. ", "positive")
    assert prompt == (
        "Premise: A dog runs.\nWrite a sentence that is true given the premise.\nHypothesis:"
    )
    assert "contradicts" in format_adapter_prompt("x", "negative")
    with pytest.raises(ValueError):
        format_adapter_prompt("x", "neutral")
    assert parse_adapter_output("  A cat sleeps.\nPremise: more") == "A cat sleeps."


def _write_snli(folder: Path) -> Path:
    folder.mkdir()
    (folder / "s1.dev").write_text("A dog runs .\nA dog runs .\nA dog runs .\n \n")
    (folder / "s2.dev").write_text("An animal moves .\nA cat sleeps .\nIt is fast .\nx\n")
    (folder / "labels.dev").write_text("entailment\ncontradiction\nneutral\nentailment\n")
    return folder


def test_snli_and_nli_pairs(tmp_path: Path) -> None:
    report = ReadReport("snli")
    examples = read_snli_tokenized(_write_snli(tmp_path / "snli"), ["dev"], report)
    assert len(examples) == 3 and report.rows_read == 4 and len(report.bad_rows) == 1
    assert nli_pairs(examples, "positive") == [PromptPair("A dog runs.", "An animal moves.")]
    assert nli_pairs(examples, "negative") == [PromptPair("A dog runs.", "A cat sleeps.")]
    with pytest.raises(FileNotFoundError):
        read_snli_tokenized(tmp_path / "snli", ["test"])


def test_xnli_xllora_text(tmp_path: Path) -> None:
    tsv = tmp_path / "my.genre.dev.tsv"
    tsv.write_text(
        "genre\tlabel\tsentence1_en\tsentence2_en\tsentence1_my\tsentence2_my\n"
        'g\tentailment\tHe came "home".\tHe arrived.\tx\ty\n'
        'g\tcontradiction\tHe came "home".\tHe left.\tx\ty\n'
    )
    (tmp_path / "sw.genre.dev.tsv").write_text("genre\tlabel\tsentence1_sw\tsentence2_sw\n")
    examples = read_xnli_english([tmp_path])
    assert [e.label for e in examples] == ["entailment", "contradiction"]
    assert examples[0].premise == 'He came "home".'

    (tmp_path / "x_pos.csv").write_text('sent0,sent1\n"Habari, rafiki",Hello friend\n,empty\n')
    (tmp_path / "x_neg.csv").write_text("sent0,hard_neg\nHabari,Goodbye\n")
    report = ReadReport("pos")
    assert read_xllora_pairs(tmp_path, "positive", report) == [
        PromptPair("Habari, rafiki", "Hello friend")
    ]
    assert len(report.bad_rows) == 1
    assert read_xllora_pairs(tmp_path, "negative") == [PromptPair("Habari", "Goodbye")]

    text = tmp_path / "hau.txt"
    text.write_text("Ina  son\n\nYara suna wasa.\n")
    assert read_text_lines(text) == ["Ina son", "Yara suna wasa."]
    assert hash_examples(["a", "b"]) != hash_examples(["b", "a"])


def test_real_shared_data(shared_data: Path) -> None:
    snli = read_snli_tokenized(shared_data / "snli_dev_test_tok")
    pos, neg = nli_pairs(snli, "positive"), nli_pairs(snli, "negative")
    assert 5000 < len(pos) < 7000 and 5000 < len(neg) < 7000
    assert not any(" ." in p.hypothesis[-3:] or " ," in p.premise for p in pos[:500])
    xnli = read_xnli_english([shared_data / "myxnli_xnli_en_my_sw_ur"])
    assert len(nli_pairs(xnli, "positive")) > 2000
    xl_pos = read_xllora_pairs(shared_data / "xllora_generator_data", "positive")
    xl_neg = read_xllora_pairs(shared_data / "xllora_generator_data", "negative")
    assert len(xl_pos) > 9000 and len(xl_neg) > 9000


def test_cli_train_and_compose(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from test_adapters import build_tiny_causal_lm
    from tripletforge.cli import adapters as cli

    base = build_tiny_causal_lm(tmp_path / "base")
    snli = _write_snli(tmp_path / "snli")
    text = tmp_path / "t.txt"
    text.write_text("Ina son karanta littafi.\nYara suna wasa a waje.\n")
    root = typer.Typer()

    @root.callback()
    def _main() -> None:
        pass

    cli.register(root)
    runner = CliRunner()
    common = ["--base", str(base), "--max-steps", "2", "--batch-size", "2", "--device", "cpu"]
    runs = {
        "task": [
            "--adapter-type",
            "task",
            "--polarity",
            "positive",
            "--snli",
            str(snli),
            "--snli-splits",
            "dev",
        ],
        "tgt": ["--adapter-type", "language", "--text", str(text), "--lang", "hau", "--r", "4"],
        "en": [
            "--adapter-type",
            "language",
            "--text",
            str(text),
            "--lang",
            "eng",
            "--target-modules",
            "q_proj,v_proj",
        ],
    }
    for name, args in runs.items():
        result = runner.invoke(
            root, ["adapters", "train", *args, *common, "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / name / "adapter_model.safetensors").is_file()
    prov = json.loads((tmp_path / "task" / "tripletforge_adapter.json").read_text())
    assert prov["lang"] == "eng" and prov["data"]["examples"] == 1

    result = runner.invoke(
        root,
        [
            "adapters",
            "compose",
            "--task",
            str(tmp_path / "task"),
            "--lang-target",
            str(tmp_path / "tgt"),
            "--lang-english",
            str(tmp_path / "en"),
            "--lambda",
            "0.5",
            "--out",
            str(tmp_path / "composed"),
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "composed" / "adapter_config.json").read_text())
    assert config["r"] == 8 + 4 + 8 and config["lora_alpha"] == 20

    bad = runner.invoke(
        root, ["adapters", "train", "--adapter-type", "xlora", "--out", str(tmp_path)]
    )
    assert bad.exit_code != 0 and "--polarity" in bad.output
