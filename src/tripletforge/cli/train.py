"""`tripletforge train` and `tripletforge mine`: thin drivers over the train library.

Their options are derived from :class:`~tripletforge.train.config.TrainConfig` and
:class:`~tripletforge.train.config.MineConfig` (names, defaults, help); an explicit flag beats
``--config``, which beats the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.cli.common import command, resolve_settings, settings_options, with_options
from tripletforge.train.config import MineConfig, TrainConfig

CONFIG_HELP = "YAML file with settings (field names as below); explicit flags override it."

_TRAIN_OPTIONS = settings_options(
    TrainConfig,
    exclude=("train_files", "train_sets", "output_dir", "dev_set", "dev_sets", "leak_check"),
    flags={"no_duplicates": ("--no-duplicates/--allow-duplicates",)},
)


@with_options(_TRAIN_OPTIONS)
def train_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    train: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILES",
            help="Triplet files (JSONL/Parquet/CSV/TSV, XL-LoRA folder); rows of several tasks "
            "train as one set per task. Or give `train_sets:` in --config instead.",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)] = None,
    dev: Annotated[
        list[str] | None,
        typer.Option(
            help="Dev STS pairs: PATH or FORMAT:PATH; repeat as NAME=SPEC (e.g. "
            "hau=semrel:hau_dev.csv) to log one score per language; the mean picks the best."
        ),
    ] = None,
    leak_check: Annotated[
        list[str] | None, typer.Option(help="Evaluation sets to keep out: PATH or FORMAT:PATH.")
    ] = None,
    **options: Any,
) -> None:
    """Supervised SimCSE (MNRL with hard negatives); saves a sentence-transformers folder.

    Several named training sets (tasks or sources: own columns, per-column prompts, weights;
    batches never mix sets) go in `--config` as `train_sets:`, with `--mixing`.

    Multi-process: `torchrun --nproc_per_node N -m tripletforge.cli.main train ...` or
    `accelerate launch`; `--batch-size` is per process.
    """
    from tripletforge.cli.output import progress_enabled
    from tripletforge.train import train_encoder

    fields = resolve_settings(ctx, options, config, TrainConfig)
    fields["output_dir"] = out
    if train:
        fields["train_files"] = train
    elif not fields.get("train_sets"):
        raise typer.BadParameter(
            "give triplet files, or `train_sets:` in --config", param_hint="FILES"
        )
    if dev:
        fields |= _dev_fields(dev)
    if leak_check:
        fields["leak_check"] = leak_check
    path = train_encoder(TrainConfig(**fields), progress=progress_enabled())
    typer.echo(f"model saved to {path}")


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


@with_options(settings_options(MineConfig))
def mine_command(
    ctx: typer.Context,
    pairs: Annotated[Path, typer.Argument(help="(anchor, positive) pairs: JSONL/Parquet/CSV/TSV.")],
    corpus: Annotated[
        Path, typer.Argument(help="Candidate sentences: a text file (one per line) or a table.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output triplets JSONL.")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help=CONFIG_HELP)] = None,
    threads: Annotated[int | None, typer.Option(help="Torch CPU threads.")] = None,
    **options: Any,
) -> None:
    """Mine hard negatives for pairs from a corpus; write triplets JSONL."""
    from tripletforge.data.pairs import read_anchor_pairs, read_corpus
    from tripletforge.data.triplets import write_triplets
    from tripletforge.models import DEFAULT_ENCODER, load_encoder
    from tripletforge.train.mine import mine_negatives

    settings = MineConfig(**resolve_settings(ctx, options, config, MineConfig))
    if threads:
        import torch

        torch.set_num_threads(threads)
    rows, pairs_report = read_anchor_pairs(pairs)
    texts, corpus_report = read_corpus(corpus)
    triplets = mine_negatives(
        rows, texts, load_encoder(settings.model or DEFAULT_ENCODER), settings
    )
    write_triplets(triplets, out)
    typer.echo(f"{len(triplets)} triplets from {len(rows)} pairs → {out}")
    from tripletforge.cli.output import print_read_report

    for report in (pairs_report, corpus_report):
        if report.bad_rows:
            print_read_report(report)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "train")(train_command)
    command(app, "mine")(mine_command)
