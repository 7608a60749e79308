"""`tripletforge connect train`: a thin driver over :func:`tripletforge.connect.train_connected`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="connect",
    help="LUSIFER: connect a multilingual encoder to an English-centric embedding model.",
    no_args_is_help=True,
)


def _set(fields: dict[str, Any], dotted: str, value: Any) -> None:
    """Put ``value`` at ``a.b`` in a nested mapping (flags override the config file)."""
    if value is None:
        return
    *parents, last = dotted.split(".")
    for part in parents:
        fields = fields.setdefault(part, {})
    fields[last] = value


def _one_line(message: str) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[0] + (" " + "; ".join(lines[1:]) if len(lines) > 1 else "")


@app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML with ConnectSettings fields (docs/connect.md)."),
    ] = None,
    encoder: Annotated[
        str | None, typer.Option(help="Frozen multilingual encoder (default e5-small).")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="English-centric target: minilm-en, smollm2-135m, folder or hub id."),
    ] = None,
    target_pooling: Annotated[
        str | None, typer.Option(help="auto | mean | lasttoken | cls (default auto).")
    ] = None,
    learned_tokens: Annotated[
        int | None, typer.Option(help="Learnable tokens appended by the connector (default 4).")
    ] = None,
    align_data: Annotated[
        list[Path] | None,
        typer.Option(
            help="English text for stage (a) (.txt or triplets; repeat).", show_default=False
        ),
    ] = None,
    align_objective: Annotated[
        str | None, typer.Option(help="distill | reconstruct | distill+reconstruct.")
    ] = None,
    align_epochs: Annotated[float | None, typer.Option(help="Stage (a) epochs.")] = None,
    align_steps: Annotated[
        int | None, typer.Option(help="Stage (a) steps (overrides epochs).")
    ] = None,
    align_lr: Annotated[float | None, typer.Option(help="Stage (a) learning rate.")] = None,
    train_data: Annotated[
        list[Path] | None,
        typer.Option(help="English triplets for stage (b) (repeat).", show_default=False),
    ] = None,
    finetune: Annotated[
        bool | None, typer.Option("--finetune/--no-finetune", help="Run stage (b).")
    ] = None,
    finetune_epochs: Annotated[float | None, typer.Option(help="Stage (b) epochs.")] = None,
    finetune_steps: Annotated[
        int | None, typer.Option(help="Stage (b) steps (-1: epochs).")
    ] = None,
    finetune_lr: Annotated[float | None, typer.Option(help="Stage (b) learning rate.")] = None,
    lora_r: Annotated[int | None, typer.Option(help="LoRA rank on the target (0: none).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 42).")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda.")] = None,
    keep_stages: Annotated[
        bool | None, typer.Option("--keep-stages", help="Keep stage folders after success.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if OUT is finished.")
    ] = False,
    threads: Annotated[int | None, typer.Option(help="torch threads.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Library logs too.")] = False,
) -> None:
    """Train a connected model on English only; save a sentence-transformers folder.

    Stage (a) aligns the connector (encoder and target frozen); stage (b) fine-tunes it
    contrastively (MNRL with hard negatives). Load the result with
    ``SentenceTransformer(OUT, trust_remote_code=True)``; ``tripletforge evaluate -m OUT``
    loads it directly.
    """
    import yaml
    from rich.console import Console

    from tripletforge.connect import SettingsError, parse_settings, train_connected

    console = Console(stderr=True, soft_wrap=True)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if not verbose:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        fields: dict[str, Any] = {}
        if config is not None:
            if not config.is_file():
                raise FileNotFoundError(f"config {config} not found")
            fields = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
            if not isinstance(fields, dict):
                raise SettingsError(f"invalid config {config}: expected a mapping of fields")
        for dotted, value in {
            "encoder": encoder,
            "target": target,
            "target_pooling": target_pooling,
            "connector.num_learned_tokens": learned_tokens,
            "align.data": [str(p) for p in align_data] if align_data else None,
            "align.objective": align_objective,
            "align.epochs": align_epochs,
            "align.max_steps": align_steps,
            "align.learning_rate": align_lr,
            "finetune.data": [str(p) for p in train_data] if train_data else None,
            "finetune.enabled": finetune,
            "finetune.epochs": finetune_epochs,
            "finetune.max_steps": finetune_steps,
            "finetune.learning_rate": finetune_lr,
            "finetune.lora_r": lora_r,
            "seed": seed,
            "device": device,
            "keep_stages": keep_stages,
        }.items():
            _set(fields, dotted, value)
        settings = parse_settings(fields, str(config) if config else "connect settings")
        result = train_connected(settings, out, progress=progress, force=force)
    except (SettingsError, FileNotFoundError, FileExistsError, ValueError) as exc:
        console.print(f"[red]error:[/red] {_one_line(str(exc))}", highlight=False, markup=True)
        raise typer.Exit(2) from None
    _print_summary(console, result)


def _print_summary(console: Any, result: Any) -> None:
    p = result.provenance
    if result.reused:
        console.print(f"{result.model_dir} is already trained with these settings (nothing to do)")
        return
    align = p["align"]
    console.print(
        f"stage (a) align: {align['steps']} steps on {align['sentences']} English sentences, "
        f"{align['seconds']} s ({align['steps_per_second']} steps/s), "
        f"loss {align['first_loss']:.3f} → {align['last_loss']:.3f}"
        + (" (reused)" if align.get("reused") else ""),
        highlight=False,
    )
    if ft := p.get("finetune"):
        console.print(
            f"stage (b) finetune: {ft['global_step']} steps on {ft['rows']} English triplets, "
            f"{ft['seconds']:.1f} s ({ft['steps_per_second']} steps/s), "
            f"loss {ft['train_loss']:.3f}",
            highlight=False,
        )
    for stage, data in p["data"].items():
        guard = data["english_guard"]
        if guard["refused"]:
            reasons = ", ".join(f"{k}: {v}" for k, v in guard["reasons"].items())
            console.print(
                f"{stage} data: {guard['refused']} of {guard['checked']} texts refused as "
                f"non-English ({reasons})",
                highlight=False,
            )
    console.print(f"model saved to {result.model_dir} in {p['wall_seconds']} s", highlight=False)


def register(main: typer.Typer) -> None:
    """Add this module's commands to the app."""
    main.add_typer(app, name="connect")
