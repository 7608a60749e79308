"""Training throughput of ``tripletforge train`` against a plain SentenceTransformerTrainer loop.

Both run MNRL with the hard negative on the same model, rows, batch size, sequence length,
seed and prompt (none for e5) and the same frozen word embeddings, each in its own process so
peak RSS is its own. Runs are interleaved (plain, tripletforge, plain, ...) and the ratio is
taken per pair, because absolute times on shared machines are noise. ``--freeze-effect`` adds
``tripletforge train`` without ``freeze_embeddings`` to each round, ``--before-src`` the
tripletforge of another source tree (``before``; e.g. main before a change).

    python bench/bench_train.py --model e5-small --rows 256 --batch-size 32 --max-seq-length 64
    python bench/bench_train.py --model e5-small --rows 128 --repeats 1 --freeze-effect
    python bench/bench_train.py --model e5-small --repeats 1 --before-src /work/main/src
    python bench/bench_train.py --model /path/to/tiny-model --rows 64 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

XLLORA = Path(__file__).resolve().parents[2] / "shared" / "data" / "xllora_generator_data"


def make_rows(n: int) -> list[dict]:
    """The first ``n`` real XL-LoRA triplets, else synthetic ones."""
    if XLLORA.is_dir():
        from tripletforge.data.triplets import read_triplets

        rows, _ = read_triplets(XLLORA)
        return rows[:n]
    return [
        {
            "anchor": f"Sentence number {i} about topic {i % 7}.",
            "positive": f"Topic {i % 7}, item {i}.",
            "negative": f"Nothing about {i + 1}.",
        }
        for i in range(n)
    ]


def clock() -> Any:
    """A trainer callback noting wall and process CPU time from train begin to train end
    (CPU seconds per step are steadier than wall time on shared cores)."""
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.begin = (time.perf_counter(), time.process_time())

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.wall = time.perf_counter() - self.begin[0]
            self.cpu = time.process_time() - self.begin[1]

    return Clock()


def worker(kind: str, args: argparse.Namespace, data: Path) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    out = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    start = time.perf_counter()  # wall time includes imports and model loading for both
    if kind == "tripletforge":
        from tripletforge.train import TrainConfig, train_encoder

        cfg = TrainConfig(
            model=args.model,
            train_files=[data],
            output_dir=out,
            batch_size=args.batch_size,
            max_seq_length=args.max_seq_length,
            epochs=1,
            freeze_embeddings=args.freeze,
            save_steps=10**6,
            logging_steps=10**6,
            warmup_ratio=0.0,
        )
        timer = clock()
        train_encoder(cfg, callbacks=[timer])
        prov = json.loads((out / "tripletforge_training.json").read_text())
        wall = time.perf_counter() - start
        steps, train_s = prov["global_step"], prov["train_metrics"]["train_runtime"]
    else:
        from datasets import Dataset
        from sentence_transformers import SentenceTransformerTrainer
        from sentence_transformers.base.sampler import BatchSamplers
        from sentence_transformers.sentence_transformer import losses
        from sentence_transformers.sentence_transformer.training_args import (
            SentenceTransformerTrainingArguments,
        )

        from tripletforge.models import load_encoder

        model = load_encoder(args.model)
        model.max_seq_length = args.max_seq_length
        if args.freeze:
            model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
        rows = [json.loads(line) for line in data.read_text().splitlines()]
        dataset = Dataset.from_dict(
            {k: [r[k] for r in rows] for k in ("anchor", "positive", "negative")}
        )
        prompt = model.prompts.get(model.default_prompt_name) if model.default_prompt_name else None
        targs = SentenceTransformerTrainingArguments(
            output_dir=str(out),
            per_device_train_batch_size=args.batch_size,
            num_train_epochs=1,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            prompts=prompt,
            report_to="none",
            use_cpu=True,
            save_strategy="no",
            logging_steps=10**6,
            learning_rate=5e-5,
            seed=0,
            data_seed=0,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=targs,
            train_dataset=dataset,
            loss=losses.MultipleNegativesRankingLoss(model, scale=20.0),
            callbacks=[timer := clock()],
        )
        result = trainer.train()
        model.save(str(out))
        wall = time.perf_counter() - start
        steps, train_s = result.global_step, result.metrics["train_runtime"]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "kind": kind,
        "steps": steps,
        "train_s": round(train_s, 2),
        "steps_per_s": round(steps / train_s, 4),
        "cpu_s_per_step": round(timer.cpu / steps, 2),
        "train_wall_s": round(timer.wall, 2),
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss_mb),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="e5-small")
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--no-freeze", dest="freeze", action="store_false")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds")
    parser.add_argument(
        "--freeze-effect", action="store_true", help="also tripletforge with the other freeze"
    )
    parser.add_argument(
        "--before-src", help="also tripletforge from this src folder (before -> after in one run)"
    )
    parser.add_argument("--worker", choices=["tripletforge", "plain"])
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args, Path(args.data))), flush=True)
        return
    from tripletforge.data.triplets import write_triplets

    data = Path(tempfile.mkdtemp(prefix="bench-data-")) / "triplets.jsonl"
    write_triplets(make_rows(args.rows), data)
    rounds = []
    kinds = [("plain", args.freeze), ("tripletforge", args.freeze)]
    if args.freeze_effect:
        kinds.append(("tripletforge", not args.freeze))
    if args.before_src:
        kinds.append(("before", args.freeze))
    for _ in range(args.repeats):
        results = {}
        for kind, freeze in kinds:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                kind,
                "--data",
                str(data),
                "--model",
                args.model,
                "--batch-size",
                str(args.batch_size),
                "--max-seq-length",
                str(args.max_seq_length),
                "--threads",
                str(args.threads),
            ] + ([] if freeze else ["--no-freeze"])
            env = dict(os.environ)
            if kind == "before":  # tripletforge from another source tree (e.g. main)
                env["PYTHONPATH"] = os.pathsep.join([args.before_src, env.get("PYTHONPATH", "")])
                cmd[cmd.index("--worker") + 1] = "tripletforge"
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
            name = kind if freeze == args.freeze else f"{kind}-{'' if freeze else 'no'}freeze"
            results[name] = json.loads(line.removeprefix("RESULT ")) | {"freeze": freeze}
            print(json.dumps(results[name]), f"load {os.getloadavg()[0]:.1f}", flush=True)
        rounds.append(results)
    print(
        f"model={args.model} rows={args.rows} batch={args.batch_size} seq={args.max_seq_length} "
        f"freeze={args.freeze} threads={args.threads} repeats={args.repeats}"
    )

    def ratios(a: str, b: str, cpu: bool = False) -> str:
        if cpu:  # steps per CPU second, a / b
            values = sorted(r[b]["cpu_s_per_step"] / r[a]["cpu_s_per_step"] for r in rounds)
        else:
            values = sorted(r[a]["steps_per_s"] / r[b]["steps_per_s"] for r in rounds)
        each = ", ".join(f"{v:.3f}" for v in values)
        return f"median {statistics.median(values):.3f} (rounds: {each})"

    def rss(a: str, b: str) -> str:
        pairs = ", ".join(f"{r[a]['peak_rss_mb']} / {r[b]['peak_rss_mb']}" for r in rounds)
        return f"peak RSS MB {a} / {b} = {pairs}"

    print(f"steps/s tripletforge / plain = {ratios('tripletforge', 'plain')} (goal >= 1.0)")
    print(f"steps per CPU s tripletforge / plain = {ratios('tripletforge', 'plain', cpu=True)}")
    print(rss("tripletforge", "plain"))
    for other in [k for k in rounds[0] if k not in ("plain", "tripletforge")]:
        print(f"steps/s tripletforge / {other} = {ratios('tripletforge', other)}")
        print(f"steps per CPU s tripletforge / {other} = {ratios('tripletforge', other, True)}")
        print(rss("tripletforge", other))


if __name__ == "__main__":
    main()
