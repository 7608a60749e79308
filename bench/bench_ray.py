"""Overhead of Ray generation against the local runner, on the CPU, same total cores.

    flock /tmp/tf-cpu.lock python bench/bench_ray.py --seeds 48 --workers 2

Both engines run the same seeds (anchors of the shipped SNLI pool), strategy (icl, k shots,
chat), sampling and chunking on the real SmolLM2-135M GGUF (``llamacpp``; or
``--backend transformers``):

- local: one process, one backend with ``--workers`` threads;
- ray: a local Ray instance, ``--workers`` actors with one backend of 1 thread each.

Each timing includes building the backends (model load) and writing the output. ``ray.init``
is timed apart: ``warm`` is a run on a cluster that is already up (the normal case),
``cold`` adds starting Ray. Runs alternate and the best of ``--repeats`` is kept. Prints both
ratios (ray / local; the goal is ≤ 1.10 warm at 2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from tripletforge.generate import GenerationConfig, GenerationStats, generate_triplets
from tripletforge.generate.distributed import RayOptions, generate_triplets_ray, init_ray
from tripletforge.generate.pool import load_pool


def _config(args: argparse.Namespace, seeds: Path, out: Path, threads: int) -> GenerationConfig:
    options: dict[str, object] = {}
    if args.backend == "llamacpp":
        options = {"threads": threads, "parallel": args.parallel}
    return GenerationConfig(
        seed_file=seeds,
        out=out,
        lang="eng",
        backend=args.backend,
        model=args.model,
        k=args.k,
        max_tokens=args.max_tokens,
        chunk_size=args.chunk_size,
        seed=1,
        progress=False,
        backend_options=options,
    )


def _timed(run: Callable[..., GenerationStats], *args: object) -> tuple[float, GenerationStats]:
    start = time.perf_counter()
    stats = run(*args)
    return time.perf_counter() - start, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-file", type=int, default=48)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="llamacpp", choices=["llamacpp", "transformers"])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=8, help="llama.cpp slots per backend")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import ray

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    anchors = list(dict.fromkeys(e.anchor for e in load_pool("snli-en")[0]))[: args.seeds]
    seeds = work / "seeds.txt"
    seeds.write_text("\n".join(anchors) + "\n", encoding="utf-8")

    start = time.perf_counter()
    init_ray(RayOptions(num_cpus=args.workers))
    ray_init_s = time.perf_counter() - start
    local_times, ray_times, results = [], [], {}
    for i in range(args.repeats):
        local = _config(args, seeds, work / f"local-{i}.jsonl", threads=args.workers)
        seconds, stats = _timed(generate_triplets, local)
        local_times.append(seconds)
        results["local"] = stats
        remote = _config(args, seeds, work / f"ray-{i}.jsonl", threads=1)
        seconds, stats = _timed(generate_triplets_ray, remote, RayOptions(workers=args.workers))
        ray_times.append(seconds)
        results["ray"] = stats
    ray.shutdown()

    local_s, ray_s = min(local_times), min(ray_times)
    report = {
        "backend": args.backend,
        "seeds": len(anchors),
        "workers": args.workers,
        "max_tokens": args.max_tokens,
        "chunk_size": args.chunk_size,
        "local_s": [round(t, 2) for t in local_times],
        "ray_s": [round(t, 2) for t in ray_times],
        "ray_init_s": round(ray_init_s, 2),
        "local_tokens": results["local"].tokens_generated,
        "ray_tokens": results["ray"].tokens_generated,
        "local_tok_per_s": round(results["local"].tokens_generated / local_s, 1),
        "ray_tok_per_s": round(results["ray"].tokens_generated / ray_s, 1),
        "ratio_warm": round(ray_s / local_s, 3),
        "ratio_cold": round((ray_s + ray_init_s) / local_s, 3),
    }
    print(json.dumps(report, indent=2))
    print(
        f"ray/local wall-time ratio at {args.workers} workers: {report['ratio_warm']:.3f} "
        f"(cluster up), {report['ratio_cold']:.3f} (including ray.init)"
    )


if __name__ == "__main__":
    main()
