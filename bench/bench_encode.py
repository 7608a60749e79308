"""Benchmark: encoder throughput and the embedding-cache speed-up of a repeated evaluation.

Not a test: prints figures. Example::

    OMP_NUM_THREADS=2 python bench/bench_encode.py --model e5-small --threads 2
    python bench/bench_encode.py --model /path/to/tiny-model --sentences 500

Throughput is measured on real sentences from the shared data (SemRel2024 hau dev) with the
cache off; the speed-up compares a cold and a warm ``evaluate_model`` run of a ``shared-dev``
subset with one data set of every task type it has (with a temporary cache folder, so earlier
runs do not count). Both runs score with mteb's evaluators; the warm one never loads the model.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5-small", help="built-in name, folder or hub id")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--sentences", type=int, default=400, help="sentences for throughput")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-root", default=os.environ.get("TRIPLETFORGE_DATA_ROOT"))
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=[
            "semrel-hau-dev",
            "tatoeba-amh",
            "sib200-hau-eng",
            "sib200-hau-classification",
            "sib200-hau-clustering",
            "americasnli-aym-dev",
        ],
        help="shared-dev data sets for the cache speed-up run",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    torch.set_num_threads(args.threads)
    from tripletforge.evaluate import evaluate_model, load_suite
    from tripletforge.evaluate.datasets import load_dataset
    from tripletforge.models import load_encoder

    suite = load_suite("shared-dev")
    pairs = load_dataset(suite.select(["semrel-hau-dev"])[0], suite, args.data_root).data
    texts = (pairs.sentence1 + pairs.sentence2) * 4
    texts = texts[: args.sentences]

    started = time.perf_counter()
    model = load_encoder(args.model)
    load_s = time.perf_counter() - started
    model.encode(texts[:8], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    model.encode(texts, batch_size=args.batch_size, show_progress_bar=False)
    encode_s = time.perf_counter() - started
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"model            {args.model}  (load {load_s:.1f}s, {args.threads} threads)")
    print(
        f"throughput       {len(texts) / encode_s:.1f} sentences/s "
        f"({len(texts)} SemRel hau sentences, mean {mean_chars:.0f} chars, batch {args.batch_size})"
    )

    with tempfile.TemporaryDirectory() as cache_dir:
        times = {}
        for label, reuse in (("cold", True), ("rescore", False), ("warm", True)):
            started = time.perf_counter()
            result = evaluate_model(
                args.model,
                suite,
                datasets=args.datasets,
                data_root=args.data_root,
                cache_dir=cache_dir,
                reuse_scores=reuse,
            )
            times[label] = time.perf_counter() - started
            if label == "rescore":
                enc, rescored = result.encoding, result
        size = sum(p.stat().st_size for p in Path(cache_dir).glob("*.sqlite"))
    print(
        f"evaluate cold    {times['cold']:.2f}s   embeddings cached {times['rescore']:.2f}s "
        f"(speed-up {times['cold'] / times['rescore']:.1f}x; {enc['texts']} texts, "
        f"{enc['cache_hits']} hits, scores recomputed)"
    )
    print(
        f"evaluate again   {times['warm']:.2f}s   speed-up {times['cold'] / times['warm']:.1f}x "
        f"(embeddings and scores cached; cache {size / 1e6:.1f} MB)"
    )
    for r in rescored.datasets:
        print(f"  {r.name:28s} {r.task:20s} scored in {r.seconds:.2f}s from cached embeddings")


if __name__ == "__main__":
    main()
