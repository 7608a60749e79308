"""Benchmark the generation runner against a seed-style loop and raw llama.cpp.

    OMP_NUM_THREADS=1 python bench/bench_generate.py --anchors 16 --max-tokens 32

Same model everywhere (SmolLM2-135M-Instruct; dequantised from its GGUF for transformers),
same prompts (icl, k shots, chat template, two passes per anchor), same sampling:

1. seed-style loop: plain HF ``generate`` over the prompts in input order, padded to 256
   tokens (or the longest prompt), fixed batch, no parsing or retries;
2. the runner on the ``transformers`` backend (length-sorted batches, dynamic padding);
3. the runner on the ``llamacpp`` backend (the offline default): two passes with the passes of
   an anchor pinned to one slot (prefix reuse), the same without pinning, and ``--joint``;
4. raw llama.cpp: the same prompts sent one at a time, in order, to an ``xllamacpp`` server
   with one slot (its prompt cache on): the machine's practical limit for these prompts.

Every runner row gets a fresh backend (no prompt cache carried over from another row). Prints
triplets/s and tokens/s of each, the prompt tokens processed, and the ratios (runner / seed
loop, runner / raw).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tripletforge.data.schemas import SeedSentence, seed_id_for
from tripletforge.generate import GenerationConfig, generate_triplets
from tripletforge.generate.backends import get_backend
from tripletforge.generate.generators import resolve_gguf
from tripletforge.generate.pool import load_pool
from tripletforge.generate.prompts import render_prompt
from tripletforge.generate.strategies import StrategyContext, derive_seed, make_strategy
from tripletforge.models.generators import resolve_generator


def _anchors(n: int) -> list[str]:
    pool, _ = load_pool()
    return [e.anchor for e in pool[-n:]]


def _requests(anchors: list[str], k: int, seed: int) -> list:
    strategy = make_strategy("icl", StrategyContext(chat=True, k=k))
    requests = []
    for text in anchors:
        s = SeedSentence(text=text, lang="eng", seed_id=seed_id_for(text, "eng"))
        requests += strategy.plan(
            s, ["positive", "negative"], anchor_seed=derive_seed(seed, s.seed_id), attempt=0
        )
    return requests


def seed_style_loop(
    model, tokenizer, requests, max_tokens: int, batch: int
) -> tuple[float, int, int]:
    """Plain HF generate, inputs padded to 256 tokens, fixed batch.

    Returns (seconds, generated tokens, prompt tokens processed).
    """
    import torch

    prompts = [render_prompt(r, tokenizer) for r in requests]
    longest = max(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    tokens = prompt = 0
    start = time.perf_counter()
    for i in range(0, len(prompts), batch):
        enc = tokenizer(
            prompts[i : i + batch],
            return_tensors="pt",
            padding="max_length",
            max_length=max(256, longest),
            add_special_tokens=False,
        )
        torch.manual_seed(i)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=max_tokens,
                do_sample=True,
                temperature=0.7,
                top_p=0.95,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, enc["input_ids"].shape[1] :]
        tokens += int((new != tokenizer.pad_token_id).sum())
        prompt += enc["input_ids"].numel()
        tokenizer.batch_decode(new, skip_special_tokens=True)
    return time.perf_counter() - start, tokens, prompt


def raw_llamacpp(requests, max_tokens: int, threads: int) -> tuple[float, int, int]:
    """The same chat prompts, one request at a time, straight to an xllamacpp server."""
    from tripletforge.generate.backends.llamacpp import start_server

    server = start_server(
        resolve_gguf("smollm2-135m"),
        parallel=1,
        ctx_per_slot=2048,
        threads=threads,
        gpu_layers=0,
    )
    server.handle_chat_completions(
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    )
    tokens = prompt = 0
    start = time.perf_counter()
    for r in requests:
        result = server.handle_chat_completions(
            {
                "messages": list(r.messages),
                "max_tokens": max_tokens,
                "temperature": 0.7,
                "seed": r.seed,
            }
        )
        tokens += result["usage"]["completion_tokens"]
        prompt += result["timings"]["prompt_n"]
    return time.perf_counter() - start, tokens, prompt


Row = tuple[float, float, int, int | None]  # seconds, triplets, tokens, prompt tokens processed


def _run(config: GenerationConfig, backend) -> Row:
    stats = generate_triplets(config, backend=backend)
    prompt = getattr(backend, "prompt_tokens", None)
    return stats.elapsed_s, stats.written, stats.tokens_generated, prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=16)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    parser.add_argument("--skip-hf", action="store_true", help="only the llama.cpp comparisons")
    args = parser.parse_args()

    anchors = _anchors(args.anchors)
    requests = _requests(anchors, args.k, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    (tmp / "seeds.txt").write_text("\n".join(anchors) + "\n")
    common = {
        "seed_file": tmp / "seeds.txt",
        "lang": "eng",
        "k": args.k,
        "max_tokens": args.max_tokens,
        "chunk_size": args.anchors,
        "progress": False,
    }
    results: dict[str, Row] = {}

    def llama(**options):
        return get_backend(
            "llamacpp", "smollm2-135m", parallel=args.batch, threads=args.threads, **options
        )

    for name, options, joint in (
        ("runner llamacpp", {}, False),
        ("runner llamacpp (no pinning)", {"pin_slots": False}, False),
        ("runner llamacpp --joint", {}, True),
    ):
        with llama(**options) as backend:
            config = GenerationConfig(out=tmp / f"{len(results)}.jsonl", joint=joint, **common)
            results[name] = _run(config, backend)
    seconds, tokens, prompt = raw_llamacpp(requests, args.max_tokens, args.threads)
    results["raw llama.cpp (sequential)"] = (seconds, len(anchors), tokens, prompt)

    if not args.skip_hf:
        import torch

        from tripletforge.generate.backends.transformers_backend import load_causal_lm

        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        model, tokenizer = load_causal_lm(resolve_generator("smollm2-135m"))
        print(f"dequantised SmolLM2 loaded in {time.perf_counter() - t0:.0f} s")
        seconds, tokens, prompt = seed_style_loop(
            model, tokenizer, requests, args.max_tokens, args.batch
        )
        results["seed-style HF loop (pad 256)"] = (seconds, len(anchors), tokens, prompt)
        hf = get_backend(
            "transformers",
            "smollm2-135m",
            model_obj=model,
            tokenizer=tokenizer,
            batch_size=args.batch,
        )
        results["runner transformers"] = _run(GenerationConfig(out=tmp / "hf.jsonl", **common), hf)

    setup = f"k={args.k}, max_tokens={args.max_tokens}, threads={args.threads}"
    print(f"\n{args.anchors} anchors ({2 * args.anchors} requests), {setup}")
    print(f"{'':32s} {'seconds':>8s} {'triplets/s':>11s} {'tokens/s':>9s} {'prompt tok':>11s}")
    rate = {}
    for name, (seconds, triplets, tokens, prompt) in results.items():
        rate[name] = (triplets / seconds, tokens / seconds)
        shown = "" if prompt is None else str(prompt)
        print(f"{name:32s} {seconds:8.1f} {rate[name][0]:11.3f} {rate[name][1]:9.1f} {shown:>11s}")
    print("(triplets/s of the raw and seed-loop rows: anchors/s, every output counted)\n")
    raw = rate["raw llama.cpp (sequential)"]
    print(f"runner llamacpp / raw llama.cpp tokens/s: {rate['runner llamacpp'][1] / raw[1]:.2f}x")
    if "seed-style HF loop (pad 256)" in rate:
        seed_loop = rate["seed-style HF loop (pad 256)"][0]
        for name in results:
            if name.startswith("runner"):
                ratio = rate[name][0] / seed_loop
                print(f"{name} / seed-style loop triplets/s: {ratio:.2f}x (goal 3x)")


if __name__ == "__main__":
    main()
