"""`tripletforge merge`: a thin driver over :mod:`tripletforge.merge`.

``--search`` chooses α on SemRel2024 dev data with the library function the pipeline's merge
stage uses (:func:`tripletforge.merge.wise_ft`, scored by
:func:`tripletforge.pipeline.dev.dev_scorer`); ``--from-checkpoints`` averages the kept
checkpoints that are best per language (:func:`tripletforge.merge.checkpoints.select_checkpoints`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.cli.common import command
from tripletforge.data.jsonl import strict_dumps


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
        typer.Option(
            "--no-regression/--allow-regression",
            help="--search: no language may fall below the base model's dev score (less its "
            "tolerance); --allow-regression takes the best mean whatever it costs.",
        ),
    ] = True,
    tolerance: Annotated[
        list[str] | None,
        typer.Option(
            help="--search: dev points (×100) a language may lose and still count: POINTS for "
            "every language, or LANG=POINTS (repeat; '*=POINTS' for the others)."
        ),
    ] = None,
) -> None:
    """Merge sentence-transformers models of the same architecture into one standard folder."""
    from tripletforge.cli.output import console, progress_enabled
    from tripletforge.data.languages import UnknownLanguageError, canonical_code
    from tripletforge.data.readers.sts import SEMREL_CODE_ALIASES
    from tripletforge.merge import merge_models, wise_ft

    try:  # any spelling (HAU, ha-NG, SemRel's esp) → the ISO 639-3 code runs log
        lang = [canonical_code(SEMREL_CODE_ALIASES.get(code, code)) for code in lang or []]
    except UnknownLanguageError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
    slack = _tolerance(tolerance)
    models = list(models or [])
    provenance: dict[str, Any] = {}
    if from_checkpoints is not None:
        if method != "average" or models:
            raise typer.BadParameter("--from-checkpoints needs method 'average' and no --model")
        from tripletforge.merge.checkpoints import select_checkpoints

        scorer = _semrel_scorer(semrel_root, lang)[0] if semrel_root is not None and lang else None
        selection = select_checkpoints(from_checkpoints, scorer=scorer, languages=lang)
        models = selection.chosen
        provenance = {"checkpoint_selection": selection.to_dict()}
        console().print(_selection_table(selection))
    elif not models:
        raise typer.BadParameter("give --model (repeat for several) or --from-checkpoints")
    if search:
        if method != "linear" or base is None or len(models) != 1:
            raise typer.BadParameter("--search needs method 'linear', --base and one --model")
        if semrel_root is None or not lang:
            raise typer.BadParameter("--search needs --semrel-root and at least one --lang")
        scorer, files = _semrel_scorer(semrel_root, lang)
        result, path = wise_ft(
            base,
            models[0],
            scorer,
            out,
            no_regression=no_regression,
            tolerance=slack,
            provenance={"dev_files": files},
            progress=progress_enabled(),
        )
        alpha = result.alpha
        console().print(_search_table(result))
        console().print(result.verdict(), highlight=False)
    else:
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
        if from_checkpoints is not None:  # checkpoints keep the training length; the run's own
            from tripletforge.merge.checkpoints import inference_length, set_max_seq_length

            if (length := inference_length(from_checkpoints)) is not None:
                set_max_seq_length(path, length)
    used = {"linear": f"α={alpha}", "slerp": f"α={alpha}", "task_arithmetic": f"scale={scale}"}
    what = ", ".join(p for p in (method, used.get(method), weights and f"weights={weights}") if p)
    console().print(f"[green]Merged[/green] ({what}) → {path}", highlight=False)
    if search or provenance:
        console().print(strict_dumps({"alpha": alpha, "no_regression": no_regression}))


def _tolerance(values: list[str] | None) -> float | dict[str, float]:
    """``--tolerance`` values: one number, or ``LANG=POINTS`` items (``*`` for the others)."""
    from tripletforge.merge.search import parse_tolerance

    try:
        return parse_tolerance(values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tolerance") from None


def _semrel_scorer(semrel_root: Path | None, lang: list[str] | None) -> tuple[Any, list[str]]:
    """The SemRel2024 dev scorer of ``lang`` and the dev files it reads (the pipeline's)."""
    from tripletforge.pipeline.config import DevSettings
    from tripletforge.pipeline.dev import dev_scorer

    return dev_scorer(DevSettings(format="semrel", root=str(semrel_root)), list(lang or []))


def _num(value: float | None, digits: int = 1) -> str:
    """A score for the tables; undefined (None) as –."""
    return "–" if value is None else f"{value:.{digits}f}"


def _selection_table(selection: Any) -> Any:
    from rich.table import Table

    langs = sorted(selection.best)
    table = Table(title=f"Dev Spearman ×100 per checkpoint ({selection.source}; best marked *)")
    for column in ("checkpoint", *langs):
        table.add_column(column, justify="right")
    for ckpt, per in selection.scores.items():
        cells = [f"{_num(per.get(k))}{'*' if selection.best.get(k) == ckpt else ''}" for k in langs]
        table.add_row(Path(ckpt).name, *cells)
    return table


def _search_table(result: Any) -> Any:
    from rich.table import Table

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
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    command(app, "merge")(merge)
