"""The runner end to end on the real SmolLM2 GGUF: provenance, resume, kill -9, rejections."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import ENGLISH_SEEDS
from tripletforge.cli.main import app
from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.schemas import TRIPLET_COLUMNS, TRIPLET_PROVENANCE_COLUMNS, seed_id_for
from tripletforge.generate import GenerationConfig, generate_triplets, rejected_path
from tripletforge.generate.backends import Backend
from tripletforge.generate.requests import GenerationRequest, SamplingParams

pytest.importorskip("xllamacpp")
SEEDS = ENGLISH_SEEDS


def _seed_file(tmp_path: Path, lines: Sequence[str]) -> Path:
    path = tmp_path / "seeds.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _strip_time(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "created_at"}


@pytest.fixture(scope="module")
def smollm2():
    from tripletforge.generate.backends import get_backend

    backend = get_backend("llamacpp", "smollm2-135m", parallel=4, threads=1)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def smollm2_one_slot():
    """One slot: with several, continuous batching can change float rounding (llama.cpp)."""
    from tripletforge.generate.backends import get_backend

    backend = get_backend("llamacpp", "smollm2-135m", parallel=1, threads=1)
    yield backend
    backend.close()


def test_end_to_end_resume_and_determinism(tmp_path: Path, smollm2_one_slot: Backend) -> None:
    smollm2 = smollm2_one_slot
    seeds = _seed_file(tmp_path, [*SEEDS[:5], "", SEEDS[0]])
    out = tmp_path / "triplets.jsonl"
    config = GenerationConfig(
        seed_file=seeds,
        out=out,
        lang="eng",
        k=2,
        max_tokens=24,
        seed=3,
        chunk_size=5,
        parquet=True,
        progress=False,
    )
    stats = generate_triplets(config, backend=smollm2)
    assert stats.seed_report and stats.seed_report.skipped_by_reason == {
        "empty text": 1,
        "duplicate seed": 1,
    }
    rows, report = read_jsonl(out)
    rejected, _ = read_jsonl(rejected_path(out))
    assert not report.bad_rows and stats.written == len(rows) and stats.rejected == len(rejected)
    assert stats.written + stats.rejected == 5 and stats.written >= 1
    assert {r["seed_id"] for r in rows + rejected} == {seed_id_for(s, "eng") for s in SEEDS[:5]}
    for row in rows:
        assert set(TRIPLET_COLUMNS) | set(TRIPLET_PROVENANCE_COLUMNS) <= set(row)
        assert row["backend"] == "llamacpp" and row["model_id"] == "smollm2-135m"
        assert len(row["model_sha256"]) == 64 and row["prompt_id"].endswith("chat-v3")
        assert len(row["shot_ids"]["positive"]) == 2 and row["sampling"]["max_tokens"] == 24
        assert row["positive"] and row["negative"] and row["anchor"] in SEEDS
        assert row["raw_positive"] is not None and row["positive_lang"] == "eng"
    assert stats.tokens_generated > 0 and stats.triplets_per_s > 0
    assert pq.read_table(stats.parquet_path).num_rows == len(rows)
    # a second run does nothing
    again = generate_triplets(config, backend=smollm2)
    assert again.already_done == 5 and again.written == 0 and again.requests == 0
    # drop the last two finished anchors, resume with another chunking: same rows come back
    everything = [json.loads(line) for line in out.read_text().splitlines()]
    if len(everything) >= 2:
        out.write_text("".join(json.dumps(r) + "\n" for r in everything[:-2]))
        generate_triplets(config.model_copy(update={"chunk_size": 1}), backend=smollm2)
        resumed = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted(map(json.dumps, map(_strip_time, resumed))) == sorted(
            map(json.dumps, map(_strip_time, everything))
        )


def test_llamacpp_runs_the_passes_of_an_anchor_on_one_slot(smollm2: Backend) -> None:
    """Pinned slots: each negative pass reuses its positive pass's prompt from the KV cache."""
    from tripletforge.data.schemas import SeedSentence
    from tripletforge.generate.strategies import StrategyContext, derive_seed, make_strategy

    strategy = make_strategy("icl", StrategyContext(chat=True, k=2))
    requests = []
    for text in SEEDS[3:]:
        seed = SeedSentence(text=text, lang="eng", seed_id=seed_id_for(text, "eng"))
        requests += strategy.plan(
            seed, ["positive", "negative"], anchor_seed=derive_seed(9, text), attempt=0
        )
    prompt, cached = smollm2.prompt_tokens, smollm2.cached_tokens  # type: ignore[attr-defined]
    outputs = smollm2.generate(requests, SamplingParams(temperature=0.7, max_tokens=4))
    assert len(outputs) == len(requests) == 6
    prompt = smollm2.prompt_tokens - prompt  # type: ignore[attr-defined]
    cached = smollm2.cached_tokens - cached  # type: ignore[attr-defined]
    # every negative pass finds its ~250-token shared prefix in the slot's cache
    assert cached >= 3 * 150 and prompt > 0


def _anchor(request: GenerationRequest) -> str:
    """The premise a scripted backend answers (the line after the prompt's label)."""
    return (request.text or "").rsplit("Premise (English): ", 1)[1].split("\n")[0]


class _Scripted(Backend):
    """A test backend: echoes the anchor for seeds containing 'bad', else valid sentences."""

    name = "scripted"

    def __init__(self) -> None:
        super().__init__()
        self.model_id = "scripted"
        self.supports_chat = False

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        outputs = []
        for r in requests:
            anchor = _anchor(r)
            if "bad" in anchor:
                outputs.append(anchor)
            else:
                outputs.append(f" Sure, here it is: “{r.pass_} of {anchor}”")
        return outputs


def test_rejected_anchors_go_to_side_file(tmp_path: Path) -> None:
    seeds = _seed_file(tmp_path, ["a good one.", "a bad one.", "another good one."])
    out = tmp_path / "t.jsonl"
    config = GenerationConfig(
        seed_file=seeds, out=out, lang="eng", max_attempts=3, progress=False, k=1
    )
    stats = generate_triplets(config, backend=_Scripted())
    rows, _ = read_jsonl(out)
    (bad,), _ = read_jsonl(rejected_path(out))
    assert [r["positive"] for r in rows] == [
        "positive of a good one.",
        "positive of another good one.",
    ]
    assert bad["anchor"] == "a bad one." and bad["attempts"] == {"positive": 2, "negative": 2}
    assert bad["reasons"].count("positive: same_as_anchor") == 3
    assert stats.rejections == {"same_as_anchor": 6} and stats.requests == 3 * 2 + 2 * 2
    assert (
        generate_triplets(config, backend=_Scripted()).already_done == 3
    )  # rejected count as done


class _Thinker(_Scripted):
    """Thinks aloud first; cut off for seeds with 'cut', answers in markup for 'html'."""

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        outputs = []
        for r in requests:
            anchor = _anchor(r)
            if "cut" in anchor:
                outputs.append("<think>\nThe premise mentions")
            elif "html" in anchor:
                outputs.append(f"<think>ok</think><b>{r.pass_}</b> of it.")
            else:
                outputs.append(f"<think>\nThe premise.\n</think>\n\n{r.pass_} of {anchor}")
        return outputs


def test_reasoning_and_markup_rejections_are_counted(tmp_path: Path) -> None:
    seeds = _seed_file(tmp_path, ["a good one.", "a cut one.", "an html one."])
    out = tmp_path / "t.jsonl"
    config = GenerationConfig(
        seed_file=seeds, out=out, lang="eng", max_attempts=3, progress=False, k=1
    )
    stats = generate_triplets(config, backend=_Thinker())
    rows, _ = read_jsonl(out)
    assert [(r["positive"], r["negative"]) for r in rows] == [
        ("positive of a good one.", "negative of a good one.")
    ]
    assert stats.rejections == {"reasoning_unfinished": 6, "markup": 6}
    assert "reasoning_unfinished: 6" in stats.summary()


def test_cli_reports_unknown_language(tmp_path: Path) -> None:
    seeds = _seed_file(tmp_path, SEEDS[:1])
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--seed-file",
            str(seeds),
            "--lang",
            "xyz",
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 2
    assert "unknown language code 'xyz'" in result.output and "register_language" in result.output


def test_kill_minus_9_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    seeds = _seed_file(tmp_path, SEEDS)
    out = tmp_path / "killed.jsonl"
    command = [
        sys.executable,
        "-m",
        "tripletforge.cli.main",
        "generate",
        "--seed-file",
        str(seeds),
        "--lang",
        "eng",
        "--out",
        str(out),
        "--k",
        "0",
        "--prompt-format",
        "completion",
        "--max-tokens",
        "24",
        "--chunk-size",
        "1",
        "--quiet",
        "-B",
        "threads=1",
        "-B",
        "parallel=2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 1:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = out.read_bytes().count(b"\n")
    assert 1 <= done_at_kill < len(SEEDS)
    with open(out, "ab") as handle:  # what a kill in the middle of a write leaves behind
        handle.write(b'{"anchor": "A dog sleeps on the sofa.", "seed_id": "')
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    rows, report = read_jsonl(out)
    rejected, _ = read_jsonl(rejected_path(out))
    ids = [r["seed_id"] for r in rows + rejected]
    assert not report.bad_rows and len(ids) == len(set(ids))
    assert set(ids) == {seed_id_for(s, "eng") for s in SEEDS}


def test_a_seed_file_with_no_usable_row_is_an_error_naming_it(tmp_path: Path) -> None:
    """A Latin-1 seed file (every line invalid UTF-8) stops `generate` with exit 2 and the fix,
    instead of writing 0 triplets and exiting 0."""
    from typer.testing import CliRunner

    from tripletforge.cli.main import app

    seeds = tmp_path / "latin1.txt"
    seeds.write_bytes("Ça va très bien.\nÉté à Genève.\n".encode("latin-1"))
    result = CliRunner().invoke(
        app, ["generate", "--seed-file", str(seeds), "--lang", "fra", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert "no usable seed sentence" in result.output and "invalid UTF-8: 2" in result.output
    assert "UTF-8" in result.output and "Traceback" not in result.output


def test_filter_cli_names_the_line_of_every_skipped_row(tmp_path: Path) -> None:
    """`tripletforge filter` prints each skipped row as file:line: reason, as `generate` does."""
    from typer.testing import CliRunner

    from tripletforge.cli.main import app

    table = tmp_path / "trip.tsv"
    table.write_text(
        "anchor\tpositive\tnegative\n"
        '"Ina zuwa kasuwa," in ji Musa.\tI am going to the market.\tI stay home.\n'
        "\tan empty anchor\tx\n"
        "too few columns\n",
        encoding="utf-8",
    )
    out = tmp_path / "kept.jsonl"
    result = CliRunner().invoke(
        app, ["filter", str(table), "-o", str(out), "--filters", "length", "--no-teacher"]
    )
    assert result.exit_code == 0, result.output
    assert f"skipped {table}:3:" in result.output and f"skipped {table}:4:" in result.output
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["anchor"] for row in kept] == ['"Ina zuwa kasuwa," in ji Musa.']
