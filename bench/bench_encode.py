"""Benchmark: encoder throughput and the embedding-cache speed-up of a repeated evaluation.

Not a test: prints figures. Example::

    OMP_NUM_THREADS=2 python bench/bench_encode.py --model e5-small --threads 2
    python bench/bench_encode.py --model /path/to/tiny-model --sentences 500

Throughput is measured for PyTorch and OpenVINO (``tripletforge.models.openvino``) side by
side on the same real sentences from the shared data (SemRel2024 hau dev), cache off, with
the largest cosine distance between their embeddings. The cache speed-up compares a cold and
a warm ``evaluate_model`` run of a ``shared-dev`` subset with one data set of every task type
it has (with a temporary cache folder, so earlier runs do not count). Both runs score with
mteb's evaluators; the warm one never loads the model.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

# The shared-dev subset both evaluation benchmarks measure (bench_eval.py imports it).
DATASETS = [
    "semrel-hau-dev",
    "tatoeba-amh",
    "sib200-hau-eng",
    "sib200-hau-classification",
    "sib200-hau-clustering",
    "americasnli-aym-dev",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5-small", help="built-in name, folder or hub id")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--sentences", type=int, default=400, help="sentences for throughput")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["torch", "openvino"],
        choices=["torch", "openvino"],
        help="encoder runtimes measured side by side on the same sentences",
    )
    parser.add_argument(
        "--eval-backend",
        default="auto",
        choices=["auto", "torch", "openvino"],
        help="encoder runtime of the cold/warm evaluation runs",
    )
    parser.add_argument("--data-root", default=os.environ.get("TRIPLETFORGE_DATA_ROOT"))
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=DATASETS,
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

    import numpy as np

    from tripletforge.models import resolve_model_path
    from tripletforge.models.openvino import openvino_available, use_openvino

    backends = [b for b in args.backends if b != "openvino" or openvino_available()]
    if len(backends) < len(args.backends):
        print("openvino is not installed: torch only (pip install openvino)")
    mean_chars = sum(map(len, texts)) / len(texts)
    rates: dict[str, float] = {}
    embeddings: dict[str, np.ndarray] = {}
    for backend in backends:
        started = time.perf_counter()
        model = load_encoder(args.model)
        load_s = time.perf_counter() - started
        if backend == "openvino":  # exports the IR into the model folder once, then reuses it
            started = time.perf_counter()
            use_openvino(model, resolve_model_path(args.model), threads=args.threads)
            load_s += time.perf_counter() - started
        model.encode(texts[:8], batch_size=args.batch_size)  # warm-up
        started = time.perf_counter()
        embeddings[backend] = model.encode(
            texts, batch_size=args.batch_size, show_progress_bar=False, normalize_embeddings=True
        )
        rates[backend] = len(texts) / (time.perf_counter() - started)
        print(
            f"throughput {backend:9s} {rates[backend]:.1f} sentences/s (load {load_s:.1f}s; "
            f"{len(texts)} SemRel hau sentences, mean {mean_chars:.0f} chars, "
            f"batch {args.batch_size}, {args.threads} threads)"
        )
        del model
    if len(rates) == 2:
        a, b = embeddings["torch"], embeddings["openvino"]
        distance = float(np.max(1.0 - np.sum(a * b, axis=1)))
        print(
            f"openvino/torch   {rates['openvino'] / rates['torch']:.2f}x "
            f"(max cosine distance {distance:.1e}; goal ≤ 1e-4)"
        )

    with tempfile.TemporaryDirectory() as cache_dir:
        times = {}
        for label, reuse in (("cold", True), ("rescore", False), ("warm", True)):
            started = time.perf_counter()
            result = evaluate_model(
                args.model,
                suite,
                backend=args.eval_backend,
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
