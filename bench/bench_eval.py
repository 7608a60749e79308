"""Evaluation speed: encoder runtimes side by side on the texts a cold evaluation encodes.

Not a test: prints ratios measured in one run (absolute times on shared machines are noise).

    TRIPLETFORGE_DATA_ROOT=/work/shared/data OMP_NUM_THREADS=2 \\
        python bench/bench_eval.py --model e5-small --sample 512 --rounds 2
    python bench/bench_eval.py --sample 0 --cold   # cold and cached evaluation only

1. The texts: a dry ``evaluate_model`` run on the ``shared-dev`` subset (one data set of every
   task type, as ``bench_encode.py``) records every ``encode`` call the evaluation makes
   (texts and prompt) while returning random vectors, so no model runs.
2. Side by side, interleaved for ``--rounds`` rounds on an even sample of those texts (same
   texts, same model weights): ``torch`` as the evaluation encodes today (misses sorted by
   characters, chunks of 256, batch 32), ``bucketed`` (sorted by token count, so batches
   carry less padding) and ``openvino`` (:mod:`tripletforge.models.openvino`, when the
   package is importable). Each prints sentences/s, the ratio to ``torch``, the largest cosine
   distance to ``torch`` (goal <= 1e-4) and the share of padding tokens in its batches.
3. ``--cold``: the real cold-cache evaluation (fresh cache, PyTorch): total time and
   sentences/s, then the same run again from the embedding cache (speed-up, goal >= 10x).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np

from bench_encode import DATASETS  # the same subset as the cache benchmark


def record_calls(args: argparse.Namespace) -> list[tuple[Any, list[str]]]:
    """(prompt, texts) of every model call a cold evaluation makes (dry run, random vectors)."""
    from tripletforge.evaluate import cache as cache_module
    from tripletforge.evaluate import evaluate_model, load_suite

    calls: list[tuple[Any, list[str]]] = []
    real = cache_module.encode_with_prompt
    rng = np.random.default_rng(0)

    def fake(model: Any, texts: list[str], prompt: Any, **kwargs: Any) -> np.ndarray:
        calls.append((prompt, list(texts)))
        vectors = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    cache_module.encode_with_prompt = fake
    try:
        with tempfile.TemporaryDirectory() as cache_dir:
            evaluate_model(
                args.model,
                load_suite("shared-dev"),
                backend="torch",
                datasets=args.datasets,
                data_root=args.data_root,
                cache_dir=cache_dir,
            )
    finally:
        cache_module.encode_with_prompt = real
    return calls


def token_counts(model: Any, texts: list[str], prompt: Any) -> list[int]:
    """Tokens per text as the model sees it (prompt prepended, truncated)."""
    full = [(prompt.text or "") + t for t in texts]
    ids = model.tokenizer(full, truncation=True, max_length=model.max_seq_length)["input_ids"]
    return [len(x) for x in ids]


def padding_share(batches: list[list[int]]) -> tuple[int, int]:
    """(real tokens, padded tokens) of batches given as token counts."""
    real = sum(sum(b) for b in batches)
    padded = sum(len(b) * max(b) for b in batches if b)
    return real, padded


def encode_today(model: Any, texts: list[str], prompt: Any, batch: int) -> tuple[Any, list]:
    """As ``CachingEncoder``: sorted longest first by characters, chunks of 256, and
    sentence-transformers sorting each chunk again by characters into batches."""
    from tripletforge.models.prompts import encode_with_prompt

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), model.get_sentence_embedding_dimension()), dtype=np.float32)
    counts = token_counts(model, texts, prompt)
    batches = []
    for start in range(0, len(order), 256):
        part = order[start : start + 256]
        emb = encode_with_prompt(
            model, [texts[i] for i in part], prompt, batch_size=batch, normalize_embeddings=True
        )
        out[part] = emb
        inner = sorted(part, key=lambda i: -len(texts[i]))
        batches += [[counts[i] for i in inner[s : s + batch]] for s in range(0, len(inner), batch)]
    return out, batches


def encode_bucketed(model: Any, texts: list[str], prompt: Any, batch: int) -> tuple[Any, list]:
    """Sorted by token count (longest first), one ``encode`` call per batch."""
    from tripletforge.models.prompts import encode_with_prompt

    counts = token_counts(model, texts, prompt)
    order = sorted(range(len(texts)), key=lambda i: -counts[i])
    out = np.zeros((len(texts), model.get_sentence_embedding_dimension()), dtype=np.float32)
    batches = []
    for start in range(0, len(order), batch):
        part = order[start : start + batch]
        out[part] = encode_with_prompt(
            model, [texts[i] for i in part], prompt, batch_size=batch, normalize_embeddings=True
        )
        batches.append([counts[i] for i in part])
    return out, batches


def padding_all(model: Any, calls: list[tuple[Any, list[str]]], batch: int) -> None:
    """Padding share of every batch of a whole cold evaluation, today vs bucketed by tokens."""
    today, bucketed = [], []
    for prompt, texts in calls:
        texts = list(dict.fromkeys(texts))
        counts = token_counts(model, texts, prompt)
        by_chars = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        by_tokens = sorted(counts, reverse=True)
        for start in range(0, len(by_chars), 256):
            part = by_chars[start : start + 256]
            today += [[counts[i] for i in part[s : s + batch]] for s in range(0, len(part), batch)]
        bucketed += [by_tokens[s : s + batch] for s in range(0, len(by_tokens), batch)]
    for name, batches in (("today", today), ("bucketed", bucketed)):
        real, padded = padding_share(batches)
        print(f"whole evaluation, {name:8s}: {real} real tokens, {padded} padded "
              f"({1 - real / padded:.1%} padding)")  # fmt: skip


def sample_calls(calls: list[tuple[Any, list[str]]], n: int) -> list[tuple[Any, list[str]]]:
    """Every k-th text of every call (unique texts), about ``n`` in all."""
    total = sum(len(set(t)) for _, t in calls)
    step = max(1, total // n) if n else 1
    return [(p, list(dict.fromkeys(t))[::step]) for p, t in calls if t]


def side_by_side(args: argparse.Namespace, calls: list[tuple[Any, list[str]]]) -> None:
    from tripletforge.models import load_encoder
    from tripletforge.models.openvino import openvino_available, use_openvino

    models = {"torch": load_encoder(args.model)}
    models["bucketed"] = models["torch"]
    if "openvino" in args.backends and openvino_available():
        started = time.perf_counter()
        # the IR goes to a temporary folder here, so a shared model cache is left as it is
        # (``tripletforge evaluate --backend openvino`` keeps it next to the model)
        folder = args.ir_dir or tempfile.mkdtemp(prefix="bench-ir-")
        models["openvino"] = use_openvino(load_encoder(args.model), folder, threads=args.threads)
        print(f"openvino: IR ready in {time.perf_counter() - started:.1f}s (export once, cached)")
    elif "openvino" in args.backends:
        print("openvino is not importable: skipped (pip install openvino)")
    variants = {
        "torch": encode_today,
        "bucketed": encode_bucketed,
        "openvino": encode_today,
    }
    names = [n for n in ("torch", "bucketed", "openvino") if n in models]
    texts = sum(len(t) for _, t in calls)
    for model in models.values():  # warm-up
        model.encode(calls[0][1][:8], batch_size=8)
    rates: dict[str, list[float]] = {n: [] for n in names}
    embeddings: dict[str, np.ndarray] = {}
    pads: dict[str, tuple[int, int]] = {}
    for _ in range(args.rounds):
        for name in names:
            started = time.perf_counter()
            parts, batches = [], []
            for prompt, chunk in calls:
                emb, b = variants[name](models[name], chunk, prompt, args.batch_size)
                parts.append(emb)
                batches += b
            rates[name].append(texts / (time.perf_counter() - started))
            embeddings[name] = np.concatenate(parts)
            pads[name] = padding_share(batches)
            print(f"  {name:9s} {rates[name][-1]:.1f} sentences/s  load {os.getloadavg()[0]:.1f}")
    print(
        f"{texts} texts ({len(calls)} encode calls), batch {args.batch_size}, "
        f"{args.threads} threads, {args.rounds} interleaved rounds"
    )
    base = embeddings["torch"]
    for name in names:
        ratios = [r / t for r, t in zip(rates[name], rates["torch"], strict=True)]
        distance = float(np.max(1.0 - np.sum(embeddings[name] * base, axis=1)))
        real, padded = pads[name]
        print(
            f"{name:9s} {np.median(rates[name]):7.1f} sentences/s  "
            f"x{np.median(ratios):.2f} vs torch "
            f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})  max cosine distance "
            f"{distance:.1e}  padding {1 - real / padded:.0%} of {padded} tokens"
        )


def cold_and_cached(args: argparse.Namespace) -> None:
    from tripletforge.evaluate import evaluate_model, load_suite

    suite = load_suite("shared-dev")
    with tempfile.TemporaryDirectory() as cache_dir:
        times, results = {}, {}
        for label, reuse in (("cold", True), ("embeddings cached", False), ("all cached", True)):
            started = time.perf_counter()
            results[label] = evaluate_model(
                args.model,
                suite,
                backend="torch",
                datasets=args.datasets,
                data_root=args.data_root,
                cache_dir=cache_dir,
                reuse_scores=reuse,
            )
            times[label] = time.perf_counter() - started
    enc = results["cold"].encoding
    print(
        f"cold evaluation {times['cold']:.1f}s total; {enc['texts']} texts, {enc['encoded']} "
        f"encoded in {enc['encode_seconds']:.1f}s = {enc['encoded'] / enc['encode_seconds']:.1f} "
        f"sentences/s (load {os.getloadavg()[0]:.1f})"
    )
    for label in ("embeddings cached", "all cached"):
        print(
            f"{label:17s} {times[label]:.2f}s  speed-up {times['cold'] / times[label]:.1f}x "
            "(goal >= 10x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5-small", help="built-in name, folder or hub id")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sample", type=int, default=512, help="texts side by side (0: none)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    parser.add_argument(
        "--backends", nargs="+", default=["torch", "bucketed", "openvino"], help="variants"
    )
    parser.add_argument("--ir-dir", help="where the OpenVINO IR is exported (default: temp)")
    parser.add_argument("--cold", action="store_true", help="also the real cold/cached runs")
    parser.add_argument("--data-root", default=os.environ.get("TRIPLETFORGE_DATA_ROOT"))
    parser.add_argument("--datasets", nargs="*", default=DATASETS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    calls = record_calls(args)
    total = sum(len(t) for _, t in calls)
    print(f"a cold evaluation encodes {total} texts in {len(calls)} calls")
    from tripletforge.models import load_encoder

    padding_all(load_encoder(args.model), calls, args.batch_size)
    if args.sample > 0:
        side_by_side(args, sample_calls(calls, args.sample))
    if args.cold:
        cold_and_cached(args)


if __name__ == "__main__":
    main()
