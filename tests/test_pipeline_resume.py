"""`tripletforge run` killed with SIGKILL at a random stage, then re-run: nothing lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from test_pipeline import tiny_config, write_plugin
from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.schemas import seed_id_for
from tripletforge.pipeline.manifest import read_manifest


def _events(path: Path) -> list[dict]:
    rows, _ = read_jsonl(path) if path.exists() else ([], None)
    return rows


def test_kill_minus_9_at_random_stage_then_resume(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path)
    config = tiny_config(tiny_encoder_dir, tmp_path / "runs", languages=["hau"])
    config["generate"]["chunk_size"] = 2  # many durable writes to land a kill between
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(config))
    run = tmp_path / "runs" / "tiny"
    command = [sys.executable, "-m", "tripletforge.cli.main", "run", str(config_path),
               "--quiet", "--no-report"]  # fmt: skip
    path = os.pathsep.join(p for p in (str(plugin), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "FAKE_GEN_DELAY": "0.15",
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    order = [
        "hau/base/evaluate",
        "hau/icl/generate",
        "hau/icl/filter",
        "hau/icl/8/train",
        "hau/icl/8/merge",
        "hau/icl/8/evaluate",
        "hau/icl/16/train",
        "hau/parallel/mine",
    ]
    rng = random.Random()
    target = os.environ.get("TF_KILL_TARGET") or rng.choice(order)  # env: replay one case
    extra_delay = rng.uniform(0.0, 0.6)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if any(e["key"] == target and e["event"] == "start" for e in _events(run / "events.jsonl")):
            time.sleep(extra_delay)
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"run ended before the kill at {target}: {proc.stderr.read()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    first = _events(run / "events.jsonl")
    done_first = {e["key"] for e in first if e["event"] == "done"}
    assert target not in done_first or extra_delay > 0, target

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    events = _events(run / "events.jsonl")
    later = events[len(first) :]
    skipped = {e["key"] for e in later if e["event"] == "skip"}
    started = {e["key"] for e in later if e["event"] == "start"}
    context = f"killed at {target} (+{extra_delay:.2f} s)"
    assert done_first <= skipped and not (done_first & started), context
    done_all = [e["key"] for e in events if e["event"] == "done"]
    assert len(done_all) == len(set(done_all)), context  # each stage finished exactly once
    status = json.loads((run / "run.json").read_text())
    assert status["counts"].get("failed", 0) == 0 and len(status["stages"]) == 17, context
    for stage in status["stages"]:
        manifest = read_manifest(run / stage["key"])
        assert manifest and manifest["status"] == "complete", (context, stage)

    # nothing lost or duplicated in the generated data and in what is trained on
    triplets, report = read_jsonl(run / "hau/icl/generate/triplets.jsonl")
    rejected, _ = read_jsonl(run / "hau/icl/generate/triplets.rejected.jsonl")
    ids = [r["seed_id"] for r in triplets + rejected]
    assert not report.bad_rows and len(ids) == len(set(ids)) == 20, context
    import pandas as pd

    seeds = pd.read_csv(read_manifest(run / "hau/icl/generate")["inputs"]["seed_file"]["path"],
                        sep="\t")["text"].tolist()[:20]  # fmt: skip
    assert set(ids) == {seed_id_for(s, "hau") for s in seeds}, context
    kept, _ = read_jsonl(run / "hau/icl/filter/kept.jsonl")
    funnel = read_manifest(run / "hau/icl/filter")["metrics"]
    assert funnel["rows_in"] == len(triplets) and funnel["rows_out"] == len(kept), context
    for size in (8, 16):
        rows, _ = read_jsonl(run / f"hau/icl/{size}/train/train.jsonl")
        assert rows == kept[:size], context
