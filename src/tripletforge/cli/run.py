"""`tripletforge run`: the whole pipeline from one YAML config (default: the quick-start).

The terminal shows one line per stage (a live progress display while it runs) and the
summary; library logs, warnings and anything the libraries print go to ``RUN_DIR/log.txt``
unless ``--verbose``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tripletforge.cli.common import command

LOG_FILE = "log.txt"
#: The stage names `--force`/`--only` take (the keys of ``pipeline.stages.STAGES``; a test
#: keeps them equal, without importing the pipeline when the CLI starts).
RUN_STAGES = ("adapter", "compose", "generate", "negatives", "mine", "import", "filter",
              "train", "merge", "evaluate", "connect")  # fmt: skip


def run_command(
    config: Annotated[
        str | None,
        typer.Argument(help="Pipeline YAML or built-in config name (default: quickstart)."),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option(
            "--force",
            "-f",
            help=f"Redo a stage ({', '.join(RUN_STAGES)}) or a stage key glob such as "
            "'hau/icl/*/train'; repeatable. Dependants redo when its output changes.",
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only these stages / key globs (others must be done)."),
    ] = None,
    runs_dir: Annotated[
        Path | None, typer.Option(help="Folder the run goes under (overrides runs_dir).")
    ] = None,
    data_root: Annotated[
        str | None, typer.Option(help="Folder {data_root} in the config refers to.")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the report at the end.")] = True,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Print every stage it would run, resume or skip, and why; run nothing."
        ),
    ] = False,
) -> None:
    """Run generate → filter → (mine) → train → merge → evaluate for every language × arm × size.

    Re-running skips finished stages; a killed run resumes where it stopped.
    """
    import time

    from tripletforge.cli.output import console, is_quiet, is_verbose, library_output_to
    from tripletforge.pipeline import QUICKSTART, Runner, load_config

    out = console()
    started = time.perf_counter()
    overrides = {"data_root": data_root, "runs_dir": str(runs_dir) if runs_dir else None}
    cfg = load_config(config or QUICKSTART, overrides)
    runner = Runner(
        cfg, force=force, only=only, console=out, progress=not is_quiet(), quiet=is_quiet()
    )
    if plan:
        _print_plan(out, runner)
        return
    log_file = runner.run_dir / LOG_FILE
    if not is_quiet():
        shown = "" if is_verbose() else f"; library output: {log_file}"
        out.print(
            f"run [bold]{cfg.name}[/] → {runner.run_dir}  (config {cfg.hash()}{shown})",
            highlight=False,
        )
    with library_output_to(log_file, enabled=not is_verbose()):
        summary = runner.run()
        paths = _report(summary.run_dir) if report else None
    if not is_quiet():
        _print_timings(out, summary)
    if paths is not None:
        out.print(f"report: {paths.markdown}\n        {paths.html}", highlight=False)
        for line in paths.main_score_lines():
            out.print(f"  {line}", highlight=False)
    out.print(f"total wall time {time.perf_counter() - started:.1f} s", highlight=False)
    if not summary.ok:
        bad = [s for s in summary.stages if s.status in ("failed", "blocked")]
        out.print(
            f"[red]{len(bad)} stage(s) failed or blocked[/red]; see above and {log_file}",
            highlight=False,
        )
        raise typer.Exit(1)


def _print_plan(console: Any, runner: Any) -> None:
    """The dry run: one row per stage (what would happen and why), then the counts."""
    from rich.markup import escape
    from rich.table import Table

    from tripletforge.pipeline.decide import explain

    rows = explain(runner)
    table = Table(title=f"plan of {runner.config.name} → {runner.run_dir}", title_justify="left")
    for column in ("stage", "action", "why"):
        table.add_column(column)
    style = {"run": "yellow", "resume": "cyan", "skip": "green", "blocked": "red"}
    for row in rows:
        action = f"[{style.get(row.action, 'white')}]{row.action}[/]"
        table.add_row(escape(row.key), action, escape(row.reason))
    console.print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.action] = counts.get(row.action, 0) + 1
    console.print(
        "would " + ", ".join(f"{action} {n}" for action, n in counts.items()) + " (nothing ran)",
        highlight=False,
    )


def _report(run_dir: Path) -> Any:
    from tripletforge.report import build_report

    return build_report(run_dir)


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
    command(app, "run")(run_command)
