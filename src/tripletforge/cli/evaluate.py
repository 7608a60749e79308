"""`tripletforge` commands of the evaluate stage."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from tripletforge.cli.common import command


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name or text).strip("_") or "model"


def evaluate(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Built-in name, local folder or hub id.")
    ] = "e5-small",
    suite: Annotated[
        str, typer.Option("--suite", "-s", help="Suite YAML file or built-in suite name.")
    ] = "builtin",
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", "-d", help="Only data sets whose name matches (glob, repeat)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for results.json, results.md and the MTEB result files (mteb/); "
            "default eval/MODEL/SUITE.",
        ),
    ] = None,
    data_root: Annotated[
        Path | None,
        typer.Option(
            help="Folder for {data_root} and relative paths (else $TRIPLETFORGE_DATA_ROOT)."
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Use neither the embedding nor the score cache.")
    ] = False,
    rescore: Annotated[
        bool,
        typer.Option("--rescore", help="Recompute scores (from cached embeddings) even if stored."),
    ] = False,
    limit: Annotated[int | None, typer.Option(help="At most N pairs per data set.")] = None,
    batch_size: Annotated[int, typer.Option(help="Encoding batch size.")] = 32,
    card: Annotated[
        bool,
        typer.Option(
            "--card", help="Add the results to the model folder's README card (model-index)."
        ),
    ] = False,
) -> None:
    """Evaluate an encoder the way MTEB does (STS, bitext mining, retrieval, reranking,
    classification, clustering, pair classification); write JSON, Markdown and MTEB files."""
    from tripletforge.cli.output import console as cli_console
    from tripletforge.cli.output import progress_enabled
    from tripletforge.evaluate import evaluate_model, load_suite

    console = cli_console()
    loaded_suite = load_suite(suite)
    result = evaluate_model(
        model,
        loaded_suite,
        datasets=dataset,
        data_root=data_root,
        cache=not no_cache,
        reuse_scores=not rescore,
        batch_size=batch_size,
        limit=limit,
        progress=progress_enabled(),
        console=console,
    )
    result.print(console)
    folder = out or Path("eval") / _slug(model) / _slug(loaded_suite.name)
    json_path, md_path = result.write(folder)
    enc = result.encoding
    console.print(
        f"{enc['texts']} texts ({enc['cache_hits']} from cache, {enc['encoded']} encoded), "
        f"{enc['reused_scores']} data set(s) with stored scores, in {enc['total_seconds']:.1f}s; "
        f"wrote {json_path}, {md_path} and {folder / 'mteb'}",
        highlight=False,
    )
    if card:
        from tripletforge.cards import update_model_card
        from tripletforge.models import BUILTIN_MODELS

        target = Path(model)
        if model in BUILTIN_MODELS or not target.is_dir():
            console.print("[yellow]--card needs a model folder; no card written[/yellow]")
        else:
            console.print(
                f"updated {update_model_card(target, evaluation=result)}", highlight=False
            )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "evaluate")(evaluate)
