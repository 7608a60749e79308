"""`tripletforge run`: the whole pipeline from one YAML config (default: the quick-start)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def run_command(
    config: Annotated[
        str | None,
        typer.Argument(help="Pipeline YAML or built-in config name (default: quickstart)."),
    ] = None,
    quickstart: Annotated[
        bool, typer.Option("--quickstart", help="Run the built-in quick-start config.")
    ] = False,
    force: Annotated[
        list[str],
        typer.Option(
            "--force",
            "-f",
            help="Redo a stage (generate, mine, filter, train, merge, evaluate) or a stage key "
            "glob such as 'hau/icl/*/train'; repeatable. Dependants redo when its output changes.",
        ),
    ] = [],  # noqa: B006  (typer needs a literal default)
    only: Annotated[
        list[str],
        typer.Option("--only", help="Run only these stages / key globs (others must be done)."),
    ] = [],  # noqa: B006
    runs_dir: Annotated[
        Path | None, typer.Option(help="Folder the run goes under (overrides runs_dir).")
    ] = None,
    data_root: Annotated[
        str | None, typer.Option(help="Folder {data_root} in the config refers to.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    report: Annotated[bool, typer.Option(help="Write the report at the end.")] = True,
) -> None:
    """Run generate → filter → (mine) → train → merge → evaluate for every language × arm × size.

    Re-running skips finished stages; a killed run resumes where it stopped.
    """
    import time

    from rich.console import Console

    from tripletforge.pipeline import QUICKSTART, ConfigError, Runner, load_config

    console = Console(stderr=True, soft_wrap=True)
    started = time.perf_counter()
    source = QUICKSTART if quickstart or config is None else config
    overrides = {"data_root": data_root}
    if runs_dir is not None:
        overrides["runs_dir"] = str(runs_dir)
    try:
        cfg = load_config(source, overrides)
        runner = Runner(cfg, force=force, only=only, console=console, progress=progress)
        console.print(f"run [bold]{cfg.name}[/] → {runner.run_dir}  (config {cfg.hash()})")
        summary = runner.run()
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from exc
    except RuntimeError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    _print_timings(console, summary)
    if report:
        from tripletforge.report import build_report

        paths = build_report(summary.run_dir)
        console.print(f"report: {paths.markdown}\n        {paths.html}", highlight=False)
        for line in paths.main_score_lines():
            console.print(f"  {line}", highlight=False)
    console.print(f"total wall time {time.perf_counter() - started:.1f} s", highlight=False)
    if not summary.ok:
        bad = [s for s in summary.stages if s.status in ("failed", "blocked")]
        console.print(f"[red]{len(bad)} stage(s) failed or blocked[/red]; see the log above")
        raise typer.Exit(1)


def _print_timings(console: Any, summary: Any) -> None:
    from rich.table import Table

    table = Table(title="time per stage (this run)", title_justify="left")
    for column in ("stage", "done", "skipped", "failed", "seconds"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    by_stage: dict[str, list] = {}
    for stage in summary.stages:
        by_stage.setdefault(stage.name, []).append(stage)
    for name, items in by_stage.items():
        count = {k: sum(s.status == k for s in items) for k in ("done", "skipped", "failed")}
        seconds = sum(s.seconds for s in items if s.status in ("done", "failed"))
        table.add_row(name, *(str(count[k]) for k in count), f"{seconds:.1f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("run")(run_command)
