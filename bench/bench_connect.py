"""Alignment (connect stage a) speed with and without the cached encoder states, side by side.

Stage (a) revisits every English sentence many times while the multilingual encoder is
frozen, so :class:`tripletforge.connect.align.EncoderStateCache` runs the encoder once per
sentence. This runs the same steps both ways (same model, sentences, batch, seed), each in its
own process, and prints steps/s, wall time, peak RSS and the ratio, and how far apart the two
connectors end (only float noise from padding: the cache must not change the result).

    python bench/bench_connect.py --steps 40                       # e5-small → minilm-en
    python bench/bench_connect.py --encoder DIR --target DIR --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def worker(cache: bool, args: argparse.Namespace) -> dict:
    import torch

    from tripletforge.connect import align as align_module
    from tripletforge.connect import build_connected_model, parse_settings
    from tripletforge.connect.data import alignment_texts

    torch.set_num_threads(args.threads)
    if not cache:
        align_module.CACHE_FLOATS = 0  # never fits: the encoder runs on every step
    settings = parse_settings(
        {
            "encoder": args.encoder,
            "target": args.target,
            "device": "cpu",
            "align": {"max_steps": args.steps, "batch_size": args.batch_size},
        }
    )
    texts = alignment_texts([]).items
    built = build_connected_model(settings)
    start = time.perf_counter()
    report = align_module.align_connector(built, texts, settings.align, progress=False)
    seconds = time.perf_counter() - start
    digest = float(sum(p.detach().double().sum() for p in built.module.connector.parameters()))
    return {
        "cache": cache,
        "steps": report.steps,
        "seconds": round(seconds, 1),
        "steps_per_second": round(report.steps / seconds, 3),
        "last_loss": report.last_loss,
        "connector_sum": digest,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="e5-small")
    parser.add_argument("--target", default="minilm-en")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["cache", "nocache"])
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker == "cache", args)))
        return
    results = []
    for kind in ("cache", "nocache"):
        cmd = [sys.executable, __file__, "--worker", kind, "--encoder", args.encoder,
               "--target", args.target, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--threads", str(args.threads)]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    for r in results:
        print(
            f"{'cached encoder' if r['cache'] else 'encoder every step':20s} {r['steps']} steps "
            f"{r['seconds']:7.1f} s  {r['steps_per_second']:6.3f} steps/s  "
            f"peak RSS {r['peak_rss_mb']} MB  loss {r['last_loss']:.4f}"
        )
    cached, plain = results
    print(f"speed-up of the cache: {cached['steps_per_second'] / plain['steps_per_second']:.2f}x")
    gap = abs(cached["connector_sum"] - plain["connector_sum"])
    print(f"connector parameter sums differ by {gap:.2e} (padding-only float differences)")


if __name__ == "__main__":
    main()
