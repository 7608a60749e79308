"""`tripletforge adapters`: train LoRA adapters for the generator, compose and merge them."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.adapters.config import AdapterData, AdapterTrainSettings, LoraSettings
from tripletforge.cli.common import command, resolve_settings, settings_options, with_options
from tripletforge.cli.output import console

app = typer.Typer(
    name="adapters",
    help="LoRA adapters for the generator: train, compose, merge, export-gguf.",
    no_args_is_help=True,
)


class Method(StrEnum):
    explicit = "explicit"
    cat = "cat"
    linear = "linear"


_TRAIN_OPTIONS = settings_options(AdapterData, LoraSettings, AdapterTrainSettings)


@command(app, "train")
@with_options(_TRAIN_OPTIONS)
def train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output adapter folder.")],
    base: Annotated[str, typer.Option(help="Built-in generator, folder or hub id.")] = (
        "smollm2-135m"
    ),
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML with the settings below; flags override it."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Resume from the latest checkpoint.")] = True,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")
    ] = None,
    log_every: Annotated[
        int, typer.Option(help="Print loss and s/step every N steps (0: off).")
    ] = 0,
    **options: Any,
) -> None:
    """Train one LoRA adapter; the output folder loads with `PeftModel.from_pretrained`.

    Besides the adapter, the folder gets `train_log.csv` (step, loss, lr, seconds) and
    `tripletforge_adapter.json` (provenance, losses, step times, peak RSS).
    """
    from tripletforge.adapters.data import load_adapter_examples
    from tripletforge.adapters.train import train_adapter
    from tripletforge.cli.output import console, print_read_report, progress_enabled

    fields = resolve_settings(ctx, options, config, AdapterData, LoraSettings, AdapterTrainSettings)
    modules = fields.get("target_modules")
    if isinstance(modules, str) and modules != "all-linear":  # comma-separated module names
        fields["target_modules"] = [m.strip() for m in modules.split(",") if m.strip()]
    data = AdapterData(**{k: v for k, v in fields.items() if k in AdapterData.model_fields})
    lora = LoraSettings(**{k: v for k, v in fields.items() if k in LoraSettings.model_fields})
    settings = AdapterTrainSettings(
        **{k: v for k, v in fields.items() if k in AdapterTrainSettings.model_fields}
    )
    examples, sources, reports = load_adapter_examples(data, settings.seed)
    out_console = console()
    for report in reports:
        print_read_report(report)
    out_console.print(
        f"{data.adapter_type} adapter on {base}: {len(examples)} examples → {out}", highlight=False
    )
    if threads:
        import torch

        torch.set_num_threads(threads)
    result = train_adapter(
        base,
        examples,
        out,
        adapter_type=data.adapter_type,
        polarity=data.polarity,
        lang=data.lang or ("eng" if data.adapter_type == "task" else None),
        lora=lora,
        train=settings,
        resume=resume,
        sources=sources,
        progress=progress_enabled(),
        on_step=_step_logger(log_every),
    )
    first = result.losses[0] if result.losses else float("nan")
    per_step = result.mean_step_seconds
    rss = result.peak_rss_mb
    out_console.print(
        f"done: {result.steps} steps (resumed from {result.resumed_from}), loss {first:.4f} → "
        f"{result.final_loss or float('nan'):.4f}, skipped {result.skipped_examples} too long, "
        f"{f'{per_step:.2f}' if per_step is not None else '?'} s/step, "
        f"peak RSS {f'{rss:.0f}' if rss is not None else '?'} MiB; adapter in {result.output_dir}",
        highlight=False,
    )


def _step_logger(every: int):
    """An ``on_step`` callback printing the mean loss and s/step every ``every`` steps."""
    from tripletforge.cli.output import console

    window: list[tuple[float, float]] = []
    last = [time.perf_counter()]

    def log_step(step: int, loss: float) -> None:
        now = time.perf_counter()
        window.append((loss, now - last[0]))
        last[0] = now
        if every and step % every == 0:
            losses, secs = zip(*window, strict=True)
            console().print(
                f"step {step}: loss {loss:.4f} (mean of last {len(window)}: "
                f"{sum(losses) / len(losses):.4f}), {sum(secs) / len(secs):.2f} s/step",
                highlight=False,
            )
            window.clear()

    return log_step


@command(app, "compose")
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
    """Compose `task + λ·(lang_target − lang_english)` into one PEFT LoRA adapter."""
    from tripletforge.adapters.compose import compose_adapters

    path = compose_adapters(
        task, lang_target, lang_english, out, lam=lam, method=method.value, base_model=base
    )
    console().print(f"composed adapter ({method.value}, λ={lam}) in {path}")


@command(app, "plot")
def plot(
    adapters: Annotated[list[Path], typer.Argument(help="Adapter folders (one curve each).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output PNG.")],
    window: Annotated[int, typer.Option(help="Moving-average window in steps.")] = 10,
    title: Annotated[str | None, typer.Option(help="Figure title.")] = None,
) -> None:
    """Plot the training loss curves of adapters (from their `train_log.csv`) into a PNG."""
    from tripletforge.adapters.report import plot_loss_curves

    console().print(f"loss curves in {plot_loss_curves(adapters, out, window=window, title=title)}")


@command(app, "merge")
def merge(
    adapter: Annotated[Path, typer.Option(help="PEFT adapter folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    base: Annotated[str | None, typer.Option(help="Base model (default: from the adapter).")] = (
        None
    ),
) -> None:
    """Fold an adapter into its base model and save a plain safetensors model folder."""
    from tripletforge.adapters.merge import merge_adapter

    console().print(f"merged model in {merge_adapter(adapter, out, base)}")


@command(app, "export-gguf")
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
    console().print(f"GGUF LoRA in {export_gguf_lora(adapter, base, out)}")


def register(root: typer.Typer) -> None:
    """Add the ``adapters`` command group to the app."""
    root.add_typer(app, name="adapters")
