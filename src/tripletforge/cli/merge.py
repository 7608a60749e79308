"""`tripletforge merge`: combine fine-tuned encoders, optionally choosing α on dev data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tripletforge.data.jsonl import strict_dumps

console = Console()


def merge(
    method: Annotated[
        str, typer.Argument(help="linear | average | slerp | task_arithmetic | ties")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model folder.")],
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Fine-tuned model (repeat for several)."),
    ] = None,
    from_checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="average: a training run folder; average the kept checkpoints that are best "
            "on each language's dev set (logged dev_<lang> scores, else --semrel-root/--lang)."
        ),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Base model (linear, task_arithmetic, ties).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Interpolation weight (linear, slerp).")] = 0.5,
    weights: Annotated[
        list[float] | None, typer.Option("--weight", help="Per-model weight (average, TA).")
    ] = None,
    density: Annotated[float, typer.Option(help="TIES: fraction of each delta kept.")] = 0.2,
    scale: Annotated[float, typer.Option(help="task_arithmetic / ties: delta scale.")] = 1.0,
    search: Annotated[
        bool, typer.Option(help="linear: choose α on SemRel2024 dev of --lang languages.")
    ] = False,
    semrel_root: Annotated[
        Path | None, typer.Option(help="Folder with Track_A/Track_C (for --search).")
    ] = None,
    lang: Annotated[
        list[str] | None, typer.Option("--lang", help="Dev language for --search (repeat).")
    ] = None,
    no_regression: Annotated[
        bool,
        typer.Option(help="--search: no language may fall below the base model's dev score."),
    ] = True,
    tolerance: Annotated[
        float,
        typer.Option(help="--search: dev points (×100) a language may lose and still count."),
    ] = 0.0,
) -> None:
    """Merge sentence-transformers models of the same architecture into one standard folder."""
    from tripletforge.merge import merge_models

    models = list(models or [])
    provenance = {}
    if from_checkpoints is not None:
        if method != "average" or models:
            raise typer.BadParameter("--from-checkpoints needs method 'average' and no --model")
        selection = _select_checkpoints(from_checkpoints, semrel_root, lang)
        models = selection.chosen
        provenance = {"checkpoint_selection": selection.to_dict()}
        _print_selection(selection)
    elif not models:
        raise typer.BadParameter("give --model (repeat for several) or --from-checkpoints")
    if search:
        if method != "linear" or base is None or len(models) != 1:
            raise typer.BadParameter("--search needs method 'linear', --base and one --model")
        if semrel_root is None or not lang:
            raise typer.BadParameter("--search needs --semrel-root and at least one --lang")
        from tripletforge.merge.search import search_alpha

        scorer, files = _semrel_scorer(semrel_root, lang)
        result = search_alpha(
            base, models[0], scorer, no_regression=no_regression, tolerance=tolerance
        )
        alpha = result.alpha
        provenance = {
            "search": result.to_dict(),
            "dev_files": {k: str(v) for k, v in files.items()},
        }
        _print_search(result)

    path = merge_models(
        method,
        models,
        out,
        base=base,
        alpha=alpha,
        weights=weights,
        density=density,
        scale=scale,
        provenance=provenance,
    )
    console.print(f"[green]Merged[/green] ({method}, α={alpha}) → {path}")
    if provenance:
        console.print(strict_dumps({"alpha": alpha, "no_regression": no_regression}))


def _semrel_scorer(semrel_root: Path, lang: list[str]):
    """The SemRel2024 dev scorer of ``lang`` and the dev files it reads."""
    from tripletforge.merge.dev import SpearmanScorer, load_dev_sets, semrel_dev_files

    files = semrel_dev_files(semrel_root, lang)
    return SpearmanScorer(load_dev_sets(files)), files


def _select_checkpoints(run_dir: Path, semrel_root: Path | None, lang: list[str] | None):
    from tripletforge.merge.checkpoints import select_checkpoints

    scorer = _semrel_scorer(semrel_root, lang)[0] if semrel_root is not None and lang else None
    try:
        return select_checkpoints(run_dir, scorer=scorer, languages=lang)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error


def _num(value: float | None, digits: int = 1) -> str:
    """A score for the tables; undefined (None) as –."""
    return "–" if value is None else f"{value:.{digits}f}"


def _print_selection(selection) -> None:
    langs = sorted(selection.best)
    table = Table(title=f"Dev Spearman ×100 per checkpoint ({selection.source}; best marked *)")
    for column in ("checkpoint", *langs):
        table.add_column(column, justify="right")
    for ckpt, per in selection.scores.items():
        cells = [f"{_num(per.get(k))}{'*' if selection.best.get(k) == ckpt else ''}" for k in langs]
        table.add_row(Path(ckpt).name, *cells)
    console.print(table)


def _print_search(result) -> None:
    langs = sorted(next(iter(result.scores.values())))
    table = Table(title="Dev Spearman ×100 by α (choice marked *)")
    for column in ("α", *langs, "mean", "admissible"):
        table.add_column(column, justify="right")
    for alpha in result.grid:
        scores = result.scores[str(alpha)]
        mark = "*" if alpha == result.alpha else ""
        table.add_row(
            f"{alpha:.1f}{mark}",
            *(_num(scores.get(k)) for k in langs),
            _num(result.mean[str(alpha)], 2),
            "yes" if alpha in result.admissible else "no",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("merge")(merge)
