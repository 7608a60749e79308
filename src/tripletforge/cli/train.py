"""`tripletforge train` and `tripletforge mine`: thin drivers over the train library."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer


def _threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def train_command(
    train: Annotated[
        list[Path], typer.Argument(help="triplet files (JSONL/Parquet/CSV/XL-LoRA folder)")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="output model folder")],
    model: Annotated[str, typer.Option(help="built-in name, local folder or hub id")] = "e5-small",
    config: Annotated[Path | None, typer.Option(help="YAML with TrainConfig fields")] = None,
    loss: Annotated[str, typer.Option(help="mnrl | cached_mnrl | gist | cached_gist")] = "mnrl",
    pooling: Annotated[str, typer.Option(help="model | mean | cls | avg_first_last")] = "model",
    freeze_embeddings: Annotated[bool, typer.Option(help="freeze word embeddings")] = True,
    max_seq_length: Annotated[int, typer.Option(help="max tokens per text")] = 64,
    batch_size: Annotated[int, typer.Option(help="triplets per batch")] = 32,
    epochs: Annotated[float, typer.Option(help="training epochs")] = 1.0,
    max_steps: Annotated[int, typer.Option(help="stop after N steps (-1: epochs)")] = -1,
    lr: Annotated[float, typer.Option(help="learning rate")] = 5e-5,
    warmup: Annotated[float, typer.Option(help="warm-up ratio")] = 0.1,
    scale: Annotated[float, typer.Option(help="similarity scale (1/temperature)")] = 20.0,
    dev: Annotated[
        list[str] | None,
        typer.Option(
            help="dev STS pairs: PATH or FORMAT:PATH; repeat as NAME=SPEC (e.g. "
            "hau=semrel:hau_dev.csv) to log one score per language; the mean picks the best"
        ),
    ] = None,
    dev_max_pairs: Annotated[int, typer.Option(help="dev pairs used")] = 1000,
    eval_steps: Annotated[int, typer.Option(help="evaluate every N steps")] = 100,
    save_steps: Annotated[int, typer.Option(help="checkpoint every N steps")] = 100,
    keep_checkpoints: Annotated[
        bool, typer.Option("--keep-checkpoints", help="keep checkpoints (for merge soups)")
    ] = False,
    leak_check: Annotated[
        list[str] | None, typer.Option(help="eval sets: PATH or FORMAT:PATH")
    ] = None,
    keep_leaks: Annotated[bool, typer.Option("--keep-leaks", help="report, do not remove")] = False,
    resume: Annotated[bool, typer.Option(help="resume from the latest checkpoint")] = True,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    threads: Annotated[int | None, typer.Option(help="torch threads")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    gather_across_devices: Annotated[
        bool | None,
        typer.Option(
            "--gather-across-devices/--no-gather-across-devices",
            help="DDP: in-batch negatives from all processes (default: on when world size > 1)",
        ),
    ] = None,
) -> None:
    """Supervised SimCSE (MNRL with hard negatives); saves a sentence-transformers folder.

    Multi-process: ``torchrun --nproc_per_node N -m tripletforge.cli.main train ...`` or
    ``accelerate launch``; ``--batch-size`` is per process.
    """
    import yaml

    from tripletforge.train import TrainConfig, train_encoder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _threads(threads)
    fields = yaml.safe_load(config.read_text()) if config else {}
    fields |= {
        "model": model,
        "train_files": train,
        "output_dir": output,
        "loss": loss,
        "pooling": pooling,
        "freeze_embeddings": freeze_embeddings,
        "max_seq_length": max_seq_length,
        "batch_size": batch_size,
        "epochs": epochs,
        "max_steps": max_steps,
        "learning_rate": lr,
        "warmup_ratio": warmup,
        "scale": scale,
        **_dev_fields(dev or []),
        "dev_max_pairs": dev_max_pairs,
        "eval_steps": eval_steps,
        "save_steps": save_steps,
        "keep_checkpoints": keep_checkpoints or fields.get("keep_checkpoints", False),
        "leak_check": leak_check or [],
        "keep_leaks": keep_leaks,
        "resume": resume,
        "seed": seed,
        "device": device,
        "gather_across_devices": gather_across_devices,
    }
    out = train_encoder(TrainConfig(**fields))
    typer.echo(f"model saved to {out}")


def _dev_fields(specs: list[str]) -> dict:
    """``--dev`` values: one unnamed set → ``dev_set``; ``NAME=SPEC`` → ``dev_sets[NAME]``."""
    named, unnamed = {}, []
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if sep and name and not any(c in name for c in "/:\\."):
            named[name] = rest
        else:
            unnamed.append(spec)
    if len(unnamed) > 1:
        raise typer.BadParameter("give one unnamed --dev set, or name each: --dev hau=FORMAT:PATH")
    fields: dict = {"dev_sets": named} if named else {}
    return fields | ({"dev_set": unnamed[0]} if unnamed else {})


def mine_command(
    pairs: Annotated[Path, typer.Argument(help="(anchor, positive) pairs: JSONL/Parquet/CSV")],
    corpus: Annotated[
        Path, typer.Argument(help="candidate sentences: .txt lines or a text column")
    ],
    out: Annotated[Path, typer.Argument(help="output triplets JSONL")],
    model: Annotated[str, typer.Option(help="encoder used for mining")] = "e5-small",
    range_min: Annotated[int, typer.Option(help="skip the N most similar candidates")] = 10,
    range_max: Annotated[int, typer.Option(help="consider the top N candidates")] = 50,
    relative_margin: Annotated[float | None, typer.Option(help="neg ≤ pos·(1-m)")] = 0.05,
    absolute_margin: Annotated[float | None, typer.Option(help="neg ≤ pos - m")] = None,
    max_score: Annotated[float | None, typer.Option(help="max negative similarity")] = None,
    num_negatives: Annotated[int, typer.Option(help="negatives per pair")] = 1,
    chunk_size: Annotated[int, typer.Option(help="queries per chunk")] = 4096,
    threads: Annotated[int | None, typer.Option(help="torch threads")] = None,
) -> None:
    """Mine hard negatives for pairs from a corpus; write triplets JSONL."""
    from tripletforge.data.pairs import read_anchor_pairs, read_corpus
    from tripletforge.data.triplets import write_triplets
    from tripletforge.models import load_encoder
    from tripletforge.train.mine import MineConfig, mine_negatives

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _threads(threads)
    rows, pairs_report = read_anchor_pairs(pairs)
    texts, corpus_report = read_corpus(corpus)
    reports = (pairs_report, corpus_report)
    cfg = MineConfig(
        range_min=range_min,
        range_max=range_max,
        relative_margin=relative_margin,
        absolute_margin=absolute_margin,
        max_score=max_score,
        num_negatives=num_negatives,
        chunk_size=chunk_size,
    )
    triplets = mine_negatives(rows, texts, load_encoder(model), cfg)
    write_triplets(triplets, out)
    typer.echo(f"{len(triplets)} triplets from {len(rows)} pairs → {out}")
    for report in reports:
        if report.bad_rows:
            typer.echo(report.summary(), err=True)
            for bad in report.bad_rows[:10]:
                typer.echo(f"  skipped {bad}", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("train")(train_command)
    app.command("mine")(mine_command)
