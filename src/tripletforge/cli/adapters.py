"""`tripletforge adapters`: train LoRA adapters for the generator, compose and merge them."""

from __future__ import annotations

import random
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
app = typer.Typer(
    name="adapters",
    help="LoRA adapters for the generator: train, compose, merge, export-gguf.",
    no_args_is_help=True,
)


class Kind(StrEnum):
    task = "task"
    language = "language"
    xlora = "xlora"


class PolarityOpt(StrEnum):
    positive = "positive"
    negative = "negative"


class Method(StrEnum):
    explicit = "explicit"
    cat = "cat"
    linear = "linear"


def _subset(items: list, limit: int | None, seed: int) -> list:
    if limit is None or limit >= len(items):
        return items
    return random.Random(seed).sample(items, limit)


@app.command("train")
def train(
    kind: Annotated[Kind, typer.Option(help="task: English NLI; language: raw text; xlora.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output adapter folder.")],
    base: Annotated[str, typer.Option(help="Built-in generator, folder or hub id.")] = (
        "smollm2-135m"
    ),
    polarity: Annotated[
        PolarityOpt | None, typer.Option(help="task/xlora: entailment or contradiction.")
    ] = None,
    snli: Annotated[
        list[Path] | None, typer.Option(help="task: e-SNLI folder (s1/s2/labels.<split>).")
    ] = None,
    snli_splits: Annotated[str, typer.Option(help="task: comma-separated SNLI splits.")] = (
        "dev,test"
    ),
    xnli: Annotated[
        list[Path] | None, typer.Option(help="task: XNLI TSV file/folder with *_en columns.")
    ] = None,
    pairs: Annotated[
        Path | None, typer.Option(help="xlora: folder with *_pos.csv/*_neg.csv, or a CSV.")
    ] = None,
    text: Annotated[
        Path | None, typer.Option(help="language: text file, one sentence per line.")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="ISO 639-3 code of the data.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use a seeded sample of N examples.")] = None,
    r: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    alpha: Annotated[int, typer.Option(help="LoRA alpha.")] = 16,
    dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.05,
    target_modules: Annotated[
        str, typer.Option(help="'all-linear' or comma-separated module names.")
    ] = "all-linear",
    max_steps: Annotated[int | None, typer.Option(help="Optimiser steps (else epochs).")] = None,
    epochs: Annotated[float, typer.Option(help="Epochs when --max-steps is not set.")] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Examples per micro-batch.")] = 4,
    grad_accum: Annotated[int, typer.Option(help="Micro-batches per step.")] = 1,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 2e-4,
    max_length: Annotated[
        int, typer.Option(help="Max tokens per example (longer: skipped).")
    ] = 256,
    save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
    resume: Annotated[bool, typer.Option(help="Resume from the latest checkpoint.")] = True,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")
    ] = None,
    log_every: Annotated[
        int, typer.Option(help="Print loss and s/step every N steps (0: off).")
    ] = 0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train one LoRA adapter; the output folder loads with ``PeftModel.from_pretrained``.

    Besides the adapter, the folder gets ``train_log.csv`` (step, loss, lr, seconds) and
    ``tripletforge_adapter.json`` (provenance, losses, step times, peak RSS).
    """
    from tripletforge.adapters import data as ad
    from tripletforge.adapters.config import LoraSettings, TrainSettings
    from tripletforge.adapters.train import train_adapter
    from tripletforge.data.languages import UnknownLanguageError, canonical_code
    from tripletforge.data.schemas import ReadReport

    if lang:
        try:
            lang = canonical_code(lang)
        except UnknownLanguageError as exc:
            raise typer.BadParameter(str(exc), param_hint="--lang") from None
    sources: list[str] = []
    reports: list[ReadReport] = []
    examples: list
    if kind in (Kind.task, Kind.xlora) and polarity is None:
        raise typer.BadParameter(
            "--polarity is required for task and xlora", param_hint="--polarity"
        )
    if kind is Kind.task:
        if not snli and not xnli:
            raise typer.BadParameter(
                "give --snli and/or --xnli English NLI data", param_hint="--snli"
            )
        nli: list[ad.NliExample] = []
        for folder in snli or []:
            reports.append(ReadReport(str(folder)))
            splits = [s for s in snli_splits.split(",") if s]
            nli += ad.read_snli_tokenized(folder, splits, reports[-1])
            sources.append(str(folder))
        if xnli:
            reports.append(ReadReport(",".join(map(str, xnli))))
            nli += ad.read_xnli_english(xnli, reports[-1])
            sources += [str(p) for p in xnli]
        examples = ad.nli_pairs(nli, polarity.value)
        lang = lang or "eng"
    elif kind is Kind.xlora:
        if pairs is None:
            raise typer.BadParameter("give --pairs (XL-LoRA CSV or folder)", param_hint="--pairs")
        reports.append(ReadReport(str(pairs)))
        examples = ad.read_xllora_pairs(pairs, polarity.value, reports[-1])
        sources.append(str(pairs))
    else:
        if text is None:
            raise typer.BadParameter("give --text (one sentence per line)", param_hint="--text")
        reports.append(ReadReport(str(text)))
        examples = ad.read_text_lines(text, report=reports[-1])
        sources.append(str(text))
    for report in reports:
        console.print(report.summary())
    examples = _subset(examples, limit, seed)
    console.print(f"{kind.value} adapter on {base}: {len(examples)} examples → {out}")

    if threads:
        import torch

        torch.set_num_threads(threads)
    window: list[tuple[float, float]] = []
    last = [time.perf_counter()]

    def log_step(step: int, loss: float) -> None:
        now = time.perf_counter()
        window.append((loss, now - last[0]))
        last[0] = now
        if log_every and step % log_every == 0:
            losses, secs = zip(*window, strict=True)
            console.print(
                f"step {step}: loss {loss:.4f} (mean of last {len(window)}: "
                f"{sum(losses) / len(losses):.4f}), {sum(secs) / len(secs):.2f} s/step",
                highlight=False,
            )
            window.clear()

    modules: str | list[str] = target_modules
    if target_modules != "all-linear":
        modules = [m.strip() for m in target_modules.split(",") if m.strip()]
    result = train_adapter(
        base,
        examples,
        out,
        kind=kind.value,
        polarity=polarity.value if polarity else None,
        lang=lang,
        lora=LoraSettings(r=r, alpha=alpha, dropout=dropout, target_modules=modules),
        train=TrainSettings(
            max_steps=max_steps,
            epochs=epochs,
            batch_size=batch_size,
            grad_accum=grad_accum,
            lr=lr,
            max_length=max_length,
            save_steps=save_steps,
            seed=seed,
            device=device,
        ),
        resume=resume,
        sources=sources,
        progress=progress,
        on_step=log_step,
    )
    first = result.losses[0] if result.losses else float("nan")
    per_step = result.mean_step_seconds
    rss = result.peak_rss_mb
    console.print(
        f"done: {result.steps} steps (resumed from {result.resumed_from}), loss {first:.4f} → "
        f"{result.final_loss or float('nan'):.4f}, skipped {result.skipped_examples} too long, "
        f"{f'{per_step:.2f}' if per_step is not None else '?'} s/step, "
        f"peak RSS {f'{rss:.0f}' if rss is not None else '?'} MiB; adapter in {result.output_dir}",
        highlight=False,
    )


@app.command("compose")
def compose(
    task: Annotated[Path, typer.Option(help="English task adapter (positive or negative).")],
    lang_target: Annotated[Path, typer.Option(help="Target-language adapter.")],
    lang_english: Annotated[Path, typer.Option(help="English language adapter.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output adapter folder.")],
    lam: Annotated[float, typer.Option("--lambda", help="λ in task + λ·(tgt − en).")] = 1.0,
    method: Annotated[
        Method, typer.Option(help="explicit (exact, no base model), or peft's cat/linear.")
    ] = Method.explicit,
    base: Annotated[
        str | None, typer.Option(help="Base model for cat/linear (default: the task adapter's).")
    ] = None,
) -> None:
    """Compose ``task + λ·(lang_target − lang_english)`` into one PEFT LoRA adapter."""
    from tripletforge.adapters.compose import compose_adapters

    path = compose_adapters(
        task, lang_target, lang_english, out, lam=lam, method=method.value, base_model=base
    )
    console.print(f"composed adapter ({method.value}, λ={lam}) in {path}")


@app.command("plot")
def plot(
    adapters: Annotated[list[Path], typer.Argument(help="Adapter folders (one curve each).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output PNG.")],
    window: Annotated[int, typer.Option(help="Moving-average window in steps.")] = 10,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
) -> None:
    """Plot the training loss curves of adapters (from their ``train_log.csv``) into a PNG."""
    from tripletforge.adapters.report import plot_loss_curves

    console.print(f"loss curves in {plot_loss_curves(adapters, out, window=window, title=title)}")


@app.command("merge")
def merge(
    adapter: Annotated[Path, typer.Option(help="PEFT adapter folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    base: Annotated[str | None, typer.Option(help="Base model (default: from the adapter).")] = (
        None
    ),
) -> None:
    """Fold an adapter into its base model and save a plain safetensors model folder."""
    from tripletforge.adapters.merge import merge_adapter

    console.print(f"merged model in {merge_adapter(adapter, out, base)}")


@app.command("export-gguf")
def export_gguf(
    adapter: Annotated[Path, typer.Option(help="PEFT LoRA adapter folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .gguf LoRA file.")],
    base_gguf: Annotated[
        str, typer.Option(help="The base model's GGUF file, or a built-in generator name.")
    ] = "smollm2-135m",
) -> None:
    """Export an adapter as a llama.cpp GGUF LoRA (for the llamacpp backend)."""
    from tripletforge.adapters.gguf_lora import export_gguf_lora
    from tripletforge.models.generators import GGUF_GENERATORS, generator_gguf_path

    base = generator_gguf_path(base_gguf) if base_gguf in GGUF_GENERATORS else Path(base_gguf)
    console.print(f"GGUF LoRA in {export_gguf_lora(adapter, base, out)}")


def register(root: typer.Typer) -> None:
    """Add the ``adapters`` command group to the app."""
    root.add_typer(app, name="adapters")
