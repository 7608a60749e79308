"""`tripletforge connect train`: a thin driver over :func:`tripletforge.connect.train_connected`.

Its options are derived from :class:`~tripletforge.connect.settings.ConnectSettings` (names,
defaults, help): top-level fields as ``--encoder``, ``--target`` …, the nested sections as
``--connector-…``, ``--align-…`` and ``--finetune-…`` (``--finetune/--no-finetune`` runs
stage (b) or not); an explicit flag beats ``--config``, which beats the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.cli.common import command, resolve_settings, settings_options, with_options
from tripletforge.connect.settings import (
    AlignSettings,
    ConnectorSettings,
    ConnectSettings,
    FinetuneSettings,
)

app = typer.Typer(
    name="connect",
    help="LUSIFER: connect a multilingual encoder to an English-centric embedding model.",
    no_args_is_help=True,
)

#: Nested sections of ConnectSettings, offered as ``--SECTION-FIELD`` flags.
SECTIONS: dict[str, type] = {
    "connector": ConnectorSettings,
    "align": AlignSettings,
    "finetune": FinetuneSettings,
}
_OPTIONS = [
    *settings_options(ConnectSettings, exclude=tuple(SECTIONS)),
    *settings_options(ConnectorSettings, prefix="connector", panel="Connector"),
    *settings_options(AlignSettings, prefix="align", panel="Stage (a): alignment"),
    *settings_options(
        FinetuneSettings,
        prefix="finetune",
        panel="Stage (b): contrastive fine-tuning",
        flags={"enabled": ("--finetune/--no-finetune",)},
    ),
]


@command(app, "train")
@with_options(_OPTIONS)
def train_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="YAML with ConnectSettings fields (sections connector:, align:, finetune:; "
            "docs/connect.md); explicit flags override it.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Retrain even if OUT holds a finished model.")
    ] = False,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")
    ] = None,
    **options: Any,
) -> None:
    """Train a connected model on English only; save a sentence-transformers folder.

    Stage (a) aligns the connector (encoder and target frozen); stage (b) fine-tunes it
    contrastively (MNRL with hard negatives). Load the result with
    ``SentenceTransformer(OUT, trust_remote_code=True)``; ``tripletforge evaluate -m OUT``
    loads it directly.
    """
    from tripletforge.cli.output import console, progress_enabled
    from tripletforge.connect import train_connected

    fields = resolve_settings(ctx, options, config, ConnectSettings, sections=SECTIONS)
    finetune = fields.get("finetune") or {}
    modules = finetune.get("lora_target_modules") if isinstance(finetune, dict) else None
    if isinstance(modules, str) and "," in modules:  # comma-separated module names
        finetune["lora_target_modules"] = [m.strip() for m in modules.split(",") if m.strip()]
    settings = _validate(fields)
    if threads:
        import torch

        torch.set_num_threads(threads)
    result = train_connected(settings, out, progress=progress_enabled(), force=force)
    _print_summary(console(), result)


def _validate(fields: dict[str, Any]) -> ConnectSettings:
    """``ConnectSettings`` of the resolved fields; errors name the flags (``--align-epochs``)."""
    from pydantic import ValidationError

    from tripletforge.cli.common import error_message

    try:
        return ConnectSettings.model_validate(fields)
    except ValidationError as exc:
        raise typer.BadParameter(error_message(exc, SECTIONS)) from None


def _print_summary(out: Any, result: Any) -> None:
    p = result.provenance
    if result.reused:
        out.print(f"{result.model_dir} is already trained with these settings (nothing to do)")
        return
    align = p["align"]
    out.print(
        f"stage (a) align: {align['steps']} steps on {align['sentences']} English sentences, "
        f"{align['seconds']} s ({align['steps_per_second']} steps/s), "
        f"loss {align['first_loss']:.3f} → {align['last_loss']:.3f}"
        + (" (reused)" if align.get("reused") else ""),
        highlight=False,
    )
    if ft := p.get("finetune"):
        seconds = ft.get("seconds")
        out.print(
            f"stage (b) finetune: {ft['global_step']} steps on {ft['rows']} English triplets, "
            f"{seconds if seconds is None else round(seconds, 1)} s "
            f"({ft['steps_per_second']} steps/s), loss {ft['train_loss']:.3f}",
            highlight=False,
        )
    for stage, data in p["data"].items():
        guard = data["english_guard"]
        if guard["refused"]:
            reasons = ", ".join(f"{k}: {v}" for k, v in guard["reasons"].items())
            out.print(
                f"{stage} data: {guard['refused']} of {guard['checked']} texts refused as "
                f"non-English ({reasons})",
                highlight=False,
            )
    out.print(f"model saved to {result.model_dir} in {p['wall_seconds']} s", highlight=False)


def register(root: typer.Typer) -> None:
    """Add the ``connect`` command group to the app."""
    root.add_typer(app, name="connect")
