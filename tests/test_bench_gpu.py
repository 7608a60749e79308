"""bench/gpu.py in its small mode: tiny random models on the CPU, one table out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

GPU_SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"


def _load_gpu_bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", GPU_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_small_mode_prints_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    gpu = _load_gpu_bench()
    results = gpu.main(["--small", "--device", "cpu", "--gen-batches", "1,2"])
    out = capsys.readouterr().out
    table = out[out.index("| measurement |") :].split("\n\n")[0].splitlines()
    assert len(table) == 2 + len(results)  # header, rule, one line per result
    kinds = [r.what for r in results]
    assert kinds[0].startswith("encoder training")
    assert results[0].unit == "steps/s" and results[0].batch == "8 x 16 tok"
    for label in ("no adapter", "LoRA r=4", "seed-style loop"):
        rows = [r for r in results if label in r.what]
        assert [r.batch for r in rows] == ["1", "2"], label
    assert all(r.value > 0 for r in results)
    assert "x seed loop" in results[1].note


def test_full_shapes_are_the_real_models() -> None:
    """The default shapes are e5-small's and SmolLM2-135M's, at the paper's batch."""
    gpu = _load_gpu_bench()
    shapes = gpu.Shapes()
    assert (shapes.enc_vocab, shapes.enc_hidden, shapes.enc_layers) == (250_002, 384, 12)
    assert (shapes.train_batch, shapes.seq_len) == (512, 32)
    assert (shapes.gen_vocab, shapes.gen_hidden, shapes.gen_layers) == (49_152, 576, 30)
    assert shapes.gen_batches == (1, 32, 128)
