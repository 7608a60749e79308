"""Distributed generation on a local Ray instance (2 CPUs, 2 actors) with the real SmolLM2 GGUF."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ENGLISH_SEEDS, tiny_chat_llama
from tripletforge.cli.main import app
from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.schemas import TRIPLET_COLUMNS, TRIPLET_PROVENANCE_COLUMNS, seed_id_for
from tripletforge.generate import GenerationConfig, distributed, generate_triplets
from tripletforge.generate.distributed import RayOptions, generate_triplets_ray

SEEDS = ENGLISH_SEEDS
BACKEND = {"threads": 1, "parallel": 2}


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "created_at"}


def _config(tmp_path: Path, out: str, **update: object) -> GenerationConfig:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(SEEDS) + "\n", encoding="utf-8")
    fields = dict(
        seed_file=seeds,
        out=tmp_path / out,
        lang="eng",
        k=1,
        max_tokens=20,
        seed=5,
        chunk_size=2,
        progress=False,
        backend_options=BACKEND,
    )
    return GenerationConfig(**(fields | update))  # type: ignore[arg-type]


def _rows(config: GenerationConfig) -> list[dict]:
    rows, report = read_jsonl(config.out)
    rejected, _ = read_jsonl(config.rejected_path)
    assert not report.bad_rows
    return rows + rejected


def test_local_engine_never_imports_ray() -> None:
    code = (
        "import sys, tripletforge.generate, tripletforge.generate.distributed, "
        "tripletforge.cli.main\nassert 'ray' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_driver_writes_each_seed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that Ray re-runs after a worker failure is not written twice."""
    config = _config(tmp_path, "dedup.jsonl")
    row = {"anchor": "a", "positive": "b", "negative": "c", "seed_id": "s1"}
    batch = {
        "seed_id": ["s1", "s2"],
        "ok": [True, False],
        "row": [json.dumps(row), json.dumps({"anchor": "x", "seed_id": "s2"})],
        "chunk_stats": [json.dumps({"requests": 4, "tokens": 9, "rejections": {"r": 1}}), ""],
    }
    monkeypatch.setattr(distributed, "_batches", lambda *a: iter([batch, batch]))
    stats = distributed.GenerationStats()
    distributed._drive(config, RayOptions(), [], {"s0"}, stats, 0.0)
    assert [r["seed_id"] for r in read_jsonl(config.out)[0]] == ["s1"]
    assert [r["seed_id"] for r in read_jsonl(config.rejected_path)[0]] == ["s2"]
    assert (stats.written, stats.rejected, stats.requests, stats.tokens_generated) == (1, 1, 8, 18)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with a chat template, saved as a transformers folder."""
    model, tokenizer = tiny_chat_llama(hidden=32, heads=2, max_positions=1024)
    path = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_ray_rows_equal_local_rows(tmp_path: Path, local_ray: None, tiny_lm_dir: Path) -> None:
    """Same per-anchor seeds and chunks ⇒ the same rows, in the same order, on both engines."""
    update = {
        "backend": "transformers",
        "model": str(tiny_lm_dir),
        "max_tokens": 8,
        "max_attempts": 2,
        "chunk_size": 4,  # chunks of 4 and 2 anchors, whatever Ray's block sizes
        "backend_options": {"batch_size": 4},
    }
    local = _config(tmp_path, "local.jsonl", **update)
    generate_triplets(local)
    expected = [_strip(r) for r in _rows(local)]
    assert len(expected) == len(SEEDS)
    config = _config(tmp_path, "ray.jsonl", **update)
    stats = generate_triplets_ray(config, RayOptions(workers=2))
    assert [_strip(r) for r in _rows(config)] == expected
    assert stats.written + stats.rejected == len(SEEDS) and stats.requests >= 2 * len(SEEDS)
    assert stats.tokens_generated > 0 and sum(stats.rejections.values()) >= stats.rejected


def test_ray_cli_resumes_a_killed_run(tmp_path: Path, local_ray: None) -> None:
    """SmolLM2 GGUF on 2 actors finishes a run killed mid-write: nothing lost or duplicated."""
    pytest.importorskip("xllamacpp")
    config = _config(tmp_path, "triplets.jsonl")
    generate_triplets(config)
    everything = _rows(config)
    config.rejected_path.unlink(missing_ok=True)
    config.out.write_text(
        "".join(json.dumps(r) + "\n" for r in everything[:2]) + '{"anchor": "A dog sle'
    )
    args = [
        "generate",
        "--seed-file",
        str(config.seed_file),
        "--out",
        str(config.out),
        "--lang",
        "eng",
    ]
    args += ["--k", "1", "--max-tokens", "20", "--seed", "5", "--chunk-size", "2"]
    args += ["--quiet", "-B", "threads=1", "-B", "parallel=2"]
    result = CliRunner().invoke(app, [*args, "--engine", "ray", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "2 already done" in result.output
    resumed = _rows(config)
    ids = [r["seed_id"] for r in resumed]
    assert len(ids) == len(set(ids)) and set(ids) == {seed_id_for(s, "eng") for s in SEEDS}
    assert resumed[:2] == everything[:2]
    for row in read_jsonl(config.out)[0]:
        assert set(TRIPLET_COLUMNS) | set(TRIPLET_PROVENANCE_COLUMNS) <= set(row)
        assert row["backend"] == "llamacpp" and len(row["model_sha256"]) == 64
        assert row["shot_ids"] and row["seed"] and row["sampling"]["max_tokens"] == 20
    # nothing left to do: no worker is started
    again = generate_triplets_ray(config, RayOptions(workers=2))
    assert again.already_done == len(SEEDS) and again.requests == 0


def test_worker_errors_reach_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's error (here a missing model, as Ray reports it) ends the CLI with code 2."""
    remote = type("ActorDiedError", (Exception,), {"__module__": "ray.exceptions"})

    def fail(*args: object) -> None:
        raise remote("The actor died.\nTraceback ...\nFileNotFoundError: no GGUF at /x.gguf\n")

    monkeypatch.setattr(distributed, "init_ray", lambda options: False)
    monkeypatch.setattr(distributed, "_drive", fail)
    config = _config(tmp_path, "fail.jsonl")
    args = [
        "generate",
        "--seed-file",
        str(config.seed_file),
        "--out",
        str(config.out),
        "--lang",
        "eng",
    ]
    result = CliRunner().invoke(app, [*args, "--engine", "ray", "--quiet"])
    assert result.exit_code == 2
    assert "worker failed: FileNotFoundError: no GGUF at /x.gguf" in " ".join(result.output.split())
