"""Benchmark generation per strategy: the runner against a seed-style loop and the raw engine.

    OMP_NUM_THREADS=1 python bench/bench_generate.py --strategy icl,xlora,compose \
        --anchors 16 --max-tokens 32 --batch 8

Same model everywhere (SmolLM2-135M-Instruct: its GGUF for llama.cpp, the same weights
dequantised for transformers), same requests (the strategy's first attempt: ``icl`` k shots in
the chat template, ``xlora``/``compose`` the plain adapter prompt with a LoRA adapter per pass),
same sampling, one try per pass (``max_attempts=1``), so every row does the same work. Each
strategy runs in its own process (fresh model, no cache carried over); the rows of one
strategy run side by side in that process:

1. seed-style loop: plain HF ``generate`` over the requests (adapter strategies: one adapter
   at a time, as a per-polarity script does), inputs padded to 256 tokens (or the longest
   prompt), fixed ``--batch``, no stop strings, parsing or retries;
2. the runner on the ``transformers`` backend (``batch_size=--batch``);
3. the runner on the ``llamacpp`` backend with ``--batch`` slots and with one slot;
4. the raw engine: the same requests sent straight to an ``xllamacpp`` server (the adapters
   loaded as GGUF LoRAs and chosen per request), requests of one adapter together, over the
   same number of slots (all slots busy at once), with its prompt cache on (and, with
   adapters, its host-RAM prompt cache off, as in the backend: that cache is not keyed by
   adapter).

Adapters (``xlora``: positive and negative; ``compose``: task positive/negative, English and
target language parts, composed by the strategy) are random LoRAs of ``--rank`` on every linear
layer, with small B so that outputs stay close to the base model's (the work per token is that
of a trained adapter of that rank); they are built once under ``$TRIPLETFORGE_HOME/bench/``.

Prints, per row, anchors/s (an anchor = its two passes; runner rows count written and rejected
anchors), tokens/s and the prompt tokens processed, then the ratios: each runner row / the
seed-style loop (goal >= 3x) and runner llamacpp / raw engine at the same slots (goal >= 0.9x).
Absolute times on shared machines are noise; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
from tripletforge.paths import cache_dir

MODEL = "smollm2-135m"
STRATEGIES = ("icl", "xlora", "compose")
SEED_LOOP = "seed-style HF loop (pad 256)"
Row = tuple[float, int, int, int | None]  # seconds, anchors, tokens, prompt tokens processed


def _anchors(n: int) -> list[str]:
    pool, _ = load_pool()
    return [e.anchor for e in pool[-n:]]


def random_adapter(base_dir: str, out: Path, rank: int, seed: int, scale: float = 0.02) -> Path:
    """A PEFT LoRA of ``rank`` on every linear layer with random A and small random B."""
    if (out / "adapter_model.safetensors").is_file():
        return out
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False
    )
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.mul_(scale)
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp)
    tmp.replace(out)
    return out


def strategy_setup(strategy: str, rank: int) -> tuple[dict, str]:
    """(strategy_options, mode) with the adapters built (and composed) beforehand."""
    if strategy == "icl":
        return {}, "monolingual"
    base = resolve_generator(MODEL)
    root = cache_dir() / "bench" / f"adapters-r{rank}"
    root.mkdir(parents=True, exist_ok=True)
    if strategy == "xlora":
        options = {
            "positive_adapter": str(random_adapter(base, root / "xlora-positive", rank, 1)),
            "negative_adapter": str(random_adapter(base, root / "xlora-negative", rank, 2)),
        }
        return options, "crosslingual"
    options = {
        "task_positive": str(random_adapter(base, root / "task-positive", rank, 3)),
        "task_negative": str(random_adapter(base, root / "task-negative", rank, 4)),
        "lang_english": str(random_adapter(base, root / "lang-eng", rank, 5)),
        "lang_target": str(random_adapter(base, root / "lang-target", rank, 6)),
        "cache_dir": str(root / "composed"),
    }
    return options, "monolingual"


def plan_requests(
    strategy: str, options: dict, mode: str, anchors: list[str], k: int, chat: bool
) -> list:
    """The runner's first-attempt requests (composes the adapters of ``compose`` once)."""
    plan = make_strategy(strategy, StrategyContext(chat=chat, k=k, mode=mode, options=options))
    requests = []
    for text in anchors:
        s = SeedSentence(text=text, lang="eng", seed_id=seed_id_for(text, "eng"))
        requests += plan.plan(
            s, ["positive", "negative"], anchor_seed=derive_seed(0, s.seed_id), attempt=0
        )
    return requests


def seed_style_loop(model, tokenizer, requests, max_tokens: int, batch: int, peft=None, names=None):
    """Plain HF generate, inputs padded to 256 tokens, fixed batch, one adapter at a time.

    Returns (seconds, generated tokens, prompt tokens processed).
    """
    import torch

    by_adapter: dict[str | None, list] = {}
    for r in requests:
        by_adapter.setdefault(r.adapter, []).append(r)
    prompts = {a: [render_prompt(r, tokenizer) for r in rs] for a, rs in by_adapter.items()}
    longest = max(
        len(tokenizer(p, add_special_tokens=False)["input_ids"])
        for ps in prompts.values()
        for p in ps
    )
    tokens = prompt = 0
    start = time.perf_counter()
    for adapter, texts in prompts.items():
        generator = model
        if adapter is not None:
            peft.set_adapter(names[str(Path(adapter).resolve())])
            generator = peft
        for i in range(0, len(texts), batch):
            enc = tokenizer(
                texts[i : i + batch],
                return_tensors="pt",
                padding="max_length",
                max_length=max(256, longest),
                add_special_tokens=False,
            )
            torch.manual_seed(i)
            with torch.inference_mode():
                out = generator.generate(
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


def raw_engine(requests, max_tokens: int, threads: int, parallel: int) -> tuple[float, int, int]:
    """The same requests straight to an xllamacpp server with ``parallel`` slots.

    Adapters are loaded as GGUF LoRAs (not applied) and each request selects its own; the
    requests of one adapter run together (llama.cpp batches only slots with equal adapters),
    ``parallel`` at a time.
    """
    from tripletforge.generate.backends.llamacpp import gguf_lora, start_server

    gguf = resolve_gguf(MODEL)
    adapters = list(dict.fromkeys(r.adapter for r in requests if r.adapter))
    files = [gguf_lora(a, gguf) for a in adapters]
    server = start_server(
        gguf, parallel=parallel, ctx_per_slot=2048, threads=threads, gpu_layers=0, lora_files=files
    )
    server.handle_chat_completions(
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    )

    def one(r) -> tuple[int, int]:
        body = {
            "max_tokens": max_tokens,
            "temperature": 0.7,
            "top_p": 0.95,
            "seed": r.seed,
            "stop": list(r.stop),
        }
        if files:
            chosen = adapters.index(r.adapter) if r.adapter else -1
            body["lora"] = [
                {"id": i, "scale": 1.0 if i == chosen else 0.0} for i in range(len(files))
            ]
        if r.messages is not None:
            result = server.handle_chat_completions({**body, "messages": list(r.messages)})
        else:
            result = server.handle_completions({**body, "prompt": r.text})
        return result["usage"]["completion_tokens"], result["timings"]["prompt_n"]

    groups: dict[str | None, list] = {}
    for r in requests:
        groups.setdefault(r.adapter, []).append(r)
    tokens = prompt = 0
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for group in groups.values():
            for n_tokens, n_prompt in pool.map(one, group):
                tokens, prompt = tokens + n_tokens, prompt + n_prompt
    seconds = time.perf_counter() - start
    server = None  # frees the model and KV cache
    return seconds, tokens, prompt


def _run(config: GenerationConfig, backend) -> Row:
    stats = generate_triplets(config, backend=backend)
    prompt = getattr(backend, "prompt_tokens", None)
    return stats.elapsed_s, stats.written + stats.rejected, stats.tokens_generated, prompt


def bench_strategy(args: argparse.Namespace) -> dict:
    """Every row of one strategy, side by side in this process."""
    load = [os.getloadavg()[0]]
    strategy = args.strategy
    options, mode = strategy_setup(strategy, args.rank)
    anchors = _anchors(args.anchors)
    chat = strategy == "icl"
    requests = plan_requests(strategy, options, mode, anchors, args.k, chat)
    tmp = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    (tmp / "seeds.txt").write_text("\n".join(anchors) + "\n")
    common = {
        "seed_file": tmp / "seeds.txt",
        "lang": "eng",
        "strategy": strategy,
        "strategy_options": options,
        "mode": mode,
        "k": args.k,
        "max_tokens": args.max_tokens,
        "max_attempts": 1,
        "chunk_size": args.anchors,
        "progress": False,
    }
    adapters = sorted({r.adapter for r in requests if r.adapter})
    rows: dict[str, Row] = {}
    slots = [args.batch, 1] if args.batch > 1 else [1]
    for parallel in slots:
        with get_backend(
            "llamacpp", MODEL, parallel=parallel, threads=args.threads, adapters=adapters
        ) as backend:
            config = GenerationConfig(out=tmp / f"llama{parallel}.jsonl", **common)
            rows[f"runner llamacpp, {parallel} slot(s)"] = _run(config, backend)
        seconds, tokens, prompt = raw_engine(requests, args.max_tokens, args.threads, parallel)
        rows[f"raw engine, {parallel} slot(s)"] = (seconds, len(anchors), tokens, prompt)

    if not args.skip_hf:
        import torch

        from tripletforge.generate.backends.transformers_backend import load_causal_lm

        torch.set_num_threads(args.threads)
        model, tokenizer = load_causal_lm(resolve_generator(MODEL))
        hf = get_backend(
            "transformers", MODEL, model_obj=model, tokenizer=tokenizer, batch_size=args.batch
        )
        for adapter in adapters:  # load outside the timings (the seed loop shares them)
            hf._activate(adapter)
        config = GenerationConfig(out=tmp / "hf.jsonl", backend="transformers", **common)
        rows["runner transformers"] = _run(config, hf)
        seconds, tokens, prompt = seed_style_loop(
            model, tokenizer, requests, args.max_tokens, args.batch, hf._peft, hf._names
        )
        rows[SEED_LOOP] = (seconds, len(anchors), tokens, prompt)
    load.append(os.getloadavg()[0])
    return {"strategy": strategy, "requests": len(requests), "rows": rows, "load": load}


def report(result: dict, args: argparse.Namespace) -> None:
    rows = result["rows"]
    setup = f"k={args.k}, " if result["strategy"] == "icl" else f"LoRA r={args.rank}, "
    print(
        f"\n== {result['strategy']}: {args.anchors} anchors ({result['requests']} requests), "
        f"{setup}max_tokens={args.max_tokens}, batch/slots={args.batch}, threads={args.threads}"
    )
    first, last = result.get("load", [0.0, 0.0])
    cores = os.cpu_count()
    print(f"({cores} cores; 1-minute load average {first:.1f} at start, {last:.1f} at end)")
    print(f"{'':34s} {'seconds':>8s} {'anchors/s':>10s} {'tokens/s':>9s} {'prompt tok':>11s}")
    rate = {}
    for name, (seconds, anchors, tokens, prompt) in rows.items():
        rate[name] = anchors / seconds
        shown = "" if prompt is None else str(prompt)
        print(f"{name:34s} {seconds:8.1f} {rate[name]:10.3f} {tokens / seconds:9.1f} {shown:>11s}")
    if SEED_LOOP in rate:
        for name in rows:
            if name.startswith("runner"):
                ratio = rate[name] / rate[SEED_LOOP]
                print(f"{name} / seed-style loop: {ratio:.2f}x (goal >= 3x)")
    for name in rows:
        if name.startswith("runner llamacpp"):
            raw = name.replace("runner llamacpp", "raw engine")
            print(f"{name} / {raw}: {rate[name] / rate[raw]:.2f}x (goal >= 0.9x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default=",".join(STRATEGIES), help="comma-separated")
    parser.add_argument("--anchors", type=int, default=16)
    parser.add_argument("--k", type=int, default=2, help="icl shots")
    parser.add_argument("--rank", type=int, default=8, help="adapter LoRA rank")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="HF batch and llama.cpp slots")
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    parser.add_argument("--skip-hf", action="store_true", help="only the llama.cpp rows")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    strategies = [s.strip() for s in args.strategy.split(",") if s.strip()]
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategy {unknown}; choose from {', '.join(STRATEGIES)}")
    if args.json:
        print("RESULT " + json.dumps(bench_strategy(args)), flush=True)
        return
    for strategy in strategies:  # one process per strategy: fresh models and caches
        options = {
            "--anchors": args.anchors,
            "--k": args.k,
            "--rank": args.rank,
            "--max-tokens": args.max_tokens,
            "--batch": args.batch,
            "--threads": args.threads,
        }
        cmd = [sys.executable, __file__, "--strategy", strategy, "--json"]
        cmd += [str(x) for item in options.items() for x in item]
        cmd += ["--skip-hf"] if args.skip_hf else []
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"{strategy}: failed\n{out.stderr[-3000:]}", flush=True)
            continue
        report(json.loads(lines[-1].removeprefix("RESULT ")), args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
