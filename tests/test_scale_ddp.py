"""Multi-process training: `tripletforge train` under torchrun, 2 CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY_CORPUS
from tripletforge.train import PROVENANCE_FILE, TrainConfig
from tripletforge.train.trainer import build_loss, gather_across_devices, prepare_model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gather_is_on_when_distributed(
    tmp_path: Path, tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(model=str(tiny_encoder_dir), train_files=["x"], output_dir=tmp_path)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not gather_across_devices(config)
    assert not build_loss(config, prepare_model(config)).gather_across_devices
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert gather_across_devices(config)
    assert build_loss(config, prepare_model(config)).gather_across_devices
    off = config.model_copy(update={"gather_across_devices": False})
    assert not build_loss(off, prepare_model(off)).gather_across_devices


def test_torchrun_two_cpu_processes(tmp_path: Path, tiny_encoder_dir: Path) -> None:
    data = tmp_path / "train.jsonl"
    rows = [
        {"anchor": f"{s} {i}", "positive": f"positive {i}: {s}", "negative": f"negative {i}"}
        for i, s in enumerate(TINY_CORPUS * 2)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "model"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "tripletforge.cli.main",
        "train",
        str(data),
        "--out",
        str(out),
        "--model",
        str(tiny_encoder_dir),
        "--batch-size",
        "4",
        "--max-steps",
        "3",
        "--threads",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    provenance = json.loads((out / PROVENANCE_FILE).read_text())
    assert provenance["distributed"] == {
        "world_size": 2,
        "ddp_backend": "gloo",
        "gather_across_devices": True,
        "per_device_batch_size": 4,
        "global_batch_size": 8,
    }
    assert provenance["global_step"] == 3 and provenance["train_loss"] > 0
    assert not (out / "checkpoints").exists()

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu")
    assert model.encode(["A dog runs."]).shape == (1, 32)
